// The request checks core owns (input_validation.h): each names the caller's field path, so that the server's
// messages ("inputs[3].ids.ids[7]: ...") and Encoder::Run's ("sequence 3: token_ids[7]: ...") come from the
// same code.
#include "core/input_validation.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace qkv {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ModelConfig Config() {
  ModelConfig config;
  config.vocab_size = 100;
  config.type_vocab_size = 2;
  config.num_hidden_layers = 3;
  config.max_position_embeddings = 8;
  return config;
}

void ExpectInvalid(const absl::Status& status, const std::string& message) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(message));
}

TEST(InputValidationTest, TokenIdsNameTheCallersFields) {
  const ModelConfig config = Config();
  const TokenIdFields fields = {"inputs[2].ids.ids", "inputs[2].ids.token_type_ids"};
  const std::vector<int32_t> ids = {1, 99, 0};
  EXPECT_TRUE(ValidateTokenIds(config, ids, {}, fields).ok());
  EXPECT_TRUE(ValidateTokenIds(config, ids, std::vector<int32_t>{0, 1, 1}, fields).ok());
  ExpectInvalid(ValidateTokenIds(config, {}, {}, fields), "inputs[2].ids.ids: empty sequence");
  ExpectInvalid(ValidateTokenIds(config, std::vector<int32_t>{1, 100}, {}, fields),
                "inputs[2].ids.ids[1]: id 100 out of range [0, 100)");
  ExpectInvalid(ValidateTokenIds(config, std::vector<int32_t>{-5}, {}, fields),
                "inputs[2].ids.ids[0]: id -5 out of range [0, 100)");
  ExpectInvalid(ValidateTokenIds(config, ids, std::vector<int32_t>{0, 1}, fields),
                "inputs[2].ids.token_type_ids: 2 type ids for 3 ids");
  ExpectInvalid(ValidateTokenIds(config, ids, std::vector<int32_t>{0, 2, 0}, fields),
                "inputs[2].ids.token_type_ids[1]: type id 2 out of range [0, 2)");
  EXPECT_TRUE(ValidateLength(8, 8, "f", "max length").ok());
  ExpectInvalid(ValidateLength(9, 8, "text", "max length"), "text: 9 tokens > max length 8");
}

TEST(InputValidationTest, ResolvesIndicesFromTheEnd) {
  const IndexRules negative_once = {/*allow_negative=*/true, /*allow_repeats=*/false};
  absl::StatusOr<std::vector<int>> resolved =
      ResolveIndices(std::vector<int32_t>{-1, 0, -3}, 4, negative_once, "layers", "layer");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_THAT(*resolved, ElementsAre(3, 0, 1));
  ExpectInvalid(ResolveIndices(std::vector<int32_t>{0, 4}, 4, negative_once, "layers", "layer").status(),
                "layers[1]: layer 4 out of range [-4, 3]");
  ExpectInvalid(ResolveIndices(std::vector<int32_t>{3, -1}, 4, negative_once, "layers", "layer").status(),
                "layers[1]: layer 3 requested twice");
  // The first problem in list order is reported (a repeat before an out-of-range index), as the server
  // always did; a long list of repeats stops at its second entry.
  ExpectInvalid(ResolveIndices(std::vector<int32_t>{1, 1, 99}, 4, negative_once, "layers", "layer").status(),
                "layers[1]: layer 1 requested twice");
  ExpectInvalid(
      ResolveIndices(std::vector<int32_t>(1 << 20, 0), 4, negative_once, "layers", "layer").status(),
      "layers[1]: layer 0 requested twice");
  ExpectInvalid(ResolveIndices(std::vector<int32_t>{-1}, 2, IndexRules{}, "heads", "head").status(),
                "heads[0]: head -1 out of range [0, 1]");
  const IndexRules repeats = {/*allow_negative=*/false, /*allow_repeats=*/true};
  resolved = ResolveIndices(std::vector<int32_t>{1, 1}, 2, repeats, "layers", "layer");
  ASSERT_TRUE(resolved.ok());
  EXPECT_THAT(*resolved, ElementsAre(1, 1));
}

TEST(InputValidationTest, PoolerNeedsPoolerWeights) {
  EXPECT_TRUE(ValidatePooling(Pooling::kPooler, true, "options.pooling", "POOLING_POOLER", "m").ok());
  EXPECT_TRUE(ValidatePooling(Pooling::kMean, false, "options.pooling", "POOLING_MEAN", "m").ok());
  ExpectInvalid(ValidatePooling(Pooling::kPooler, false, "options.pooling", "POOLING_POOLER", "tiny"),
                "options.pooling: POOLING_POOLER, but model tiny has no pooler weights");
  ExpectInvalid(ValidatePooling(Pooling::kPooler, false, "pooling", "kPooler", ""),
                "pooling: kPooler, but the model has no pooler weights");
}

TEST(InputValidationTest, BatchErrorsNameTheSequence) {
  const ModelConfig config = Config();
  const std::vector<int32_t> good = {1, 2};
  const std::vector<int32_t> long_ids(9, 1);
  OutputSpec repeated;
  repeated.hidden_state_layers = {3, 3};  // resolved layers may repeat
  repeated.attention_layers = {2};
  EXPECT_TRUE(ValidateInputs(config, false, {SequenceInput{good, {}, repeated}}).ok());
  ExpectInvalid(ValidateInputs(config, false, {SequenceInput{good, {}, {}}, SequenceInput{long_ids, {}, {}}}),
                "sequence 1: token_ids: 9 tokens > max_position_embeddings 8");
  OutputSpec too_far;
  too_far.attention_layers = {3};
  ExpectInvalid(ValidateInputs(config, false, {SequenceInput{good, {}, too_far}}),
                "sequence 0: attention_layers[0]: layer 3 out of range [0, 2]");
}

}  // namespace
}  // namespace qkv
