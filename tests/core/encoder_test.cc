// Encoder (core/encoder.h) on random small models: the whole forward pass against the float64 reference
// forward pass (tests/core/reference_ops.h), output selection, batch invariance, batch splitting, input
// validation, kernel choice and concurrent use.
#include "core/encoder.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/reference_ops.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kHiddenTolerance = 1e-4;
constexpr double kAttentionTolerance = 1e-5;

double MaxAbsDiff(const std::vector<float>& got, const std::vector<double>& want) {
  EXPECT_EQ(got.size(), want.size());
  double diff = 0;
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    diff = std::max(diff, std::abs(got[i] - want[i]));
  }
  return diff;
}

double MaxAbsDiff(const std::vector<float>& got, const std::vector<float>& want) {
  EXPECT_EQ(got.size(), want.size());
  double diff = 0;
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    diff = std::max(diff, static_cast<double>(std::abs(got[i] - want[i])));
  }
  return diff;
}

std::vector<int32_t> RandomIds(std::mt19937* rng, int64_t t, int32_t vocab) {
  std::uniform_int_distribution<int32_t> dist(0, vocab - 1);
  std::vector<int32_t> ids(static_cast<size_t>(t));
  for (int32_t& id : ids) id = dist(*rng);
  return ids;
}

std::unique_ptr<Encoder> MakeEncoder(const ModelConfig& config, const BertWeights& weights,
                                     const EncoderOptions& options = {}) {
  auto encoder = Encoder::Create(config, weights, options);
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  return encoder.ok() ? std::move(*encoder) : nullptr;
}

OutputSpec EverythingSpec(const ModelConfig& config, Pooling pooling) {
  OutputSpec spec;
  spec.pooling = pooling;
  for (int l = 0; l <= config.num_hidden_layers; ++l) spec.hidden_state_layers.push_back(l);
  for (int l = 0; l < config.num_hidden_layers; ++l) spec.attention_layers.push_back(l);
  return spec;
}

class EncoderTest : public ::testing::Test {
 protected:
  EncoderTest()
      : config_(reference::SmallConfig(/*layers=*/2, /*heads=*/4, /*head_size=*/8)),
        weights_(reference::RandomWeights(config_, /*seed=*/42, /*with_pooler=*/true)),
        encoder_(MakeEncoder(config_, weights_)) {}

  ModelConfig config_;
  BertWeights weights_;
  std::unique_ptr<Encoder> encoder_;
};

TEST_F(EncoderTest, ForwardPassMatchesFloat64Reference) {
  ASSERT_NE(encoder_, nullptr);
  EXPECT_TRUE(encoder_->has_pooler());
  std::mt19937 rng(1);
  const int64_t d = config_.hidden_size;
  const std::vector<int64_t> lengths = {1, 7, 20, 80};
  std::vector<std::vector<int32_t>> ids, types;
  std::vector<SequenceInput> inputs;
  for (size_t i = 0; i < lengths.size(); ++i) {
    ids.push_back(RandomIds(&rng, lengths[i], static_cast<int32_t>(config_.vocab_size)));
    types.push_back(i % 2 == 1 ? RandomIds(&rng, lengths[i], 2) : std::vector<int32_t>());
  }
  const Pooling poolings[] = {Pooling::kPooler, Pooling::kMean, Pooling::kCls, Pooling::kPooler};
  for (size_t i = 0; i < lengths.size(); ++i) {
    inputs.push_back(SequenceInput{ids[i], types[i], EverythingSpec(config_, poolings[i])});
  }
  std::unique_ptr<Workspace> ws = encoder_->NewWorkspace();
  std::vector<SequenceOutput> outputs;
  ASSERT_TRUE(encoder_->Run(inputs, ws.get(), &outputs).ok());
  ASSERT_EQ(outputs.size(), inputs.size());

  for (size_t i = 0; i < lengths.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("sequence ", i, " T=", lengths[i]));
    const int64_t t = lengths[i];
    const reference::ForwardResult want = reference::BertForward(config_, weights_, ids[i], types[i]);
    const SequenceOutput& out = outputs[i];
    EXPECT_EQ(out.num_tokens, t);
    EXPECT_LT(MaxAbsDiff(out.last_hidden, want.hidden_states.back()), kHiddenTolerance);
    ASSERT_EQ(out.hidden_states.size(), want.hidden_states.size());
    for (size_t l = 0; l < out.hidden_states.size(); ++l) {
      EXPECT_EQ(out.hidden_states[l].layer, static_cast<int>(l));
      EXPECT_LT(MaxAbsDiff(out.hidden_states[l].data, want.hidden_states[l]), kHiddenTolerance)
          << "layer " << l;
    }
    ASSERT_EQ(out.attentions.size(), want.attentions.size());
    for (size_t l = 0; l < out.attentions.size(); ++l) {
      EXPECT_EQ(out.attentions[l].layer, static_cast<int>(l));
      EXPECT_LT(MaxAbsDiff(out.attentions[l].data, want.attentions[l]), kAttentionTolerance) << "layer " << l;
      for (int64_t r = 0; r < config_.num_attention_heads * t; ++r) {
        double sum = 0;
        for (int64_t j = 0; j < t; ++j) sum += out.attentions[l].data[r * t + j];
        ASSERT_NEAR(sum, 1.0, 1e-5);
      }
    }
    std::vector<double> pooled;
    const std::vector<double>& last = want.hidden_states.back();
    switch (poolings[i]) {
      case Pooling::kCls:
        pooled.assign(last.begin(), last.begin() + d);
        break;
      case Pooling::kMean:
        pooled.assign(d, 0.0);
        for (int64_t r = 0; r < t; ++r) {
          for (int64_t j = 0; j < d; ++j) pooled[j] += last[r * d + j] / t;
        }
        break;
      case Pooling::kPooler:
        pooled = want.pooler;
        break;
      case Pooling::kNone:
        break;
    }
    EXPECT_LT(MaxAbsDiff(out.pooled, pooled), kHiddenTolerance);
  }
  // The attention in this model is far from uniform (otherwise the probability checks prove little).
  double peak = 0;
  for (float p : outputs[2].attentions[0].data) peak = std::max(peak, static_cast<double>(p));
  EXPECT_GT(peak, 0.5);
}

TEST_F(EncoderTest, OutputSelection) {
  ASSERT_NE(encoder_, nullptr);
  std::mt19937 rng(2);
  const std::vector<int32_t> ids = RandomIds(&rng, 9, static_cast<int32_t>(config_.vocab_size));
  OutputSpec bare;
  bare.token_vectors = false;
  bare.pooling = Pooling::kNone;
  OutputSpec picky;
  picky.pooling = Pooling::kMean;
  picky.normalize = true;
  picky.hidden_state_layers = {2, 0, 2};
  picky.attention_layers = {1, 1};
  OutputSpec cls_normalized;
  cls_normalized.pooling = Pooling::kCls;
  cls_normalized.normalize = true;
  std::unique_ptr<Workspace> ws = encoder_->NewWorkspace();
  std::vector<SequenceOutput> outputs;
  ASSERT_TRUE(encoder_
                  ->Run({SequenceInput{ids, {}, bare}, SequenceInput{ids, {}, picky},
                         SequenceInput{ids, {}, cls_normalized}},
                        ws.get(), &outputs)
                  .ok());
  EXPECT_TRUE(outputs[0].last_hidden.empty());
  EXPECT_TRUE(outputs[0].pooled.empty());
  EXPECT_TRUE(outputs[0].hidden_states.empty());
  EXPECT_TRUE(outputs[0].attentions.empty());
  EXPECT_EQ(outputs[0].num_tokens, 9);

  const SequenceOutput& out = outputs[1];
  const reference::ForwardResult want = reference::BertForward(config_, weights_, ids, {});
  ASSERT_EQ(out.hidden_states.size(), 3u);
  EXPECT_EQ(out.hidden_states[0].layer, 2);
  EXPECT_EQ(out.hidden_states[1].layer, 0);
  EXPECT_LT(MaxAbsDiff(out.hidden_states[0].data, want.hidden_states[2]), kHiddenTolerance);
  EXPECT_LT(MaxAbsDiff(out.hidden_states[1].data, want.hidden_states[0]), kHiddenTolerance);
  EXPECT_EQ(out.hidden_states[2].data, out.hidden_states[0].data);
  ASSERT_EQ(out.attentions.size(), 2u);
  EXPECT_LT(MaxAbsDiff(out.attentions[0].data, want.attentions[1]), kAttentionTolerance);
  EXPECT_EQ(out.attentions[1].data, out.attentions[0].data);
  // Mean pooled then L2-normalized.
  const int64_t d = config_.hidden_size;
  std::vector<double> mean(d, 0.0);
  for (int64_t r = 0; r < 9; ++r) {
    for (int64_t j = 0; j < d; ++j) mean[j] += want.hidden_states.back()[r * d + j] / 9;
  }
  double norm = 0;
  for (double v : mean) norm += v * v;
  for (double& v : mean) v /= std::sqrt(norm);
  EXPECT_LT(MaxAbsDiff(out.pooled, mean), 1e-5);
  double got_norm = 0;
  for (float v : outputs[2].pooled) got_norm += static_cast<double>(v) * v;
  EXPECT_NEAR(got_norm, 1.0, 1e-5);
  EXPECT_EQ(outputs[2].last_hidden.size(), static_cast<size_t>(9 * d));
}

// Acceptance 3: a sequence's outputs do not depend on what else is in its batch.
TEST_F(EncoderTest, BatchInvariance) {
  ASSERT_NE(encoder_, nullptr);
  std::mt19937 rng(3);
  const OutputSpec spec = EverythingSpec(config_, Pooling::kPooler);
  std::vector<std::vector<int32_t>> ids;
  for (int64_t t : {5, 17, 64, 17, 17, 17, 5}) {
    ids.push_back(RandomIds(&rng, t, static_cast<int32_t>(config_.vocab_size)));
  }
  std::vector<SequenceInput> batch;
  for (const auto& seq : ids) batch.push_back(SequenceInput{seq, {}, spec});
  std::unique_ptr<Workspace> ws = encoder_->NewWorkspace();
  std::vector<SequenceOutput> together;
  ASSERT_TRUE(encoder_->Run(batch, ws.get(), &together).ok());

  int bitwise_equal = 0, compared = 0;
  auto compare = [&](const std::vector<float>& a, const std::vector<float>& b, double tolerance) {
    EXPECT_LT(MaxAbsDiff(a, b), tolerance);
    bitwise_equal += a == b;
    ++compared;
  };
  for (size_t i = 0; i < ids.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("sequence ", i));
    std::vector<SequenceOutput> alone;
    ASSERT_TRUE(encoder_->Run({SequenceInput{ids[i], {}, spec}}, ws.get(), &alone).ok());
    compare(together[i].last_hidden, alone[0].last_hidden, 1e-5);
    compare(together[i].pooled, alone[0].pooled, 1e-5);
    for (size_t l = 0; l < alone[0].hidden_states.size(); ++l) {
      compare(together[i].hidden_states[l].data, alone[0].hidden_states[l].data, 1e-5);
    }
    for (size_t l = 0; l < alone[0].attentions.size(); ++l) {
      compare(together[i].attentions[l].data, alone[0].attentions[l].data, 1e-5);
    }
  }
  std::cout << "batch invariance: " << bitwise_equal << " of " << compared << " outputs bitwise equal\n";
}

TEST_F(EncoderTest, SplitsBatchesOverTheTokenBudget) {
  EncoderOptions small;
  small.max_batch_tokens = 24;  // below max_position_embeddings (80): a whole sequence still runs
  std::unique_ptr<Encoder> split = MakeEncoder(config_, weights_, small);
  ASSERT_NE(split, nullptr);
  std::mt19937 rng(4);
  std::vector<std::vector<int32_t>> ids;
  for (int64_t t : {10, 10, 10, 80, 3})
    ids.push_back(RandomIds(&rng, t, static_cast<int32_t>(config_.vocab_size)));
  std::vector<SequenceInput> batch;
  for (const auto& seq : ids)
    batch.push_back(SequenceInput{seq, {}, EverythingSpec(config_, Pooling::kPooler)});
  std::unique_ptr<Workspace> ws_split = split->NewWorkspace();
  std::unique_ptr<Workspace> ws_whole = encoder_->NewWorkspace();
  std::vector<SequenceOutput> a, b;
  ASSERT_TRUE(split->Run(batch, ws_split.get(), &a).ok());
  ASSERT_TRUE(encoder_->Run(batch, ws_whole.get(), &b).ok());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_LT(MaxAbsDiff(a[i].last_hidden, b[i].last_hidden), 1e-5);
    EXPECT_LT(MaxAbsDiff(a[i].pooled, b[i].pooled), 1e-5);
    EXPECT_LT(MaxAbsDiff(a[i].attentions[1].data, b[i].attentions[1].data), 1e-5);
  }
}

TEST_F(EncoderTest, RejectsBadInputsNamingSequenceAndField) {
  ASSERT_NE(encoder_, nullptr);
  const std::vector<int32_t> good = {1, 2, 3};
  const std::vector<int32_t> empty;
  const std::vector<int32_t> bad_id = {1, 60, 3};
  const std::vector<int32_t> negative_id = {-1, 2, 3};
  const std::vector<int32_t> long_ids(81, 1);
  const std::vector<int32_t> bad_type = {0, 2, 0};
  const std::vector<int32_t> short_types = {0, 1};
  OutputSpec hidden_too_far;
  hidden_too_far.hidden_state_layers = {0, 3};
  OutputSpec attention_too_far;
  attention_too_far.attention_layers = {2};
  OutputSpec negative_layer;
  negative_layer.attention_layers = {-1};
  const OutputSpec plain;
  const std::vector<int32_t> none;
  struct Case {
    SequenceInput input;
    std::string field;
  };
  std::vector<Case> cases;
  auto add = [&cases](const std::vector<int32_t>& ids, const std::vector<int32_t>& types,
                      const OutputSpec& spec, std::string field) {
    cases.push_back(Case{SequenceInput{ids, types, spec}, std::move(field)});
  };
  add(empty, none, plain, "token_ids: empty sequence");
  add(bad_id, none, plain, "token_ids[1]: id 60 out of range [0, 60)");
  add(negative_id, none, plain, "token_ids[0]: id -1");
  add(long_ids, none, plain, "token_ids: 81 tokens > max_position_embeddings 80");
  add(good, bad_type, plain, "token_type_ids[1]: type id 2");
  add(good, short_types, plain, "token_type_ids: 2 type ids for 3 ids");
  add(good, none, hidden_too_far, "hidden_state_layers[1]: layer 3 out of range [0, 2]");
  add(good, none, attention_too_far, "attention_layers[0]: layer 2 out of range [0, 1]");
  add(good, none, negative_layer, "attention_layers[0]: layer -1");
  std::unique_ptr<Workspace> ws = encoder_->NewWorkspace();
  for (const Case& c : cases) {
    std::vector<SequenceOutput> outputs;
    const absl::Status status = encoder_->Run({SequenceInput{good, {}, {}}, c.input}, ws.get(), &outputs);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(status.message()), HasSubstr("sequence 1")) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.field)) << status;
  }
  // The edges are accepted.
  const std::vector<int32_t> longest(80, 59);
  OutputSpec last_layers;
  last_layers.hidden_state_layers = {2};
  last_layers.attention_layers = {1};
  std::vector<SequenceOutput> outputs;
  EXPECT_TRUE(encoder_->Run({SequenceInput{longest, {}, last_layers}}, ws.get(), &outputs).ok());
}

TEST(EncoderCreateTest, PoolerIsOptional) {
  const ModelConfig config = reference::SmallConfig(1, 2, 4);
  std::unique_ptr<Encoder> encoder = MakeEncoder(config, reference::RandomWeights(config, 5, false));
  ASSERT_NE(encoder, nullptr);
  EXPECT_FALSE(encoder->has_pooler());
  const std::vector<int32_t> ids = {1, 2};
  OutputSpec spec;
  spec.pooling = Pooling::kPooler;
  std::unique_ptr<Workspace> ws = encoder->NewWorkspace();
  std::vector<SequenceOutput> outputs;
  const absl::Status status = encoder->Run({SequenceInput{ids, {}, spec}}, ws.get(), &outputs);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("sequence 0"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("pooler"));
  spec.pooling = Pooling::kCls;
  EXPECT_TRUE(encoder->Run({SequenceInput{ids, {}, spec}}, ws.get(), &outputs).ok());
}

TEST(EncoderCreateTest, RejectsInconsistentModels) {
  const ModelConfig config = reference::SmallConfig(1, 2, 4);
  BertWeights weights = reference::RandomWeights(config, 6, true);
  weights.layers[0].intermediate.weight.shape = {16, 8};
  auto encoder = Encoder::Create(config, std::move(weights));
  EXPECT_EQ(encoder.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(encoder.status().message()), HasSubstr("intermediate"));

  ModelConfig tanh_gelu = config;
  tanh_gelu.hidden_act = "gelu_new";
  EXPECT_FALSE(Encoder::Create(tanh_gelu, reference::RandomWeights(config, 6, true)).ok());

  EncoderOptions options;
  options.max_batch_tokens = 0;
  EXPECT_FALSE(Encoder::Create(config, reference::RandomWeights(config, 6, true), options).ok());
}

TEST_F(EncoderTest, UsesNoReferenceKernels) {
  ASSERT_NE(encoder_, nullptr);
  std::mt19937 rng(8);
  std::vector<std::vector<int32_t>> ids;
  for (int64_t t : {1, 3, 16, 16, 50, 80})
    ids.push_back(RandomIds(&rng, t, static_cast<int32_t>(config_.vocab_size)));
  std::vector<SequenceInput> batch;
  for (const auto& seq : ids)
    batch.push_back(SequenceInput{seq, {}, EverythingSpec(config_, Pooling::kPooler)});
  std::unique_ptr<Workspace> ws = encoder_->NewWorkspace();
  std::vector<SequenceOutput> outputs;
  ASSERT_TRUE(encoder_->Run(batch, ws.get(), &outputs).ok());
  const std::vector<std::string> info = encoder_->KernelInfo();
  for (const char* op : {"matmul qkv: ", "matmul attention_output: ", "matmul intermediate: ",
                         "matmul output: ", "matmul pooler: ", "matmul attention_scores: ",
                         "matmul attention_context: ", "softmax: ", "layer_norm: "}) {
    EXPECT_TRUE(std::any_of(info.begin(), info.end(), [op](const std::string& line) {
      return line.rfind(op, 0) == 0;
    })) << op;
  }
  for (const std::string& line : info) {
    std::cout << "kernel " << line << "\n";
    EXPECT_THAT(line, Not(HasSubstr("ref"))) << line;
  }
}

// Run() is const: two threads share one encoder, each with its own workspace, and get the single-threaded
// results.
TEST_F(EncoderTest, ConcurrentRunsWithSeparateWorkspaces) {
  ASSERT_NE(encoder_, nullptr);
  std::mt19937 rng(9);
  std::vector<std::vector<std::vector<int32_t>>> batches(2);
  for (int b = 0; b < 2; ++b) {
    for (int64_t t : {12, 40, 3, 12}) {
      batches[b].push_back(RandomIds(&rng, t + b, static_cast<int32_t>(config_.vocab_size)));
    }
  }
  auto make_inputs = [&](int b) {
    std::vector<SequenceInput> inputs;
    for (const auto& seq : batches[b])
      inputs.push_back(SequenceInput{seq, {}, EverythingSpec(config_, Pooling::kMean)});
    return inputs;
  };
  std::vector<std::vector<SequenceOutput>> expected(2);
  {
    std::unique_ptr<Workspace> ws = encoder_->NewWorkspace();
    for (int b = 0; b < 2; ++b) ASSERT_TRUE(encoder_->Run(make_inputs(b), ws.get(), &expected[b]).ok());
  }
  constexpr int kIterations = 25;
  std::vector<int> mismatches(2, 0), failures(2, 0);
  std::vector<std::thread> threads;
  for (int b = 0; b < 2; ++b) {
    threads.emplace_back([&, b] {
      std::unique_ptr<Workspace> ws = encoder_->NewWorkspace();
      const std::vector<SequenceInput> inputs = make_inputs(b);
      for (int it = 0; it < kIterations; ++it) {
        std::vector<SequenceOutput> outputs;
        if (!encoder_->Run(inputs, ws.get(), &outputs).ok()) {
          ++failures[b];
          continue;
        }
        for (size_t i = 0; i < outputs.size(); ++i) {
          if (MaxAbsDiff(outputs[i].last_hidden, expected[b][i].last_hidden) > 1e-6 ||
              MaxAbsDiff(outputs[i].attentions[1].data, expected[b][i].attentions[1].data) > 1e-6 ||
              MaxAbsDiff(outputs[i].pooled, expected[b][i].pooled) > 1e-6) {
            ++mismatches[b];
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>({0, 0}));
  EXPECT_EQ(mismatches, std::vector<int>({0, 0}));
}

}  // namespace
}  // namespace qkv
