// In-process gRPC tests (port 0) of every EncoderService RPC and every error class, against the bundled
// bert-tiny-random; the vectors and attention that come back over gRPC are compared bit for bit with what
// the core Encoder returns for the same inputs.
#include <grpcpp/grpcpp.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/synchronization/notification.h"
#include "core/model_loader.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "qkv/v1/encoder.grpc.pb.h"
#include "server/observability/metrics.h"
#include "server/prep_pool.h"
#include "server/proto_convert.h"
#include "server/server.h"
#include "server_test_util.h"

namespace qkv {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace testing_util;  // NOLINT(build/namespaces): test helpers

// Bitwise equality of float arrays (NaN-safe, -0 != +0).
::testing::AssertionResult SameBits(const google::protobuf::RepeatedField<float>& got, const float* want,
                                    size_t n) {
  if (static_cast<size_t>(got.size()) != n) {
    return ::testing::AssertionFailure() << "size " << got.size() << " != " << n;
  }
  if (n > 0 && std::memcmp(got.data(), want, n * sizeof(float)) != 0) {
    for (size_t i = 0; i < n; ++i) {
      if (std::memcmp(&got[static_cast<int>(i)], &want[i], sizeof(float)) != 0) {
        return ::testing::AssertionFailure()
               << "element " << i << ": " << got[static_cast<int>(i)] << " vs " << want[i];
      }
    }
  }
  return ::testing::AssertionSuccess();
}

class EncoderServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_ = new TestServer(StartServing(TestConfig()));
    reference_ = LoadTinyModel().release();
  }
  static void TearDownTestSuite() {
    delete shared_;
    delete reference_;
  }

  v1::EncoderService::Stub* stub() { return shared_->stub.get(); }

  grpc::Status Encode(const v1::EncodeRequest& request, v1::EncodeResponse* response) {
    return stub()->Encode(Context().get(), request, response);
  }
  // Expects INVALID_ARGUMENT whose message contains `needle`.
  void ExpectInvalid(const v1::EncodeRequest& request, const std::string& needle) {
    v1::EncodeResponse response;
    grpc::Status s = Encode(request, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(needle));
  }

  static TestServer* shared_;
  static ServedModel* reference_;  // a second copy of the model, run directly through core
};

TestServer* EncoderServiceTest::shared_ = nullptr;
ServedModel* EncoderServiceTest::reference_ = nullptr;

TEST_F(EncoderServiceTest, GetModelInfoDescribesTheModelAndLimits) {
  v1::GetModelInfoResponse info;
  ASSERT_TRUE(stub()->GetModelInfo(Context().get(), v1::GetModelInfoRequest(), &info).ok());
  EXPECT_EQ(info.model(), "bert-tiny-random");
  EXPECT_EQ(info.format(), "safetensors");
  EXPECT_THAT(info.model_path(), HasSubstr("model.safetensors"));
  EXPECT_EQ(info.architecture().model_type(), "bert");
  EXPECT_EQ(info.architecture().num_layers(), 2);
  EXPECT_EQ(info.architecture().hidden_size(), 128);
  EXPECT_EQ(info.architecture().num_attention_heads(), 2);
  EXPECT_EQ(info.architecture().intermediate_size(), 512);
  EXPECT_EQ(info.architecture().vocab_size(), 30522);
  EXPECT_EQ(info.architecture().max_position_embeddings(), 512);
  EXPECT_EQ(info.architecture().type_vocab_size(), 2);
  EXPECT_EQ(info.special_tokens().cls(), 101);
  EXPECT_EQ(info.special_tokens().sep(), 102);
  EXPECT_EQ(info.special_tokens().pad(), 0);
  EXPECT_EQ(info.special_tokens().unk(), 100);
  EXPECT_EQ(info.special_tokens().mask(), 103);
  EXPECT_TRUE(info.has_pooler());
  EXPECT_EQ(info.default_pooling(), v1::POOLING_POOLER);
  EXPECT_EQ(info.precision(), "fp32");
  EXPECT_FALSE(info.cpu_isa().empty());
  EXPECT_TRUE(info.lower_case());
  EXPECT_EQ(info.tokenizer(), "WordPiece");
  const ServerConfig config = TestConfig();
  EXPECT_EQ(info.limits().max_batch_tokens(), config.max_batch_tokens);
  EXPECT_EQ(info.limits().max_batch_sequences(), config.max_batch_sequences);
  EXPECT_EQ(info.limits().max_queued_tokens(), config.max_queued_tokens);
  EXPECT_EQ(info.limits().max_message_bytes(), config.max_message_bytes);
  EXPECT_EQ(info.limits().max_attention_bytes(), config.max_attention_bytes);
  EXPECT_EQ(info.limits().workers(), 1);
  EXPECT_EQ(info.limits().threads_per_worker(), 1);
  EXPECT_FALSE(info.kernels().empty());
}

TEST_F(EncoderServiceTest, TokenizeReturnsIdsTokensOffsetsAndTypes) {
  v1::TokenizeRequest request;
  request.set_text("Hello, world!");
  v1::TokenizeResponse response;
  ASSERT_TRUE(stub()->Tokenize(Context().get(), request, &response).ok());
  EXPECT_THAT(response.tokens(), ElementsAre("[CLS]", "hello", ",", "world", "!", "[SEP]"));
  EXPECT_THAT(response.ids(), ElementsAre(101, 7592, 1010, 2088, 999, 102));
  EXPECT_THAT(response.byte_begin(), ElementsAre(0, 0, 5, 7, 12, 0));
  EXPECT_THAT(response.byte_end(), ElementsAre(0, 5, 6, 12, 13, 0));
  EXPECT_THAT(response.special(), ElementsAre(true, false, false, false, false, true));
  EXPECT_THAT(response.token_type_ids(), ElementsAre(0, 0, 0, 0, 0, 0));
  EXPECT_FALSE(response.truncated());

  request.set_text_pair("Yes.");
  response.Clear();
  ASSERT_TRUE(stub()->Tokenize(Context().get(), request, &response).ok());
  EXPECT_THAT(response.tokens(),
              ElementsAre("[CLS]", "hello", ",", "world", "!", "[SEP]", "yes", ".", "[SEP]"));
  EXPECT_THAT(response.token_type_ids(), ElementsAre(0, 0, 0, 0, 0, 0, 1, 1, 1));
  EXPECT_THAT(response.byte_begin(), ElementsAre(0, 0, 5, 7, 12, 0, 0, 3, 0));
}

TEST_F(EncoderServiceTest, TokenizeTruncatesOrRejects) {
  v1::TokenizeRequest request;
  request.set_text("one two three four five");
  request.set_max_length(4);
  request.set_truncation(v1::TRUNCATION_TRUNCATE);
  v1::TokenizeResponse response;
  ASSERT_TRUE(stub()->Tokenize(Context().get(), request, &response).ok());
  EXPECT_THAT(response.tokens(), ElementsAre("[CLS]", "one", "two", "[SEP]"));
  EXPECT_TRUE(response.truncated());

  request.set_truncation(v1::TRUNCATION_REJECT);
  grpc::Status s = stub()->Tokenize(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(),
              HasSubstr("text: text is longer than max_length 4 tokens ([CLS] and [SEP] included); shorten"));

  // Unspecified: bounded like Encode, it rejects past the limit (here max_length; else max positions).
  request.set_truncation(v1::TRUNCATION_UNSPECIFIED);
  s = stub()->Tokenize(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("text: text is longer than max_length 4 tokens"));
  request.set_max_length(0);
  std::string long_text;
  for (int i = 0; i < 600; ++i) long_text += "word ";
  request.set_text(long_text);
  s = stub()->Tokenize(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("text: text is longer than max_length 512 tokens"));
  request.set_max_length(7);
  request.set_text("one two three four five");
  response.Clear();
  ASSERT_TRUE(stub()->Tokenize(Context().get(), request, &response).ok());
  EXPECT_EQ(response.ids_size(), 7);

  request.set_max_length(513);
  s = stub()->Tokenize(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("max_length: 513 out of range [0, 512]"));
}

// proto3 strings must be UTF-8 and protobuf refuses to parse anything else; the service parses requests
// itself and answers INVALID_ARGUMENT naming the field (malformed_request_test.cc covers every field and
// the stream), and keeps serving.
TEST_F(EncoderServiceTest, InvalidUtf8OverTheWireIsInvalidArgumentNamingTheField) {
  v1::TokenizeRequest request;
  request.set_text("bad \xff byte");
  v1::TokenizeResponse response;
  grpc::Status s = stub()->Tokenize(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "text: not valid UTF-8");
  request.set_text("good");
  EXPECT_TRUE(stub()->Tokenize(Context().get(), request, &response).ok());
}

// The conversion layer still refuses invalid UTF-8 (defense in depth, and for in-process callers) with
// INVALID_ARGUMENT naming the field.
TEST_F(EncoderServiceTest, ConversionRejectsInvalidUtf8NamingTheField) {
  v1::TokenizeRequest tokenize;
  tokenize.set_text("bad \xff byte");
  v1::TokenizeResponse tokens;
  absl::Status s = Tokenize(tokenize, *reference_, &tokens);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("text: "));

  v1::EncodeRequest encode;
  encode.add_inputs()->mutable_text()->set_text("ok");
  encode.add_inputs()->mutable_text()->set_text("bad \xc3\x28 utf8");
  absl::StatusOr<PreparedEncode> prepared = PrepareEncode(encode, *reference_, TestConfig());
  EXPECT_EQ(prepared.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(prepared.status().message()), HasSubstr("inputs[1].text: "));
}

// An unset normalize follows the model's default (a sentence-transformers Normalize module); an explicit
// value wins either way. GetModelInfo reports the default.
TEST_F(EncoderServiceTest, UnsetNormalizeFollowsTheModelDefault) {
  std::unique_ptr<ServedModel> model = LoadTinyModel();
  ASSERT_NE(model, nullptr);
  model->default_normalize = true;
  TestServer server = StartServing(TestConfig(), std::move(model));
  auto norm = [](const v1::Tensor& t) {
    double sum = 0;
    for (float v : t.values()) sum += static_cast<double>(v) * v;
    return std::sqrt(sum);
  };
  v1::EncodeRequest request = IdsRequest({{101, 7592, 2088, 102}});
  request.mutable_options()->set_pooling(v1::POOLING_MEAN);
  v1::EncodeResponse response;
  ASSERT_TRUE(server.stub->Encode(Context().get(), request, &response).ok());
  EXPECT_NEAR(norm(response.outputs(0).pooled()), 1.0, 1e-5);

  request.mutable_options()->set_normalize(false);
  response.Clear();
  ASSERT_TRUE(server.stub->Encode(Context().get(), request, &response).ok());
  EXPECT_GT(std::abs(norm(response.outputs(0).pooled()) - 1.0), 1e-2);

  v1::GetModelInfoResponse info;
  ASSERT_TRUE(server.stub->GetModelInfo(Context().get(), v1::GetModelInfoRequest(), &info).ok());
  EXPECT_TRUE(info.default_normalize());
  ASSERT_TRUE(stub()->GetModelInfo(Context().get(), v1::GetModelInfoRequest(), &info).ok());
  EXPECT_FALSE(info.default_normalize());  // the bundled model has no modules.json
}

// A text pair's second segment has type id 1. On a model with type_vocab_size 1 that is INVALID_ARGUMENT
// naming the pair at validation; it used to reach the encoder, fail there naming the batch position
// ("sequence 1: token_type_ids[8]"), and fail every other request batched with it.
TEST_F(EncoderServiceTest, TextPairOnAModelWithOneTokenTypeIsInvalidArgumentNamingThePair) {
  std::unique_ptr<ServedModel> model = LoadTinyModel();
  ASSERT_NE(model, nullptr);
  model->config.type_vocab_size = 1;
  v1::EncodeRequest encode;
  encode.add_inputs()->mutable_text()->set_text("one text");
  absl::StatusOr<PreparedEncode> prepared = PrepareEncode(encode, *model, TestConfig());
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_THAT(prepared->sequences[0].type_ids, ::testing::Each(0));

  v1::TextInput* pair = encode.add_inputs()->mutable_text();
  pair->set_text("a question");
  pair->set_text_pair("a passage");
  prepared = PrepareEncode(encode, *model, TestConfig());
  EXPECT_EQ(prepared.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(prepared.status().message()), HasSubstr("inputs[1].text.text_pair: "));
  EXPECT_THAT(std::string(prepared.status().message()), HasSubstr("type_vocab_size 1"));

  encode.mutable_options()->set_truncation(
      v1::TRUNCATION_TRUNCATE);  // even when truncation leaves only [SEP]s
  encode.mutable_options()->set_max_length(3);
  prepared = PrepareEncode(encode, *model, TestConfig());
  EXPECT_EQ(prepared.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(prepared.status().message()), HasSubstr("inputs[1].text.text_pair: "));
}

// Encode results equal the core's own output for the same inputs, bit for bit: token vectors, pooled,
// hidden states and attention (all heads, and a selection of heads).
TEST_F(EncoderServiceTest, EncodeMatchesCoreBitForBit) {
  v1::EncodeRequest request;
  v1::Input* text = request.add_inputs();
  text->set_id("text");
  text->mutable_text()->set_text("The quick brown fox jumps over the lazy dog.");
  v1::Input* pair = request.add_inputs();
  pair->set_id("pair");
  pair->mutable_text()->set_text("Where is the fox?");
  pair->mutable_text()->set_text_pair("In the forest.");
  v1::Input* ids = request.add_inputs();
  ids->set_id("ids");
  for (int32_t id : {101, 2023, 2003, 1037, 3231, 102}) ids->mutable_ids()->add_ids(id);
  for (int32_t t : {0, 0, 0, 1, 1, 1}) ids->mutable_ids()->add_token_type_ids(t);
  v1::EncodeOptions* options = request.mutable_options();
  options->set_pooling(v1::POOLING_MEAN);
  options->set_normalize(true);
  options->set_return_token_vectors(true);
  options->add_hidden_state_layers(0);
  options->add_hidden_state_layers(-1);
  options->mutable_attention()->add_layers(-1);
  options->mutable_attention()->add_layers(0);

  v1::EncodeResponse response;
  grpc::Status s = Encode(request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.outputs_size(), 3);
  EXPECT_EQ(response.model(), "bert-tiny-random");

  // The same sequences straight through core.
  std::vector<std::vector<int32_t>> all_ids, all_types;
  for (const v1::Output& o : response.outputs()) {
    all_ids.emplace_back(o.ids().begin(), o.ids().end());
    all_types.emplace_back(o.token_type_ids().begin(), o.token_type_ids().end());
  }
  OutputSpec spec;
  spec.pooling = Pooling::kMean;
  spec.normalize = true;
  spec.token_vectors = true;
  spec.hidden_state_layers = {0, 2};
  spec.attention_layers = {1, 0};
  std::vector<SequenceInput> inputs;
  for (size_t i = 0; i < all_ids.size(); ++i) inputs.push_back(SequenceInput{all_ids[i], all_types[i], spec});
  std::unique_ptr<Workspace> ws = reference_->encoder->NewWorkspace();
  std::vector<SequenceOutput> want;
  ASSERT_TRUE(reference_->encoder->Run(inputs, ws.get(), &want).ok());

  int64_t tokens = 0;
  for (int i = 0; i < 3; ++i) {
    const v1::Output& o = response.outputs(i);
    const int64_t t = o.ids_size();
    tokens += t;
    EXPECT_EQ(o.tokens_size(), t);
    EXPECT_EQ(o.token_vectors().shape_size(), 2);
    EXPECT_EQ(o.token_vectors().shape(0), t);
    EXPECT_EQ(o.token_vectors().shape(1), 128);
    EXPECT_TRUE(SameBits(o.token_vectors().values(), want[i].last_hidden.data(), want[i].last_hidden.size()));
    EXPECT_THAT(o.pooled().shape(), ElementsAre(128));
    EXPECT_TRUE(SameBits(o.pooled().values(), want[i].pooled.data(), want[i].pooled.size()));
    ASSERT_EQ(o.hidden_states_size(), 2);
    EXPECT_EQ(o.hidden_states(0).layer(), 0);
    EXPECT_EQ(o.hidden_states(1).layer(), 2);
    for (int k = 0; k < 2; ++k) {
      EXPECT_TRUE(SameBits(o.hidden_states(k).values().values(), want[i].hidden_states[k].data.data(),
                           want[i].hidden_states[k].data.size()));
    }
    ASSERT_EQ(o.attention_size(), 2);
    EXPECT_EQ(o.attention(0).layer(), 1);
    EXPECT_EQ(o.attention(1).layer(), 0);
    for (int k = 0; k < 2; ++k) {
      EXPECT_THAT(o.attention(k).heads(), ElementsAre(0, 1));
      EXPECT_THAT(o.attention(k).probs().shape(), ElementsAre(2, t, t));
      EXPECT_TRUE(SameBits(o.attention(k).probs().values(), want[i].attentions[k].data.data(),
                           want[i].attentions[k].data.size()));
    }
  }
  EXPECT_EQ(response.outputs(0).id(), "text");
  EXPECT_EQ(response.outputs(1).id(), "pair");
  EXPECT_EQ(response.outputs(2).id(), "ids");
  EXPECT_EQ(response.outputs(0).tokens(0), "[CLS]");
  EXPECT_EQ(response.outputs(2).tokens(1), "this");
  EXPECT_EQ(response.input_tokens(), tokens);
  EXPECT_GE(response.batch_tokens(), tokens);
  EXPECT_GE(response.batch_sequences(), 3);
  EXPECT_GT(response.timing().total_us(), 0);
  EXPECT_GE(response.timing().total_us(), response.timing().compute_us());

  // Head selection copies the requested heads of the core's [H, T, T] block, in the requested order.
  request.mutable_options()->mutable_attention()->add_heads(1);
  request.mutable_options()->mutable_attention()->add_heads(0);
  request.mutable_options()->mutable_attention()->clear_layers();
  request.mutable_options()->mutable_attention()->add_layers(1);
  response.Clear();
  ASSERT_TRUE(Encode(request, &response).ok());
  for (int i = 0; i < 3; ++i) {
    const v1::LayerAttention& a = response.outputs(i).attention(0);
    const int64_t t = response.outputs(i).ids_size();
    EXPECT_THAT(a.heads(), ElementsAre(1, 0));
    EXPECT_THAT(a.probs().shape(), ElementsAre(2, t, t));
    std::vector<float> swapped(want[i].attentions[0].data.begin() + t * t, want[i].attentions[0].data.end());
    swapped.insert(swapped.end(), want[i].attentions[0].data.begin(),
                   want[i].attentions[0].data.begin() + t * t);
    EXPECT_TRUE(SameBits(a.probs().values(), swapped.data(), swapped.size()));
  }
}

// An attention message without layers means the last layer; no attention message means no attention.
TEST_F(EncoderServiceTest, AttentionWithoutLayersIsTheLastLayer) {
  v1::EncodeRequest request = IdsRequest({{101, 7592, 2088, 102}});
  v1::EncodeResponse without;
  ASSERT_TRUE(Encode(request, &without).ok());
  EXPECT_EQ(without.outputs(0).attention_size(), 0);

  request.mutable_options()->mutable_attention()->add_heads(1);
  v1::EncodeResponse with;
  grpc::Status s = Encode(request, &with);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(with.outputs(0).attention_size(), 1);
  const v1::LayerAttention& a = with.outputs(0).attention(0);
  EXPECT_EQ(a.layer(), 1);  // bert-tiny-random has 2 layers
  EXPECT_THAT(a.heads(), ElementsAre(1));
  EXPECT_THAT(a.probs().shape(), ElementsAre(1, 4, 4));
}

TEST_F(EncoderServiceTest, DefaultPoolingIsThePoolerAndNoneLeavesPooledUnset) {
  v1::EncodeRequest request = IdsRequest({{101, 7592, 102}});
  v1::EncodeResponse response;
  ASSERT_TRUE(Encode(request, &response).ok());
  const v1::Output& o = response.outputs(0);
  EXPECT_FALSE(o.has_token_vectors());  // not asked for
  ASSERT_EQ(o.pooled().values_size(), 128);
  OutputSpec spec;
  spec.pooling = Pooling::kPooler;
  spec.token_vectors = false;
  std::vector<int32_t> ids = {101, 7592, 102};
  std::unique_ptr<Workspace> ws = reference_->encoder->NewWorkspace();
  std::vector<SequenceOutput> want;
  ASSERT_TRUE(reference_->encoder->Run({SequenceInput{ids, {}, spec}}, ws.get(), &want).ok());
  EXPECT_TRUE(SameBits(o.pooled().values(), want[0].pooled.data(), want[0].pooled.size()));

  request.mutable_options()->set_pooling(v1::POOLING_NONE);
  response.Clear();
  ASSERT_TRUE(Encode(request, &response).ok());
  EXPECT_FALSE(response.outputs(0).has_pooled());
}

TEST_F(EncoderServiceTest, TruncationCutsIdsAndText) {
  v1::EncodeRequest request = IdsRequest({{101, 1, 2, 3, 4, 5, 102}});
  request.mutable_options()->set_max_length(4);
  ExpectInvalid(request, "inputs[0].ids.ids: 7 tokens > max length 4");
  request.mutable_options()->set_truncation(v1::TRUNCATION_TRUNCATE);
  request.mutable_options()->set_return_token_vectors(true);
  v1::Input* text = request.add_inputs();
  text->mutable_text()->set_text("one two three four five six");
  v1::EncodeResponse response;
  ASSERT_TRUE(Encode(request, &response).ok());
  EXPECT_THAT(response.outputs(0).ids(), ElementsAre(101, 1, 2, 3));
  EXPECT_TRUE(response.outputs(0).truncated());
  EXPECT_THAT(response.outputs(1).tokens(), ElementsAre("[CLS]", "one", "two", "[SEP]"));
  EXPECT_TRUE(response.outputs(1).truncated());
  EXPECT_THAT(response.outputs(1).token_vectors().shape(), ElementsAre(4, 128));
}

TEST_F(EncoderServiceTest, InvalidRequestsNameTheFieldAndIndex) {
  ExpectInvalid(v1::EncodeRequest(), "inputs: no inputs");
  ExpectInvalid(IdsRequest({{101, 102}, {}}), "inputs[1].ids.ids: empty sequence");
  ExpectInvalid(IdsRequest({{101, 102}, {101, 5, 6, 7, 8, 9, 10, 40000}}),
                "inputs[1].ids.ids[7]: id 40000 out of range [0, 30522)");
  ExpectInvalid(IdsRequest({{101, -1}}), "inputs[0].ids.ids[1]: id -1 out of range [0, 30522)");
  {
    v1::EncodeRequest r = IdsRequest({{101, 102, 103}});
    for (int t : {0, 2, 0}) r.mutable_inputs(0)->mutable_ids()->add_token_type_ids(t);
    ExpectInvalid(r, "inputs[0].ids.token_type_ids[1]: type id 2 out of range [0, 2)");
    r.mutable_inputs(0)->mutable_ids()->mutable_token_type_ids()->RemoveLast();
    ExpectInvalid(r, "inputs[0].ids.token_type_ids: 2 type ids for 3 ids");
  }
  {
    std::vector<int32_t> long_ids(513, 1000);
    ExpectInvalid(IdsRequest({long_ids}), "inputs[0].ids.ids: 513 tokens > max length 512");
    std::string long_text;
    for (int i = 0; i < 600; ++i) long_text += "word ";
    v1::EncodeRequest r;
    r.add_inputs()->mutable_text()->set_text(long_text);
    ExpectInvalid(r, "inputs[0].text: text is longer than max_length 512 tokens");
  }
  {
    v1::EncodeRequest r;
    r.add_inputs()->set_id("empty");
    ExpectInvalid(r, "inputs[0]: no content");
  }
  {
    std::vector<std::vector<int32_t>> many(TestConfig().max_batch_sequences + 1, {101, 102});
    ExpectInvalid(IdsRequest(many), "inputs: more than 64 elements (--max_batch_sequences=64)");
  }
  {
    v1::EncodeRequest r = IdsRequest({{101, 102}});
    r.mutable_options()->set_pooling(static_cast<v1::Pooling>(17));
    ExpectInvalid(r, "options.pooling: unknown value 17");
  }
  {
    v1::EncodeRequest r = IdsRequest({{101, 102}});
    r.mutable_options()->set_truncation(static_cast<v1::Truncation>(9));
    ExpectInvalid(r, "options.truncation: unknown value 9");
  }
  {
    v1::EncodeRequest r = IdsRequest({{101, 102}});
    r.mutable_options()->add_hidden_state_layers(3);
    ExpectInvalid(r, "options.hidden_state_layers[0]: layer 3 out of range [-3, 2]");
  }
  {
    v1::EncodeRequest r = IdsRequest({{101, 102}});
    r.mutable_options()->mutable_attention()->add_layers(1);
    r.mutable_options()->mutable_attention()->add_layers(-3);
    ExpectInvalid(r, "options.attention.layers[1]: layer -3 out of range [-2, 1]");
  }
  {
    v1::EncodeRequest r = IdsRequest({{101, 102}});
    r.mutable_options()->mutable_attention()->add_layers(1);
    r.mutable_options()->mutable_attention()->add_layers(-1);
    ExpectInvalid(r, "options.attention.layers[1]: layer 1 requested twice");
  }
  {
    v1::EncodeRequest r = IdsRequest({{101, 102}});
    r.mutable_options()->mutable_attention()->add_layers(0);
    r.mutable_options()->mutable_attention()->add_heads(2);
    ExpectInvalid(r, "options.attention.heads[0]: head 2 out of range [0, 1]");
  }
}

TEST_F(EncoderServiceTest, AttentionOverTheByteLimitIsInvalid) {
  ServerConfig config = TestConfig();
  config.max_attention_bytes = 4 * 2 * 100 * 100;  // one layer of a 100-token sequence, all heads
  TestServer t = StartServing(config);
  v1::EncodeRequest request = IdsRequest({std::vector<int32_t>(100, 1000)});
  request.mutable_options()->mutable_attention()->add_layers(0);
  v1::EncodeResponse response;
  ASSERT_TRUE(t.stub->Encode(Context().get(), request, &response).ok());
  request.mutable_options()->mutable_attention()->add_layers(1);
  grpc::Status s = t.stub->Encode(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("options.attention: 160000 bytes"));
  EXPECT_THAT(s.error_message(), HasSubstr("--max_attention_bytes=80000"));
}

TEST(EncoderServiceNoPoolerTest, PoolerOnAModelWithoutPoolerIsInvalid) {
  absl::StatusOr<LoadedModel> loaded = LoadModel(kModelDir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  loaded->weights.pooler.reset();
  auto model = std::make_unique<ServedModel>(loaded->tokenizer);
  model->name = "no-pooler";
  model->config = loaded->config;
  absl::StatusOr<std::unique_ptr<Encoder>> encoder =
      Encoder::Create(loaded->config, std::move(loaded->weights));
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  model->encoder = std::move(*encoder);
  model->has_pooler = model->encoder->has_pooler();
  ASSERT_FALSE(model->has_pooler);
  model->default_pooling = Pooling::kCls;
  TestServer t = StartServing(TestConfig(), std::move(model));

  v1::EncodeRequest request = IdsRequest({{101, 102}});
  request.mutable_options()->set_pooling(v1::POOLING_POOLER);
  v1::EncodeResponse response;
  grpc::Status s = t.stub->Encode(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(),
              HasSubstr("options.pooling: POOLING_POOLER, but model no-pooler has no pooler"));
  request.mutable_options()->set_pooling(v1::POOLING_UNSPECIFIED);  // CLS here
  ASSERT_TRUE(t.stub->Encode(Context().get(), request, &response).ok());
  EXPECT_EQ(response.outputs(0).pooled().values_size(), 128);
}

// --- Error classes that need a controlled runner or special limits. ---

struct ControlledServer {
  TestServer t;
  ControlledRunner* runner;  // owned by the server
};

ControlledServer StartControlled(ServerConfig config) {
  std::unique_ptr<ServedModel> model = LoadTinyModel();
  auto runner = std::make_unique<ControlledRunner>(model->encoder.get());
  ControlledRunner* raw = runner.get();
  return ControlledServer{StartServing(std::move(config), std::move(model), std::move(runner)), raw};
}

// Holds the only worker inside a first request; returns once the worker is blocked.
struct HeldFirstCall {
  grpc::ClientContext context;
  v1::EncodeRequest request;
  v1::EncodeResponse response;
  grpc::Status status;
  absl::Notification done;
};
void HoldWorker(ControlledServer* c, HeldFirstCall* held, int first_id = 2000) {
  c->runner->Close();
  held->request = IdsRequest({{first_id, 102}});
  c->t.stub->async()->Encode(&held->context, &held->request, &held->response, [held](grpc::Status s) {
    held->status = s;
    held->done.Notify();
  });
  c->runner->AwaitEntered(1);
}

TEST(EncoderServiceErrorsTest, FullQueueIsResourceExhaustedNamingTheLimit) {
  ServerConfig config = TestConfig();
  config.max_batch_tokens = 8;
  config.max_queued_tokens = 8;
  ControlledServer c = StartControlled(config);
  HeldFirstCall held;
  HoldWorker(&c, &held);

  // 6 queued tokens fit; 6 more do not.
  grpc::ClientContext queued_context;
  const v1::EncodeRequest queued_request = IdsRequest({{101, 1, 2, 3, 4, 102}});
  v1::EncodeResponse queued_response;
  absl::Notification queued_done;
  grpc::Status queued_status;
  c.t.stub->async()->Encode(&queued_context, &queued_request, &queued_response, [&](grpc::Status s) {
    queued_status = s;
    queued_done.Notify();
  });
  // Wait until the server has queued it (deterministic: the scheduler's own count).
  ASSERT_TRUE(WaitUntil([&] {
    return queued_done.HasBeenNotified() || c.t.server->scheduler()->queued_tokens() >= 6;
  })) << "timed out waiting for queued_tokens() >= 6";
  ASSERT_FALSE(queued_done.HasBeenNotified())
      << "answered instead of queued: " << queued_status.error_code() << " " << queued_status.error_message();

  v1::EncodeResponse response;
  grpc::Status s = c.t.stub->Encode(Context().get(), IdsRequest({{101, 1, 2, 3, 4, 102}}), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("--max_queued_tokens=8"));

  c.runner->Open();
  ASSERT_TRUE(held.done.WaitForNotificationWithTimeout(kWait));
  ASSERT_TRUE(queued_done.WaitForNotificationWithTimeout(kWait));
  EXPECT_TRUE(held.status.ok());
  EXPECT_TRUE(queued_status.ok());
}

TEST(EncoderServiceErrorsTest, OversizedMessagesAreResourceExhausted) {
  ServerConfig config = TestConfig();
  config.max_message_bytes = 4096;
  config.max_receive_message_bytes = 4096;
  TestServer t = StartServing(config);
  // Request too large for the server to receive.
  v1::EncodeRequest big = IdsRequest(std::vector<std::vector<int32_t>>(4, std::vector<int32_t>(500, 20000)));
  v1::EncodeResponse response;
  grpc::Status s = t.stub->Encode(Context().get(), big, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  // Small request, response too large: refused before compute.
  v1::EncodeRequest small = IdsRequest({std::vector<int32_t>(20, 1000)});
  small.mutable_options()->set_return_token_vectors(true);  // 20 * 128 * 4 bytes > 4096
  s = t.stub->Encode(Context().get(), small, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("--max_message_bytes=4096"));
}

TEST(EncoderServiceErrorsTest, DeadlineWhileQueuedIsDeadlineExceededWithoutCompute) {
  ControlledServer c = StartControlled(TestConfig());
  HeldFirstCall held;
  HoldWorker(&c, &held);
  v1::EncodeResponse response;
  grpc::Status s =
      c.t.stub->Encode(Context(absl::Milliseconds(300)).get(), IdsRequest({{3000, 102}}), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server drops the queued job when the call's deadline cancels it.
  ASSERT_TRUE(WaitUntil([&] { return c.t.server->scheduler()->pending_jobs() <= 1; }))
      << "timed out waiting for pending_jobs() <= 1";
  c.runner->Open();
  ASSERT_TRUE(held.done.WaitForNotificationWithTimeout(kWait));
  EXPECT_TRUE(held.status.ok());
  v1::EncodeResponse after;
  ASSERT_TRUE(c.t.stub->Encode(Context().get(), IdsRequest({{4000, 102}}), &after).ok());
  // 3000 never reached the runner.
  EXPECT_THAT(c.runner->batches(), ElementsAre(ElementsAre(2000), ElementsAre(4000)));
}

TEST(EncoderServiceErrorsTest, CancelWhileQueuedIsCancelledWithoutCompute) {
  ControlledServer c = StartControlled(TestConfig());
  HeldFirstCall held;
  HoldWorker(&c, &held);
  grpc::ClientContext context;
  const v1::EncodeRequest request = IdsRequest({{5000, 5001}});
  v1::EncodeResponse response;
  absl::Notification done;
  grpc::Status status;
  c.t.stub->async()->Encode(&context, &request, &response, [&](grpc::Status s) {
    status = s;
    done.Notify();
  });
  ASSERT_TRUE(WaitUntil([&] { return c.t.server->scheduler()->pending_jobs() >= 2; }))
      << "timed out waiting for pending_jobs() >= 2";
  context.TryCancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kWait));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(WaitUntil([&] { return c.t.server->scheduler()->pending_jobs() <= 1; }))
      << "timed out waiting for pending_jobs() <= 1";
  c.runner->Open();
  ASSERT_TRUE(held.done.WaitForNotificationWithTimeout(kWait));
  // Only the held call ever ran.
  EXPECT_THAT(c.runner->batches(), ElementsAre(ElementsAre(2000)));
}

TEST(EncoderServiceErrorsTest, FailingRunIsInternalForEveryCallInTheBatch) {
  ControlledServer c = StartControlled(TestConfig());
  HeldFirstCall held;
  HoldWorker(&c, &held);
  c.runner->FailWith(absl::InternalError("oneDNN primitive failed"));
  c.runner->Open();
  ASSERT_TRUE(held.done.WaitForNotificationWithTimeout(kWait));
  EXPECT_EQ(held.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(held.status.error_message(), HasSubstr("oneDNN primitive failed"));
  c.runner->FailWith(absl::OkStatus());
  v1::EncodeResponse response;
  EXPECT_TRUE(c.t.stub->Encode(Context().get(), IdsRequest({{101, 102}}), &response).ok());
}

grpc::health::v1::HealthCheckResponse::ServingStatus Health(const std::shared_ptr<grpc::Channel>& channel,
                                                            const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status s = stub->Check(Context().get(), request, &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return response.status();
}

TEST(EncoderServiceLifecycleTest, UnavailableWhileLoadingAndDrainingWithHealthToMatch) {
  using grpc::health::v1::HealthCheckResponse;
  TestServer t = StartOnly(TestConfig());
  EXPECT_EQ(Health(t.channel, ""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health(t.channel, "qkv.v1.EncoderService"), HealthCheckResponse::NOT_SERVING);
  v1::EncodeResponse response;
  grpc::Status s = t.stub->Encode(Context().get(), IdsRequest({{101, 102}}), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(s.error_message(), HasSubstr("loading"));
  v1::GetModelInfoResponse info;
  EXPECT_EQ(t.stub->GetModelInfo(Context().get(), v1::GetModelInfoRequest(), &info).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  ASSERT_TRUE(t.server->Serve(LoadTinyModel()).ok());
  EXPECT_EQ(Health(t.channel, ""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(t.channel, "qkv.v1.EncoderService"), HealthCheckResponse::SERVING);
  EXPECT_TRUE(t.stub->Encode(Context().get(), IdsRequest({{101, 102}}), &response).ok());

  t.server->BeginDrain();
  EXPECT_EQ(Health(t.channel, "qkv.v1.EncoderService"), HealthCheckResponse::NOT_SERVING);
  s = t.stub->Encode(Context().get(), IdsRequest({{101, 102}}), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(s.error_message(), HasSubstr("shutting down"));
}

TEST(EncoderServiceLifecycleTest, PortInUseFailsToStart) {
  TestServer first = StartOnly(TestConfig());
  ServerConfig config = TestConfig();
  config.listen = first.server->address();
  absl::StatusOr<std::unique_ptr<Server>> second = Server::Start(config);
  EXPECT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("cannot listen on " + first.server->address()));
}

// --- EncodeStream ---

TEST_F(EncoderServiceTest, StreamAnswersInOrderAndReportsErrorsInline) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kWait));
  auto stream = stub()->EncodeStream(&context);
  constexpr int kRequests = 40;
  for (int i = 0; i < kRequests; ++i) {
    v1::EncodeStreamRequest request;
    request.set_request_id("r" + std::to_string(i));
    // Request 7 is invalid (id out of range); lengths vary so that completion order could differ.
    *request.mutable_request() = i == 7 ? IdsRequest({{101, 99999}})
                                        : IdsRequest({std::vector<int32_t>(2 + (i * 37) % 200, 1000 + i)});
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  v1::EncodeStreamResponse response;
  int n = 0;
  while (stream->Read(&response)) {
    EXPECT_EQ(response.request_id(), "r" + std::to_string(n));
    if (n == 7) {
      EXPECT_EQ(response.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
      EXPECT_THAT(response.message(), HasSubstr("inputs[0].ids.ids[1]: id 99999 out of range"));
      EXPECT_FALSE(response.has_response());
    } else {
      EXPECT_EQ(response.code(), 0) << response.message();
      ASSERT_EQ(response.response().outputs_size(), 1);
      EXPECT_EQ(response.response().outputs(0).ids(0), 1000 + n);
      EXPECT_EQ(response.response().outputs(0).ids_size(), 2 + (n * 37) % 200);
    }
    ++n;
  }
  EXPECT_EQ(n, kRequests);
  grpc::Status s = stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
}

// With the worker held, the server reads only max_stream_in_flight requests of a stream; when released it
// answers all of them in order.
TEST(EncoderServiceStreamTest, WindowLimitsRequestsInFlight) {
  ServerConfig config = TestConfig();
  config.max_stream_in_flight = 3;
  ControlledServer c = StartControlled(config);
  c.runner->Close();
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kWait));
  auto stream = c.t.stub->EncodeStream(&context);
  constexpr int kRequests = 12;
  for (int i = 0; i < kRequests; ++i) {
    v1::EncodeStreamRequest request;
    request.set_request_id(std::to_string(i));
    *request.mutable_request() = IdsRequest({{101, 2000 + i, 102}});
    ASSERT_TRUE(stream->Write(request));  // small messages: HTTP/2 buffers them all
  }
  c.runner->AwaitEntered(1);
  // The window is full (3 read: one running, two queued) and stays so while the worker is held.
  ASSERT_TRUE(WaitUntil([&] { return c.t.server->scheduler()->pending_jobs() >= 3; }))
      << "timed out waiting for pending_jobs() >= 3";
  EXPECT_TRUE(HoldsFor([&] { return c.t.server->scheduler()->pending_jobs() <= 3; }, absl::Milliseconds(100)))
      << "the stream read past its window while the worker was held";
  c.runner->Open();
  stream->WritesDone();
  v1::EncodeStreamResponse response;
  int n = 0;
  while (stream->Read(&response)) {
    EXPECT_EQ(response.request_id(), std::to_string(n));
    EXPECT_EQ(response.code(), 0);
    EXPECT_EQ(response.response().outputs(0).ids(1), 2000 + n);
    ++n;
  }
  EXPECT_EQ(n, kRequests);
  EXPECT_TRUE(stream->Finish().ok());
}

// A queue-full refusal inside a stream is that request's answer; the stream goes on.
TEST(EncoderServiceStreamTest, RefusalIsReportedPerRequest) {
  ServerConfig config = TestConfig();
  config.max_batch_tokens = 4;
  config.max_queued_tokens = 4;
  config.max_stream_in_flight = 8;
  ControlledServer c = StartControlled(config);
  c.runner->Close();
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kWait));
  auto stream = c.t.stub->EncodeStream(&context);
  auto write = [&](const std::string& id, std::vector<int32_t> ids) {
    v1::EncodeStreamRequest request;
    request.set_request_id(id);
    *request.mutable_request() = IdsRequest({std::move(ids)});
    ASSERT_TRUE(stream->Write(request));
  };
  write("running", {101, 1, 102});
  c.runner->AwaitEntered(1);
  write("queued", {101, 2, 3, 102});
  ASSERT_TRUE(WaitUntil([&] { return c.t.server->scheduler()->queued_tokens() >= 4; }))
      << "timed out waiting for queued_tokens() >= 4";
  write("refused", {101, 102});
  ASSERT_TRUE(WaitUntil([&] { return c.t.server->scheduler()->refused_jobs() >= 1; }))
      << "timed out waiting for refused_jobs() >= 1";
  v1::EncodeStreamResponse response;
  // Answers are in order, so release the worker before reading.
  c.runner->Open();
  ASSERT_TRUE(WaitUntil([&] { return c.t.server->scheduler()->queued_tokens() <= 0; }))
      << "timed out waiting for queued_tokens() <= 0";
  write("after", {101, 102});  // the queue has room again
  stream->WritesDone();
  std::vector<std::pair<std::string, int>> got;
  while (stream->Read(&response)) got.emplace_back(response.request_id(), response.code());
  EXPECT_TRUE(stream->Finish().ok());
  using P = std::pair<std::string, int>;
  EXPECT_THAT(
      got, ElementsAre(P{"running", 0}, P{"queued", 0},
                       P{"refused", static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED)}, P{"after", 0}));
}

// SIGTERM with a stream that keeps sending: the stream stops reading at the drain, answers the requests it
// had read (in order, computed), then ends UNAVAILABLE; the unary call in flight completes OK; Shutdown
// returns as soon as that work is done, well within the grace period.
TEST(EncoderServiceStreamTest, DrainAnswersWhatTheStreamReadThenEndsUnavailable) {
  ServerConfig config = TestConfig();
  config.max_stream_in_flight = 3;
  config.grace_period = absl::Seconds(30);
  ControlledServer c = StartControlled(config);
  c.runner->Close();
  HeldFirstCall unary;
  unary.request = IdsRequest({{101, 1999, 102}});
  c.t.stub->async()->Encode(&unary.context, &unary.request, &unary.response, [&unary](grpc::Status s) {
    unary.status = s;
    unary.done.Notify();
  });
  c.runner->AwaitEntered(1);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kWait));
  auto stream = c.t.stub->EncodeStream(&context);
  constexpr int kRequests = 8;
  for (int i = 0; i < kRequests; ++i) {
    v1::EncodeStreamRequest request;
    request.set_request_id(std::to_string(i));
    *request.mutable_request() = IdsRequest({{101, 2000 + i, 102}});
    ASSERT_TRUE(stream->Write(request));  // small messages: HTTP/2 buffers them all
  }
  // The unary call runs; the stream's window (3) is full and stays so while the worker is held.
  ASSERT_TRUE(WaitUntil([&] { return c.t.server->scheduler()->pending_jobs() >= 4; }))
      << "timed out waiting for pending_jobs() >= 4";
  ASSERT_TRUE(HoldsFor([&] { return c.t.server->scheduler()->pending_jobs() == 4; }, absl::Milliseconds(50)))
      << "the stream read past its window while the worker was held";

  const absl::Time drain_start = absl::Now();
  absl::Time shutdown_end;
  std::thread shutdown([&] {
    c.t.server->Shutdown();
    shutdown_end = absl::Now();
  });
  // Tokenize needs no worker, so it fails only once the drain has begun (UNAVAILABLE from the service, or
  // UNAVAILABLE/CANCELLED from gRPC once it stops accepting calls).
  ASSERT_TRUE(WaitUntil([&] {
    v1::TokenizeRequest tokenize;
    tokenize.set_text("hello");
    v1::TokenizeResponse tokens;
    return !c.t.stub->Tokenize(Context().get(), tokenize, &tokens).ok();
  })) << "Tokenize still succeeds long after Shutdown began";
  // The stream must neither read more nor end while work is held.
  EXPECT_TRUE(HoldsFor([&] { return c.t.server->scheduler()->pending_jobs() == 4; }, absl::Milliseconds(50)))
      << "the held work changed during the drain";
  c.runner->Open();

  v1::EncodeStreamResponse response;
  int n = 0;
  while (stream->Read(&response)) {
    EXPECT_EQ(response.request_id(), std::to_string(n));
    EXPECT_EQ(response.code(), 0) << response.message();
    ASSERT_EQ(response.response().outputs_size(), 1);
    EXPECT_EQ(response.response().outputs(0).ids(1), 2000 + n);
    ++n;
  }
  EXPECT_EQ(n, 3) << "exactly the requests read before the drain are answered";
  const grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("server is shutting down; reconnect to another replica"));
  ASSERT_TRUE(unary.done.WaitForNotificationWithTimeout(kWait));
  EXPECT_TRUE(unary.status.ok()) << unary.status.error_message();
  EXPECT_EQ(unary.response.outputs(0).ids(1), 1999);
  shutdown.join();
  EXPECT_LT(shutdown_end - drain_start, absl::Seconds(10)) << "the drain waited for the grace period";
}

// An idle open stream ends UNAVAILABLE as soon as the drain starts, a stream opened while draining ends
// UNAVAILABLE at once, and Shutdown does not wait for the grace period.
TEST(EncoderServiceStreamTest, IdleStreamEndsAtTheDrainAndDoesNotHoldShutdown) {
  ServerConfig config = TestConfig();
  config.grace_period = absl::Seconds(30);
  TestServer t = StartServing(config);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kWait));
  auto stream = t.stub->EncodeStream(&context);
  v1::EncodeStreamRequest request;
  request.set_request_id("a");
  *request.mutable_request() = IdsRequest({{101, 2000, 102}});
  ASSERT_TRUE(stream->Write(request));
  v1::EncodeStreamResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.request_id(), "a");
  EXPECT_EQ(response.code(), 0);

  const absl::Time drain_start = absl::Now();
  t.server->BeginDrain();
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status s = stream->Finish();
  EXPECT_LT(absl::Now() - drain_start, absl::Seconds(5));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("shutting down"));

  grpc::ClientContext late_context;
  late_context.set_deadline(absl::ToChronoTime(absl::Now() + kWait));
  auto late = t.stub->EncodeStream(&late_context);
  late->Write(request);  // may fail: the server can finish the stream before the write goes out
  EXPECT_FALSE(late->Read(&response));
  s = late->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("shutting down"));

  t.server->Shutdown();
  EXPECT_LT(absl::Now() - drain_start, absl::Seconds(10)) << "the drain waited for the grace period";
}

// Regression (issue 8): a stream cancelled while its request waits for a preparation thread finds no call
// to cancel; the call made after the cancel must start cancelled and never reach the runner.
TEST(EncoderServiceStreamTest, CancelWhileTheRequestAwaitsPreparationNeverComputesIt) {
  ServerConfig config = TestConfig();
  config.prep_threads = 1;
  ControlledServer c = StartControlled(config);
  ServerMetrics* metrics = c.t.server->metrics();
  PreparationPool* pool = c.t.server->preparation_pool();
  absl::Notification held;
  absl::Notification release;
  ASSERT_TRUE(pool->Submit("test-holder", [&] {
                    held.Notify();
                    release.WaitForNotification();
                  }).ok());
  absl::Cleanup always_release = [&] {
    if (!release.HasBeenNotified()) release.Notify();
  };
  ASSERT_TRUE(held.WaitForNotificationWithTimeout(kWait)) << "the preparation thread never took the holder";

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kWait));
  auto stream = c.t.stub->EncodeStream(&context);
  v1::EncodeStreamRequest request;
  request.set_request_id("cancelled");
  *request.mutable_request() = IdsRequest({{101, 2000, 102}});
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(WaitUntil([&] { return pool->queued() == 1; }))
      << "the stream's request never reached the preparation queue";
  context.TryCancel();
  ASSERT_TRUE(WaitUntil([&] { return MetricValue(metrics, "qkv_cancelled_streams_total") == 1; }))
      << "the server never saw the cancel";

  release.Notify();  // the request is prepared now, after the cancel
  ASSERT_TRUE(WaitUntil([&] { return MetricValue(metrics, "qkv_open_streams") == 0; }))
      << "the cancelled stream never ended";
  EXPECT_TRUE(c.runner->batches().empty()) << "the cancelled stream's request was computed";
  EXPECT_EQ(MetricValue(metrics, "qkv_requests_total{code=\"CANCELLED\",method=\"EncodeStream\"}"), 1);
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

}  // namespace
}  // namespace qkv
