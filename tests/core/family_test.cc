// Architecture families (model_family.h) end to end: the fixtures of tests/data/families/ (written by
// tests/data/make_family_models.py with float64 numpy goldens) loaded from model.safetensors and from
// model.onnx, run through Encoder::Run with token ids, against the goldens; batch invariance; int8 and bf16
// against fp32; and the family rules (config keys, positions, token types, relative buckets).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/encoder.h"
#include "core/model_config.h"
#include "core/model_family.h"
#include "core/model_loader.h"
#include "core/precision.h"
#include "core/safetensors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/safetensors_writer.h"

namespace qkv {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const char* const kFamilies[] = {"distilbert", "roberta", "xlm-roberta", "mpnet"};

std::string FamilyDir(const std::string& family) {
  return absl::StrCat(QKV_SOURCE_DIR, "/tests/data/families/", family);
}

json ReadGoldens(const std::string& family) {
  std::ifstream in(FamilyDir(family) + "/goldens.json");
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

struct Loaded {
  ModelConfig config;
  std::unique_ptr<Encoder> encoder;
};

// `path`: the model directory (safetensors) or its model.onnx.
Loaded Load(const std::string& path, const EncoderOptions& options = {}) {
  absl::StatusOr<LoadedModel> model = LoadModel(path);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return {};
  Loaded loaded{model->config, nullptr};
  absl::StatusOr<std::unique_ptr<Encoder>> encoder =
      Encoder::Create(model->config, std::move(model->weights), options);
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  if (encoder.ok()) loaded.encoder = std::move(*encoder);
  return loaded;
}

std::vector<std::vector<int32_t>> CaseIds(const json& goldens) {
  std::vector<std::vector<int32_t>> ids;
  for (const json& c : goldens.at("cases")) ids.push_back(c.at("input_ids").get<std::vector<int32_t>>());
  return ids;
}

OutputSpec AllLayersSpec(const ModelConfig& config, bool pooler) {
  OutputSpec spec;
  spec.pooling = pooler ? Pooling::kPooler : Pooling::kCls;
  for (int l = 0; l < config.num_hidden_layers; ++l) spec.attention_layers.push_back(l);
  return spec;
}

// Every case in one ragged batch, against the float64 goldens: hidden states and the pooler within 1e-5,
// attention probabilities within 1e-6 (the issue's bounds). The fixtures' attention is peaky only as far as
// float32 can meet 1e-6 at all (make_family_models.py's QK_STD); goldens.json's float32_reference says how far
// numpy's own float32 forward pass lands, printed beside qkv's. A position, bucket or weight-name mistake moves
// outputs by 1e-3 or more.
void CheckGoldens(const std::string& family, const std::string& path) {
  SCOPED_TRACE(path);
  const json goldens = ReadGoldens(family);
  Loaded model = Load(path);
  ASSERT_NE(model.encoder, nullptr);
  EXPECT_EQ(model.config.model_type, goldens.at("family").get<std::string>());
  const int64_t d = model.config.hidden_size;
  const int64_t heads = model.config.num_attention_heads;
  const std::vector<std::vector<int32_t>> ids = CaseIds(goldens);
  const OutputSpec spec = AllLayersSpec(model.config, model.encoder->has_pooler());
  std::vector<SequenceInput> inputs;
  for (const auto& seq : ids) inputs.push_back(SequenceInput{seq, {}, spec});
  std::unique_ptr<Workspace> ws = model.encoder->NewWorkspace();
  std::vector<SequenceOutput> out;
  ASSERT_TRUE(model.encoder->Run(inputs, ws.get(), &out).ok());

  double hidden = 0, attention = 0, pooler = 0;
  std::vector<double> attention_by_layer(model.config.num_hidden_layers, 0.0);
  for (size_t i = 0; i < ids.size(); ++i) {
    const json& c = goldens.at("cases")[i];
    SCOPED_TRACE(c.at("name").get<std::string>());
    const int64_t t = static_cast<int64_t>(ids[i].size());
    const auto rows = c.at("last_hidden_state").get<std::vector<std::vector<double>>>();
    ASSERT_EQ(rows.size(), static_cast<size_t>(t));
    for (int64_t r = 0; r < t; ++r) {
      for (int64_t j = 0; j < d; ++j) {
        hidden = std::max(hidden, std::abs(out[i].last_hidden[r * d + j] - rows[r][j]));
      }
    }
    const auto queries = c.at("attention_queries").get<std::vector<int64_t>>();
    for (int l = 0; l < model.config.num_hidden_layers; ++l) {
      const auto want = c.at("attentions")[l].get<std::vector<std::vector<std::vector<double>>>>();
      const std::vector<float>& got = out[i].attentions[l].data;
      for (int64_t h = 0; h < heads; ++h) {
        for (size_t q = 0; q < queries.size(); ++q) {
          for (int64_t k = 0; k < t; ++k) {
            attention_by_layer[l] =
                std::max(attention_by_layer[l], std::abs(got[(h * t + queries[q]) * t + k] - want[h][q][k]));
          }
        }
      }
    }
    if (c.contains("pooler_output")) {
      ASSERT_TRUE(model.encoder->has_pooler());
      const auto want = c.at("pooler_output").get<std::vector<double>>();
      for (int64_t j = 0; j < d; ++j) pooler = std::max(pooler, std::abs(out[i].pooled[j] - want[j]));
    } else {
      EXPECT_FALSE(model.encoder->has_pooler());
    }
  }
  for (double layer : attention_by_layer) attention = std::max(attention, layer);
  EXPECT_LT(hidden, 1e-5) << "last hidden state";
  EXPECT_LT(attention, 1e-6) << "attention probabilities";
  EXPECT_LT(pooler, 1e-5) << "pooler";
  std::cout << path << ": max abs diff vs float64: hidden " << hidden << ", attention " << attention
            << " (by layer:";
  for (double layer : attention_by_layer) std::cout << " " << layer;
  const json& floor = goldens.at("float32_reference");
  std::cout << "), pooler " << pooler << "; numpy float32: hidden " << floor.at("hidden").get<double>()
            << ", attention by layer";
  for (const json& layer : floor.at("attention_by_layer")) std::cout << " " << layer.get<double>();
  std::cout << "\n";
}

TEST(FamilyGoldenTest, SafetensorsMatchFloat64) {
  for (const char* family : kFamilies) CheckGoldens(family, FamilyDir(family));
}

TEST(FamilyGoldenTest, OnnxMatchesFloat64) {
  for (const char* family : kFamilies) CheckGoldens(family, FamilyDir(family) + "/model.onnx");
}

// A sequence alone and in a batch with sequences of other lengths gives identical bytes.
TEST(FamilyTest, BatchInvarianceIsBitwise) {
  for (const char* family : kFamilies) {
    SCOPED_TRACE(family);
    Loaded model = Load(FamilyDir(family));
    ASSERT_NE(model.encoder, nullptr);
    const std::vector<std::vector<int32_t>> ids = CaseIds(ReadGoldens(family));
    const OutputSpec spec = AllLayersSpec(model.config, model.encoder->has_pooler());
    std::unique_ptr<Workspace> ws = model.encoder->NewWorkspace();
    std::vector<SequenceInput> batch;
    for (const auto& seq : ids) batch.push_back(SequenceInput{seq, {}, spec});
    // Twice over, in reverse order too, so that every sequence has neighbours on both sides.
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) batch.push_back(SequenceInput{*it, {}, spec});
    std::vector<SequenceOutput> together;
    ASSERT_TRUE(model.encoder->Run(batch, ws.get(), &together).ok());
    for (size_t i = 0; i < ids.size(); ++i) {
      std::vector<SequenceOutput> alone;
      ASSERT_TRUE(model.encoder->Run({SequenceInput{ids[i], {}, spec}}, ws.get(), &alone).ok());
      for (const SequenceOutput* other : {&together[i], &together[2 * ids.size() - 1 - i]}) {
        EXPECT_EQ(alone[0].last_hidden, other->last_hidden) << "case " << i;
        EXPECT_EQ(alone[0].pooled, other->pooled) << "case " << i;
        for (size_t l = 0; l < alone[0].attentions.size(); ++l) {
          EXPECT_EQ(alone[0].attentions[l].data, other->attentions[l].data) << "case " << i << " layer " << l;
        }
      }
    }
  }
}

double MinCosine(const std::vector<float>& a, const std::vector<float>& b, int64_t d) {
  double worst = 1;
  for (size_t r = 0; r * d < a.size(); ++r) {
    double dot = 0, na = 0, nb = 0;
    for (int64_t j = 0; j < d; ++j) {
      const double x = a[r * d + j], y = b[r * d + j];
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    worst = std::min(worst, dot / std::sqrt(na * nb));
  }
  return worst;
}

// int8 and bf16 run every family; each token vector's cosine to fp32 is >= 0.99 (int8) / 0.999 (bf16).
TEST(FamilyTest, Int8AndBf16CloseToFp32) {
  for (const char* family : kFamilies) {
    SCOPED_TRACE(family);
    Loaded fp32 = Load(FamilyDir(family));
    ASSERT_NE(fp32.encoder, nullptr);
    const std::vector<std::vector<int32_t>> ids = CaseIds(ReadGoldens(family));
    std::vector<SequenceInput> inputs;
    for (const auto& seq : ids) inputs.push_back(SequenceInput{seq, {}, OutputSpec{}});
    std::vector<SequenceOutput> want;
    ASSERT_TRUE(fp32.encoder->Run(inputs, fp32.encoder->NewWorkspace().get(), &want).ok());
    for (const auto& [precision, bound] : {std::pair<Precision, double>{Precision::kInt8, 0.99},
                                           std::pair<Precision, double>{Precision::kBf16, 0.999}}) {
      EncoderOptions options;
      options.precision = precision;
      options.allow_emulated_bf16 = true;  // correctness, not speed
      Loaded low = Load(FamilyDir(family), options);
      ASSERT_NE(low.encoder, nullptr);
      std::vector<SequenceOutput> got;
      ASSERT_TRUE(low.encoder->Run(inputs, low.encoder->NewWorkspace().get(), &got).ok());
      double worst = 1;
      for (size_t i = 0; i < ids.size(); ++i) {
        worst = std::min(worst, MinCosine(got[i].last_hidden, want[i].last_hidden, fp32.config.hidden_size));
      }
      EXPECT_GE(worst, bound) << PrecisionName(precision);
      std::cout << family << " " << PrecisionName(precision) << ": min token cosine to fp32 " << worst
                << "\n";
    }
  }
}

// A DistilBertForMaskedLM-style file: every encoder tensor under "distilbert.", plus a head the loader skips.
TEST(FamilyTest, TaskPrefixIsStrippedPerFamily) {
  namespace fs = std::filesystem;
  const std::string base = FamilyDir("distilbert");
  const fs::path dir = fs::path(::testing::TempDir()) / "qkv_family_test_distilbert_task";
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* file : {"config.json", "vocab.txt"}) fs::copy_file(base + "/" + file, dir / file);
  absl::StatusOr<std::unique_ptr<SafetensorsReader>> reader =
      SafetensorsReader::Open(base + "/model.safetensors");
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<testing_util::RawTensor> tensors;
  for (const auto& [name, entry] : (*reader)->entries()) {
    absl::StatusOr<Tensor> tensor = (*reader)->Read(name);
    ASSERT_TRUE(tensor.ok());
    tensors.push_back(
        {"distilbert." + name, "F32", tensor->shape, testing_util::EncodeFloats(tensor->data, "F32")});
  }
  tensors.push_back({"vocab_projector.bias", "F32", {2}, testing_util::EncodeFloats({1.f, 2.f}, "F32")});
  testing_util::WriteFile((dir / "model.safetensors").string(), testing_util::SafetensorsBytes(tensors));

  Loaded plain = Load(base);
  Loaded task = Load(dir.string());
  ASSERT_NE(plain.encoder, nullptr);
  ASSERT_NE(task.encoder, nullptr);
  const std::vector<int32_t> ids = {2, 17, 40, 3};
  std::vector<SequenceOutput> want, got;
  ASSERT_TRUE(
      plain.encoder->Run({SequenceInput{ids, {}, {}}}, plain.encoder->NewWorkspace().get(), &want).ok());
  ASSERT_TRUE(task.encoder->Run({SequenceInput{ids, {}, {}}}, task.encoder->NewWorkspace().get(), &got).ok());
  EXPECT_EQ(got[0].last_hidden, want[0].last_hidden);
  fs::remove_all(dir);
}

TEST(FamilyTest, RelativeBucketsMatchHuggingFaceFormula) {
  const json goldens = ReadGoldens("mpnet");
  const int64_t from = goldens.at("relative_buckets").at("offsets_from").get<int64_t>();
  const auto buckets = goldens.at("relative_buckets").at("buckets").get<std::vector<int64_t>>();
  for (size_t i = 0; i < buckets.size(); ++i) {
    const int64_t offset = from + static_cast<int64_t>(i);  // key - query
    EXPECT_EQ(RelativePositionBucket(0, offset), buckets[i]) << "offset " << offset;
    EXPECT_EQ(RelativePositionBucket(300, 300 + offset), buckets[i]) << "offset " << offset;
  }
}

TEST(FamilyTest, ConfigReadsEachFamilysKeys) {
  absl::StatusOr<ModelConfig> distilbert = ReadModelConfig(FamilyDir("distilbert") + "/config.json");
  ASSERT_TRUE(distilbert.ok()) << distilbert.status();
  EXPECT_EQ(distilbert->traits().family, ModelFamily::kDistilBert);
  EXPECT_EQ(distilbert->hidden_size, 32);
  EXPECT_EQ(distilbert->num_hidden_layers, 2);
  EXPECT_EQ(distilbert->num_attention_heads, 4);
  EXPECT_EQ(distilbert->intermediate_size, 64);
  EXPECT_EQ(distilbert->type_vocab_size, 1);
  EXPECT_EQ(distilbert->layer_norm_eps, 1e-12);
  EXPECT_EQ(distilbert->max_tokens(), distilbert->max_position_embeddings);

  absl::StatusOr<ModelConfig> roberta = ReadModelConfig(FamilyDir("roberta") + "/config.json");
  ASSERT_TRUE(roberta.ok()) << roberta.status();
  EXPECT_EQ(roberta->padding_idx(), 1);
  EXPECT_EQ(roberta->position_offset(), 2);
  EXPECT_EQ(roberta->max_tokens(), roberta->max_position_embeddings - 2);
  EXPECT_EQ(roberta->layer_norm_eps, 1e-5);

  // MPNet's padding index is 1 whatever pad_token_id says (HF hard-codes it).
  ModelConfig mpnet = *ReadModelConfig(FamilyDir("mpnet") + "/config.json");
  mpnet.pad_token_id = 0;
  EXPECT_EQ(mpnet.padding_idx(), 1);
}

TEST(FamilyTest, UnsupportedPartsAreNamed) {
  struct Case {
    std::string json;
    std::string message;
  } cases[] = {
      {R"({"model_type": "deberta-v2"})", "unsupported model_type \"deberta-v2\"; supported: bert, roberta"},
      {R"({"model_type": "distilbert", "activation": "relu", "dim": 8})", "unsupported activation \"relu\""},
      {R"({"model_type": "roberta", "hidden_act": "gelu", "position_embedding_type": "relative_key"})",
       "unsupported position_embedding_type \"relative_key\""},
      {R"({"model_type": "mpnet", "relative_attention_num_buckets": 64})",
       "unsupported relative_attention_num_buckets 64"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ModelConfig> config = ParseModelConfig(c.json, "x/config.json");
    EXPECT_EQ(config.status().code(), absl::StatusCode::kUnimplemented) << c.json;
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(c.message));
  }
  // RoBERTa positions start at padding_idx + 1: 2 rows leave none.
  absl::StatusOr<ModelConfig> tiny = ParseModelConfig(
      R"({"model_type": "roberta", "vocab_size": 10, "hidden_size": 4, "num_hidden_layers": 1,
          "num_attention_heads": 1, "intermediate_size": 4, "max_position_embeddings": 2})",
      "r/config.json");
  EXPECT_EQ(tiny.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tiny.status().message()), HasSubstr("positions start at padding_idx + 1 = 2"));
}

TEST(FamilyTest, LengthLimitAndTokenTypesPerFamily) {
  Loaded roberta = Load(FamilyDir("roberta"));
  ASSERT_NE(roberta.encoder, nullptr);
  std::unique_ptr<Workspace> ws = roberta.encoder->NewWorkspace();
  std::vector<SequenceOutput> out;
  const int64_t limit = roberta.config.max_tokens();
  std::vector<int32_t> ids(static_cast<size_t>(limit), 7);
  EXPECT_TRUE(roberta.encoder->Run({SequenceInput{ids, {}, OutputSpec{}}}, ws.get(), &out).ok());
  ids.push_back(7);
  absl::Status too_long = roberta.encoder->Run({SequenceInput{ids, {}, OutputSpec{}}}, ws.get(), &out);
  EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(too_long.message()),
      HasSubstr(absl::StrCat(limit + 1, " tokens > the limit of max_position_embeddings ",
                             roberta.config.max_position_embeddings, " - padding_idx 1 - 1 = ", limit)));
  const std::vector<int32_t> short_ids = {0, 9, 2};
  const std::vector<int32_t> pair_types = {0, 1, 1};
  absl::Status type_one = roberta.encoder->Run({SequenceInput{short_ids, pair_types, {}}}, ws.get(), &out);
  EXPECT_THAT(std::string(type_one.message()), HasSubstr("type id 1 out of range [0, 1)"));

  Loaded distilbert = Load(FamilyDir("distilbert"));
  ASSERT_NE(distilbert.encoder, nullptr);
  ws = distilbert.encoder->NewWorkspace();
  absl::Status no_types = distilbert.encoder->Run({SequenceInput{short_ids, pair_types, {}}}, ws.get(), &out);
  EXPECT_EQ(no_types.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_types.message()),
              HasSubstr("token_type_ids[1]: type id 1, but model_type distilbert has no token types"));
  const std::vector<int32_t> zeros = {0, 0, 0};
  EXPECT_TRUE(distilbert.encoder->Run({SequenceInput{short_ids, zeros, {}}}, ws.get(), &out).ok());
  OutputSpec pooler;
  pooler.pooling = Pooling::kPooler;
  EXPECT_FALSE(distilbert.encoder->Run({SequenceInput{short_ids, {}, pooler}}, ws.get(), &out).ok());
}

}  // namespace
}  // namespace qkv
