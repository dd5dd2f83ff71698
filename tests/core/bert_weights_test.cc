// BertWeights' shapes: ListWeights is the one list the file assembler and Validate() walk; the error names
// the tensor and both shapes.
#include "core/bert_weights.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/reference_ops.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;

TEST(BertWeightsTest, ListsEveryTensorOnceWithItsShape) {
  const ModelConfig config = reference::SmallConfig(/*layers=*/2, /*heads=*/2, /*head_size=*/4);
  const int64_t d = config.hidden_size;
  BertWeights weights = reference::RandomWeights(config, 1, /*with_pooler=*/true);
  // 3 embedding tables + their norm (2) + per layer 6 linears (2 each) and 2 norms (2 each) + the pooler (2).
  EXPECT_EQ(ListWeights(config, weights).size(), 3 + 2 + 2 * (6 * 2 + 2 * 2) + 2);
  for (const WeightRef<const Tensor>& ref : ListWeights(config, weights)) {
    EXPECT_EQ(ref.tensor->shape, ref.shape) << ref.name;
  }
  const auto refs = ListWeights(config, &weights);
  EXPECT_EQ(refs[0].name, "embeddings.word_embeddings.weight");
  EXPECT_EQ(refs.back().name, "pooler.dense.bias");
  const auto intermediate = std::find_if(refs.begin(), refs.end(), [](const WeightRef<Tensor>& ref) {
    return ref.name == "encoder.layer.1.intermediate.dense.weight";
  });
  ASSERT_NE(intermediate, refs.end());
  EXPECT_TRUE(intermediate->linear_weight);
  EXPECT_EQ(intermediate->shape, (std::vector<int64_t>{d, config.intermediate_size}));
  EXPECT_EQ(intermediate->tensor, &weights.layers[1].intermediate.weight);

  weights.pooler.reset();
  EXPECT_EQ(ListWeights(config, weights).size(), 3 + 2 + 2 * (6 * 2 + 2 * 2));
  EXPECT_TRUE(weights.Validate(config).ok());
}

TEST(BertWeightsTest, ValidateNamesTheTensorAndBothShapes) {
  const ModelConfig config = reference::SmallConfig(1, 2, 4);
  BertWeights weights = reference::RandomWeights(config, 2, true);
  weights.layers[0].output.weight.shape = {8, 16};
  absl::Status status = weights.Validate(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("tensor encoder.layer.0.output.dense.weight has shape [8, 16], expected [16, 8] "
                        "(stored [in, out])"));

  weights = reference::RandomWeights(config, 2, true);
  weights.embedding_norm.beta.data.pop_back();
  status = weights.Validate(config);
  EXPECT_THAT(std::string(status.message()), HasSubstr("tensor embeddings.LayerNorm.bias has 7 values"));

  weights = reference::RandomWeights(config, 2, true);
  weights.layers.pop_back();
  EXPECT_THAT(std::string(weights.Validate(config).message()), HasSubstr("num_hidden_layers = 1"));
}

}  // namespace
}  // namespace qkv
