// LoadServedModel's reading of a sentence-transformers 1_Pooling/config.json beside the bundled model: the
// supported modes set the default pooling; a corrupt file or a mode qkv lacks stops the load, naming the file
// (it used to be ignored silently, serving the pooler output where the model wants max / weighted pooling).
#include "server/served_model.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server_test_util.h"

namespace qkv {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A model directory linking the bundled model's files, with `pooling_json` as 1_Pooling/config.json
// (none when empty).
std::string ModelDirWithPooling(const std::string& name, const std::string& pooling_json) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / absl::StrCat("qkv_served_model_", getpid(), "_", name);
  fs::remove_all(dir);
  fs::create_directories(dir / "1_Pooling");
  for (const char* file : {"config.json", "vocab.txt", "tokenizer_config.json", "model.safetensors"}) {
    fs::create_symlink(fs::path(testing_util::kModelDir) / file, dir / file);
  }
  if (!pooling_json.empty()) std::ofstream(dir / "1_Pooling" / "config.json") << pooling_json;
  return dir.string();
}

std::string Modes(bool mean, bool cls, bool max) {
  return absl::StrCat(R"({"word_embedding_dimension": 128, "pooling_mode_mean_tokens": )",
                      mean ? "true" : "false", R"(, "pooling_mode_cls_token": )", cls ? "true" : "false",
                      R"(, "pooling_mode_max_tokens": )", max ? "true" : "false",
                      R"(, "pooling_mode_mean_sqrt_len_tokens": false})");
}

TEST(ServedModelTest, SentenceTransformersPoolingSetsTheDefault) {
  struct Case {
    const char* name;
    std::string json;
    Pooling want;
  };
  const Case cases[] = {{"none", "", Pooling::kPooler},
                        {"mean", Modes(true, false, false), Pooling::kMean},
                        {"cls", Modes(false, true, false), Pooling::kCls},
                        {"all_false", Modes(false, false, false), Pooling::kPooler}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::unique_ptr<ServedModel>> model =
        LoadServedModel(ModelDirWithPooling(c.name, c.json), 8192);
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_EQ((*model)->default_pooling, c.want);
  }
}

TEST(ServedModelTest, UnsupportedOrCorruptPoolingConfigIsAnErrorNamingTheFile) {
  struct Case {
    const char* name;
    std::string json;
    absl::StatusCode code;
    const char* says;
  };
  const Case cases[] = {
      {"max", Modes(false, false, true), absl::StatusCode::kUnimplemented, "pooling_mode_max_tokens"},
      {"mean_and_max", Modes(true, false, true), absl::StatusCode::kUnimplemented,
       "pooling_mode_max_tokens + pooling_mode_mean_tokens"},  // nlohmann::json orders keys
      {"weighted", R"({"pooling_mode_weightedmean_tokens": true})", absl::StatusCode::kUnimplemented,
       "pooling_mode_weightedmean_tokens"},
      {"not_json", "{", absl::StatusCode::kInvalidArgument, "not a JSON object"},
      {"array", "[]", absl::StatusCode::kInvalidArgument, "not a JSON object"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::unique_ptr<ServedModel>> model =
        LoadServedModel(ModelDirWithPooling(c.name, c.json), 8192);
    ASSERT_FALSE(model.ok());
    EXPECT_EQ(model.status().code(), c.code);
    EXPECT_THAT(std::string(model.status().message()), HasSubstr("1_Pooling/config.json: "));
    EXPECT_THAT(std::string(model.status().message()), HasSubstr(c.says));
  }
}

}  // namespace
}  // namespace qkv

namespace qkv {
namespace {

// A sentence-transformers modules.json with a Normalize module makes unit vectors the default; without one
// (or without the file) the default stays off; a modules.json that is not an array stops the load.
TEST(ServedModelTest, SentenceTransformersNormalizeModuleSetsTheDefault) {
  const std::string with = ModelDirWithPooling("normalize_on", Modes(true, false, false));
  std::ofstream(fs::path(with) / "modules.json")
      << R"([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])";
  absl::StatusOr<std::unique_ptr<ServedModel>> model = LoadServedModel(with, 8192);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE((*model)->default_normalize);
  EXPECT_EQ((*model)->default_pooling, Pooling::kMean);

  const std::string without = ModelDirWithPooling("normalize_off", Modes(true, false, false));
  std::ofstream(fs::path(without) / "modules.json")
      << R"([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}])";
  model = LoadServedModel(without, 8192);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE((*model)->default_normalize);

  model = LoadServedModel(ModelDirWithPooling("no_modules", ""), 8192);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE((*model)->default_normalize);

  const std::string corrupt = ModelDirWithPooling("modules_corrupt", "");
  std::ofstream(fs::path(corrupt) / "modules.json") << R"({"type": "oops"})";
  model = LoadServedModel(corrupt, 8192);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("modules.json: not a JSON array"));
}

// --precision reaches the encoder: int8 runs its projections on s8 kernels and still encodes; the served
// model reports the precision it was built in.
TEST(ServedModelTest, PrecisionReachesTheEncoder) {
  const std::string dir = ModelDirWithPooling("int8", "");
  absl::StatusOr<std::unique_ptr<ServedModel>> model = LoadServedModel(dir, 8192, Precision::kInt8);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->precision, Precision::kInt8);
  EXPECT_EQ((*model)->encoder->precision(), Precision::kInt8);
  bool int8_kernel = false;
  for (const std::string& k : (*model)->kernels) int8_kernel |= k.find("(int8)") != std::string::npos;
  EXPECT_TRUE(int8_kernel);
  EXPECT_TRUE(WarmUp(**model).ok());
}

}  // namespace
}  // namespace qkv

namespace qkv {
namespace {

// 1_Pooling/config.json and modules.json nested 100k levels deep: a clear load error naming the file, not a
// stack overflow.
TEST(ServedModelTest, DeeplyNestedSentenceTransformersFilesAreErrorsNamingTheFile) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "[";
  for (int i = 0; i < 100000; ++i) deep += "]";
  absl::StatusOr<std::unique_ptr<ServedModel>> model =
      LoadServedModel(ModelDirWithPooling("deep_pooling", deep), 8192);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("1_Pooling/config.json: not a JSON object"));
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("nested deeper than 64 levels"));

  const std::string dir = ModelDirWithPooling("deep_modules", "");
  std::ofstream(fs::path(dir) / "modules.json") << deep;
  model = LoadServedModel(dir, 8192);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("modules.json: not a JSON array"));
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("nested deeper than 64 levels"));
}

}  // namespace
}  // namespace qkv
