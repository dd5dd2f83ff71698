// ModelConfig: what qkv runs is checked in one place (ValidateSupport), before the numbers when parsing.
#include "core/model_config.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;

constexpr char kDims[] =
    R"("vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
       "intermediate_size": 16, "max_position_embeddings": 16)";

TEST(ModelConfigTest, UnsupportedFamilyOrActivationIsUnimplementedNamingTheField) {
  // Another family's config names its dimensions differently: the family is what the error names.
  absl::StatusOr<ModelConfig> albert =
      ParseModelConfig(R"({"model_type": "albert", "embedding_size": 8, "n_layers": 1})", "d/config.json");
  EXPECT_EQ(albert.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(albert.status().message()),
              HasSubstr("d/config.json: unsupported model_type \"albert\""));

  absl::StatusOr<ModelConfig> tanh_gelu = ParseModelConfig(
      std::string(R"({"model_type": "bert", "hidden_act": "gelu_new", )") + kDims + "}", "t/config.json");
  EXPECT_EQ(tanh_gelu.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(tanh_gelu.status().message()),
              HasSubstr("t/config.json: unsupported hidden_act \"gelu_new\""));

  absl::StatusOr<ModelConfig> good =
      ParseModelConfig(std::string(R"({"model_type": "bert", )") + kDims + "}", "g/config.json");
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_TRUE(good->Validate().ok());

  // A config built in code goes through the same check.
  ModelConfig config = *good;
  config.hidden_act = "relu";
  EXPECT_EQ(config.Validate().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(config.Validate().message()), HasSubstr("hidden_act \"relu\""));
  config = *good;
  config.num_attention_heads = 3;
  EXPECT_EQ(config.Validate().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(config.ValidateSupport().ok());
}

}  // namespace
}  // namespace qkv
