// Model files as untrusted input: sizes from a file are checked (overflow-safe) before anything is allocated
// from them, deep JSON nesting is refused before nlohmann builds (or recursively prints) it, and config
// fields that would make attention scratch or weight matrices absurd are load errors naming the field.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/bounded_json.h"
#include "core/model_config.h"
#include "core/onnx_model.h"
#include "core/safetensors.h"
#include "core/tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/onnx_writer.h"
#include "tests/core/safetensors_writer.h"

namespace qkv {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing_util::OnnxInitializer;
using testing_util::OnnxModelBytes;
using testing_util::OnnxStorage;
using testing_util::RawSafetensors;
using testing_util::WriteFile;

const std::string kBertTinyDir = std::string(QKV_SOURCE_DIR) + "/models/bert-tiny-random";

// A fresh directory under the test temp dir.
std::string NewDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / absl::StrCat("qkv_untrusted_", name, "_", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string Nested(int depth, const std::string& open = "[", const std::string& close = "]") {
  std::string text;
  for (int i = 0; i < depth; ++i) text += open;
  text += "1";
  for (int i = 0; i < depth; ++i) text += close;
  return text;
}

constexpr int kDeep = 100000;

std::string ConfigJson(const std::string& extra = "") {
  return absl::StrCat(R"({"model_type": "bert", "vocab_size": 30522, "hidden_size": 128, )",
                      R"("num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 512, )",
                      R"("max_position_embeddings": 512, "type_vocab_size": 2)", extra, "}");
}

// ---- ONNX: the data size is checked before the tensor is allocated ----

TEST(UntrustedOnnxTest, AHundredByteFileAskingForATrillionFloatsIsAnErrorNamingTheTensor) {
  const ModelConfig config = *ParseModelConfig(ConfigJson(), "config.json");
  const std::string name = "embeddings.word_embeddings.weight";
  struct Case {
    const char* what;
    int data_type;
    OnnxStorage storage;
    const char* says;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {"raw float", 1, OnnxStorage::kRaw, "raw_data has 4 bytes, shape needs 4398046511104",
       absl::StatusCode::kInvalidArgument},
      {"typed float", 1, OnnxStorage::kTyped, "float_data has 1 values, shape needs 1099511627776",
       absl::StatusCode::kInvalidArgument},
      {"raw float16", 10, OnnxStorage::kRaw, "raw_data has 4 bytes", absl::StatusCode::kInvalidArgument},
      {"raw double", 11, OnnxStorage::kRaw, "raw_data has 4 bytes", absl::StatusCode::kInvalidArgument},
      {"unsupported int64", 7, OnnxStorage::kRaw, "INT64", absl::StatusCode::kUnimplemented},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    OnnxInitializer init;
    init.name = name;
    init.dims = {int64_t{1} << 20, int64_t{1} << 20};
    init.data_type = c.data_type;
    init.storage = c.storage;
    init.raw = std::string(4, '\0');
    init.typed = {0};
    const std::string bytes = OnnxModelBytes({}, {init});
    ASSERT_LE(bytes.size(), 100u);
    const std::string path = NewDir("onnx_huge") + "/model.onnx";
    WriteFile(path, bytes);
    const absl::StatusOr<BertWeights> weights = ReadOnnxBertWeights(path, config);
    ASSERT_FALSE(weights.ok());
    EXPECT_EQ(weights.status().code(), c.code) << weights.status();
    EXPECT_THAT(std::string(weights.status().message()), HasSubstr(name));
    EXPECT_THAT(std::string(weights.status().message()), HasSubstr(c.says));
  }
  // Past 2^40 elements or overflowing uint64: refused before the data is even looked at.
  OnnxInitializer init;
  init.name = name;
  init.dims = {int64_t{1} << 40, int64_t{1} << 40, 16};
  init.raw = std::string(4, '\0');
  const std::string path = NewDir("onnx_overflow") + "/model.onnx";
  WriteFile(path, OnnxModelBytes({}, {init}));
  const absl::Status status = ReadOnnxBertWeights(path, config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("too many elements"));
}

// ---- JSON: nesting depth and bounded error summaries ----

TEST(BoundedJsonTest, DepthIsCheckedBeforeParsing) {
  EXPECT_TRUE(ParseBoundedJson(Nested(kMaxJsonDepth)).ok());
  const absl::Status status = ParseBoundedJson(Nested(kMaxJsonDepth + 1)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("nested deeper than 64 levels at byte 64"));
  EXPECT_FALSE(ParseBoundedJson(Nested(kDeep, "{\"a\":", "}")).ok());
  // Brackets inside strings, escaped quotes included, do not count.
  const std::string in_strings =
      absl::StrCat("[\"", std::string(1000, '['), "\\\"", std::string(1000, '{'), "\"]");
  EXPECT_TRUE(ParseBoundedJson(in_strings).ok());
  // A syntax error's message is bounded even when the offending token is huge.
  const std::string huge_token = "[\"" + std::string(1 << 20, 'x');  // an unterminated string
  const absl::Status bad = ParseBoundedJson(huge_token).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(bad.message().size(), 400u);
}

TEST(BoundedJsonTest, SummariesAreShort) {
  EXPECT_EQ(JsonSummary(nlohmann::json::parse("[3, 2]")), "[3, 2]");
  EXPECT_EQ(JsonSummary(nlohmann::json::parse("-1")), "-1");
  EXPECT_EQ(JsonSummary(nlohmann::json::parse(R"({"a": 1, "b": [1]})")), "an object of 2 members");
  EXPECT_EQ(JsonSummary(nlohmann::json::parse("[1, [2]]")), "an array of 2 elements");
  EXPECT_EQ(JsonSummary(nlohmann::json(std::vector<int>(100000, 7))), "an array of 100000 elements");
  const std::string long_string = JsonSummary(nlohmann::json(std::string(5000, 'a')));
  EXPECT_LT(long_string.size(), 80u);
  EXPECT_THAT(long_string, HasSubstr("(5000 bytes)"));
  // A cut never splits a UTF-8 sequence (the summary stays valid UTF-8 for logs and messages).
  const std::string cut =
      JsonSummary(nlohmann::json(std::string(39, 'a') + "\xC3\xA9" + std::string(9, 'b')));
  EXPECT_EQ(cut, absl::StrCat("\"", std::string(39, 'a'), "\"... (50 bytes)"));
  nlohmann::json deep = 1;
  for (int i = 0; i < 200; ++i) deep = nlohmann::json::array({std::move(deep)});
  EXPECT_EQ(JsonSummary(deep), "an array of 1 elements");
}

TEST(BoundedJsonTest, DeeplyNestedModelJsonFilesAreClearErrors) {
  // config.json: the whole file, and one field holding a deep value.
  for (const std::string& text :
       {Nested(kDeep), ConfigJson(absl::StrCat(R"(, "id2label": )", Nested(kDeep)))}) {
    const absl::Status status = ParseModelConfig(text, "dir/config.json").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("dir/config.json: invalid JSON: nested deeper than 64"));
  }
  // A field of the wrong type that is deep (but within the limit) is summarized, not dumped.
  const absl::Status wrong =
      ParseModelConfig(ConfigJson(R"(, "layer_norm_eps": )" + Nested(60)), "c.json").status();
  EXPECT_EQ(wrong.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(wrong.message()),
              HasSubstr("layer_norm_eps\" must be a number, got an array of 1"));

  // tokenizer.json and tokenizer_config.json.
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"}) {
    SCOPED_TRACE(file);
    const std::string dir = NewDir(absl::StrCat("deep_", file));
    WriteFile(dir + "/vocab.txt", "[UNK]\n[CLS]\n[SEP]\n");
    WriteFile(dir + "/" + file, Nested(kDeep, "{\"model\":", "}"));
    const absl::Status status = Tokenizer::FromModelDirectory(dir).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), HasSubstr(dir + "/" + file));
    EXPECT_THAT(std::string(status.message()), HasSubstr("nested deeper than 64 levels"));
  }

  // A safetensors header, as a whole and as one tensor's shape.
  const std::string data(64, '\0');
  const std::vector<std::pair<std::string, std::string>> headers = {
      {Nested(kDeep), "nested deeper than 64 levels"},
      {absl::StrCat(R"({"t":{"dtype":"F32","shape":)", Nested(kDeep), R"(,"data_offsets":[0,8]}})"),
       "nested deeper than 64 levels"},
      {absl::StrCat(R"({"t":{"dtype":"F32","shape":)", Nested(60), R"(,"data_offsets":[0,8]}})"),
       "shape entry an array of 1 elements is not a non-negative integer"},
      {absl::StrCat(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":)", Nested(60), "}}"),
       "\"data_offsets\" an array of 1 elements is not a pair"},
  };
  for (const auto& [header, says] : headers) {
    const std::string path = NewDir("deep_safetensors") + "/model.safetensors";
    WriteFile(path, RawSafetensors(header, data));
    const absl::Status status = SafetensorsReader::Open(path).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), HasSubstr(path));
    EXPECT_THAT(std::string(status.message()), HasSubstr(says));
  }
  // A very long shape is summarized by its length.
  std::string long_shape = "[1";
  for (int i = 0; i < 100000; ++i) long_shape += ",1";
  const std::string path = NewDir("long_shape") + "/model.safetensors";
  WriteFile(path, RawSafetensors(absl::StrCat(R"({"t":{"dtype":"F32","shape":)", long_shape,
                                              R"(],"data_offsets":[0,8]}})"),
                                 data));
  const absl::Status status = SafetensorsReader::Open(path).status();
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("shape an array of 100001 elements of F32 needs 4 bytes"));
  EXPECT_LT(status.message().size(), 400u);
}

// ---- Config bounds ----

TEST(UntrustedConfigTest, AttentionScratchIsBoundedNamingMaxPositions) {
  // Real models: BERT-base, a 64-head model at 8192 positions (the bound itself).
  EXPECT_TRUE(ParseModelConfig(ConfigJson(), "config.json").ok());
  const std::string big = R"({"model_type": "bert", "vocab_size": 1000, "hidden_size": 4096,
      "num_hidden_layers": 1, "num_attention_heads": 64, "intermediate_size": 16384,
      "max_position_embeddings": 8192})";
  EXPECT_TRUE(ParseModelConfig(big, "config.json").ok()) << ParseModelConfig(big, "config.json").status();

  const std::string huge = R"({"model_type": "bert", "vocab_size": 1000, "hidden_size": 64,
      "num_hidden_layers": 1, "num_attention_heads": 16, "intermediate_size": 64,
      "max_position_embeddings": 1048576})";
  const absl::Status status = ParseModelConfig(huge, "dir/config.json").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("dir/config.json: max_position_embeddings = 1048576"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("attention scores per sequence"));
}

TEST(UntrustedConfigTest, WeightMatrixProductsAreBounded) {
  const std::string wide = R"({"model_type": "bert", "vocab_size": 1000, "hidden_size": 1048576,
      "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 1048576,
      "max_position_embeddings": 8})";
  const absl::Status status = ParseModelConfig(wide, "config.json").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("hidden_size * 3 * hidden_size"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("over the limit"));
  const std::string ffn = R"({"model_type": "bert", "vocab_size": 10, "hidden_size": 8192,
      "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 1048576,
      "max_position_embeddings": 8})";
  EXPECT_THAT(std::string(ParseModelConfig(ffn, "config.json").status().message()),
              HasSubstr("hidden_size * intermediate_size"));
}

}  // namespace
}  // namespace qkv
