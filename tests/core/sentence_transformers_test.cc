// ReadSentenceTransformersConfig: the 1_Pooling/config.json and modules.json a sentence-transformers export
// puts beside the model (read by LoadModel; the server's default pooling and normalize come from it).
#include "core/sentence_transformers.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace qkv {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// An empty directory for one case, with `pooling` as 1_Pooling/config.json and `modules` as modules.json
// (each absent when empty).
std::string Dir(const std::string& name, const std::string& pooling, const std::string& modules) {
  const fs::path dir = fs::path(::testing::TempDir()) / absl::StrCat("qkv_st_", getpid(), "_", name);
  fs::remove_all(dir);
  fs::create_directories(dir / "1_Pooling");
  if (!pooling.empty()) std::ofstream(dir / "1_Pooling" / "config.json") << pooling;
  if (!modules.empty()) std::ofstream(dir / "modules.json") << modules;
  return dir.string();
}

constexpr char kNormalize[] =
    R"([{"type": "sentence_transformers.models.Transformer"}, {"type": "sentence_transformers.models.Normalize"}])";

TEST(SentenceTransformersTest, ReadsPoolingAndNormalize) {
  struct Case {
    const char* name;
    std::string pooling;
    std::string modules;
    std::optional<Pooling> want_pooling;
    bool want_normalize;
  };
  const Case cases[] = {
      {"nothing", "", "", std::nullopt, false},
      {"mean", R"({"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": false})", "", Pooling::kMean,
       false},
      {"cls", R"({"pooling_mode_cls_token": true, "pooling_mode_max_tokens": false})", "", Pooling::kCls,
       false},
      {"no_mode", R"({"pooling_mode_cls_token": false, "word_embedding_dimension": 8})", "", std::nullopt,
       false},
      {"normalize", "", kNormalize, std::nullopt, true},
      {"no_normalize", "", R"([{"type": "sentence_transformers.models.Transformer"}])", std::nullopt, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<SentenceTransformersConfig> config =
        ReadSentenceTransformersConfig(Dir(c.name, c.pooling, c.modules));
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->pooling, c.want_pooling);
    EXPECT_EQ(config->normalize, c.want_normalize);
  }
  // A trailing slash on the directory reads the same files.
  absl::StatusOr<SentenceTransformersConfig> slashed =
      ReadSentenceTransformersConfig(Dir("slash", R"({"pooling_mode_mean_tokens": true})", kNormalize) + "/");
  ASSERT_TRUE(slashed.ok()) << slashed.status();
  EXPECT_EQ(slashed->pooling, Pooling::kMean);
  EXPECT_TRUE(slashed->normalize);
}

TEST(SentenceTransformersTest, WhatItCannotHonourIsAnErrorNamingTheFile) {
  struct Case {
    const char* name;
    std::string pooling;
    std::string modules;
    absl::StatusCode code;
    const char* says;
  };
  const Case cases[] = {
      {"max", R"({"pooling_mode_max_tokens": true})", "", absl::StatusCode::kUnimplemented,
       "1_Pooling/config.json: unsupported pooling (pooling_mode_max_tokens)"},
      {"two_modes", R"({"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": true})", "",
       absl::StatusCode::kUnimplemented, "pooling_mode_cls_token + pooling_mode_mean_tokens"},
      {"pooling_not_json", "{", "", absl::StatusCode::kInvalidArgument,
       "1_Pooling/config.json: not a JSON object ("},
      {"pooling_array", "[true]", "", absl::StatusCode::kInvalidArgument,
       "1_Pooling/config.json: not a JSON object"},
      {"modules_object", "", R"({"type": "x"})", absl::StatusCode::kInvalidArgument,
       "modules.json: not a JSON array"},
      {"modules_deep", "", std::string(100000, '['), absl::StatusCode::kInvalidArgument,
       "modules.json: not a JSON array (nested deeper than 64 levels"},
      // LaBSE's modules: the Dense layer after pooling changes every vector (distiluse-*: also its size).
      {"modules_dense", "",
       R"([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
           {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
           {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
           {"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"}])",
       absl::StatusCode::kUnimplemented,
       "modules.json: module [2] of type \"sentence_transformers.models.Dense\" is not supported"},
      {"modules_untyped", "", R"([{"type": "sentence_transformers.models.Transformer"}, {"path": "x"}])",
       absl::StatusCode::kInvalidArgument,
       "modules.json: module [1] is not an object with a string \"type\""},
      {"modules_number", "", "[3]", absl::StatusCode::kInvalidArgument,
       "modules.json: module [0] is not an object"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<SentenceTransformersConfig> config =
        ReadSentenceTransformersConfig(Dir(c.name, c.pooling, c.modules));
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), c.code);
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(c.says));
  }
  // A file that exists but cannot be read is an error, not "no file" (the model would get another
  // pooling): a directory in its place, and a device that never ends (stopped at 1 MiB).
  const fs::path unreadable = Dir("unreadable", "", "");
  fs::create_directories(unreadable / "1_Pooling" / "config.json");
  EXPECT_EQ(ReadSentenceTransformersConfig(unreadable.string()).status().code(), absl::StatusCode::kDataLoss);
  const fs::path endless = Dir("endless", "", "");
  fs::create_symlink("/dev/zero", endless / "modules.json");
  absl::StatusOr<SentenceTransformersConfig> config = ReadSentenceTransformersConfig(endless.string());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("modules.json: over the 1048576-byte limit"));
}

}  // namespace
}  // namespace qkv
