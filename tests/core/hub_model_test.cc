// Hub-shaped sentence-transformers directories (tests/data/hub/, written by tests/data/make_hub_models.py):
// each family's directory as the Hub ships it (full config.json, state dict with int64 buffers, F16 weights,
// an unused tensor of an unknown dtype, onnx/model.onnx, tokenizer.json, sentence-transformers files) loads
// from model.safetensors and from onnx/model.onnx; text is tokenized by the directory's tokenizer.json into
// the ids Hugging Face gives; the encoder matches the float64 goldens (hidden 1e-5, attention 1e-6, the
// sentence-transformers embedding 1e-5); sentence_bert_config.json's max_seq_length caps the token limit.
// Also sharded checkpoints, and the loader's errors for directories it cannot serve.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/encoder.h"
#include "core/model_loader.h"
#include "core/safetensors.h"
#include "core/sentence_transformers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/hub_fixtures.h"
#include "tests/core/safetensors_writer.h"

namespace qkv {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

const char* const kFamilies[] = {"xlm-roberta", "mpnet", "distilbert", "roberta", "bert-xlmr"};

using testing_util::HubDir;
using testing_util::ReadJson;

void CheckHubModel(const std::string& family, const std::string& path, const std::string& format) {
  SCOPED_TRACE(path);
  const json goldens = ReadJson(HubDir(family) + ".goldens.json");
  absl::StatusOr<LoadedModel> model = LoadModel(path);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->format, format);
  EXPECT_EQ(model->config.model_type, goldens.at("family").get<std::string>());
  EXPECT_EQ(model->config.max_tokens(), goldens.at("max_tokens").get<int64_t>());
  EXPECT_EQ(model->config.position_limit(), goldens.at("position_limit").get<int64_t>());
  const SentenceTransformersConfig& st = model->sentence_transformers;
  ASSERT_TRUE(st.pooling.has_value());
  EXPECT_EQ(*st.pooling, goldens.at("pooling") == "cls" ? Pooling::kCls : Pooling::kMean);
  EXPECT_EQ(st.normalize, goldens.at("normalize").get<bool>());

  const ModelConfig config = model->config;
  const int64_t d = config.hidden_size;
  const int64_t heads = config.num_attention_heads;
  std::vector<std::vector<int32_t>> ids;
  for (const json& c : goldens.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    absl::StatusOr<Encoding> encoding =
        model->tokenizer.Encode(c.at("text").get<std::string>(), static_cast<int>(config.max_tokens()));
    ASSERT_TRUE(encoding.ok()) << encoding.status();
    EXPECT_EQ(encoding->ids, c.at("input_ids").get<std::vector<int32_t>>());
    EXPECT_EQ(encoding->truncated, c.at("truncated").get<bool>());
    ids.push_back(encoding->ids);
  }
  absl::StatusOr<std::unique_ptr<Encoder>> encoder =
      Encoder::Create(config, std::move(model->weights), EncoderOptions());
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  OutputSpec spec;
  spec.pooling = *st.pooling;
  spec.normalize = st.normalize;
  for (int l = 0; l < config.num_hidden_layers; ++l) spec.attention_layers.push_back(l);
  std::vector<SequenceInput> inputs;
  for (const auto& seq : ids) inputs.push_back(SequenceInput{seq, {}, spec});
  std::unique_ptr<Workspace> ws = (*encoder)->NewWorkspace();
  std::vector<SequenceOutput> out;
  ASSERT_TRUE((*encoder)->Run(inputs, ws.get(), &out).ok());

  double hidden = 0, attention = 0, embedding = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const json& c = goldens.at("cases")[i];
    const int64_t t = static_cast<int64_t>(ids[i].size());
    const auto rows = c.at("last_hidden_state").get<std::vector<std::vector<double>>>();
    ASSERT_EQ(rows.size(), static_cast<size_t>(t));
    for (int64_t r = 0; r < t; ++r) {
      for (int64_t j = 0; j < d; ++j)
        hidden = std::max(hidden, std::abs(out[i].last_hidden[r * d + j] - rows[r][j]));
    }
    for (int l = 0; l < config.num_hidden_layers; ++l) {
      const auto want = c.at("attentions")[l].get<std::vector<std::vector<std::vector<double>>>>();
      const std::vector<float>& got = out[i].attentions[l].data;
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t q = 0; q < t; ++q) {
          for (int64_t k = 0; k < t; ++k) {
            attention = std::max(attention, std::abs(got[(h * t + q) * t + k] - want[h][q][k]));
          }
        }
      }
    }
    const auto want = c.at("embedding").get<std::vector<double>>();
    ASSERT_EQ(out[i].pooled.size(), want.size());
    for (size_t j = 0; j < want.size(); ++j)
      embedding = std::max(embedding, std::abs(out[i].pooled[j] - want[j]));
  }
  EXPECT_LT(hidden, 1e-5) << "last hidden state";
  EXPECT_LT(attention, 1e-6) << "attention probabilities";
  EXPECT_LT(embedding, 1e-5) << "sentence embedding";
  std::cout << path << ": max abs diff vs float64: hidden " << hidden << ", attention " << attention
            << ", embedding " << embedding << "\n";
}

TEST(HubModelTest, SafetensorsMatchGoldensFromText) {
  for (const char* family : kFamilies) CheckHubModel(family, HubDir(family), "safetensors");
}

TEST(HubModelTest, OnnxSubfolderMatchesGoldensFromText) {
  for (const char* family : kFamilies) CheckHubModel(family, HubDir(family) + "/onnx/model.onnx", "onnx");
}

// MPNet's tokenizer.json has <mask> with lstrip (as all-mpnet-base-v2's): typed in the text it is one token
// whose offsets take the white space before it, as Hugging Face tokenizers give them.
TEST(HubModelTest, WordPieceAddedTokenWithLstrip) {
  absl::StatusOr<LoadedModel> model = LoadModel(HubDir("mpnet"));
  ASSERT_TRUE(model.ok()) << model.status();
  const Tokenizer& tokenizer = model->tokenizer;
  absl::StatusOr<Encoding> encoding = tokenizer.Encode("the  <mask> dog");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_EQ(encoding->ids, (std::vector<int32_t>{tokenizer.TokenToId("<s>"), tokenizer.TokenToId("the"),
                                                 tokenizer.TokenToId("<mask>"), tokenizer.TokenToId("dog"),
                                                 tokenizer.TokenToId("</s>")}));
  ASSERT_EQ(encoding->offsets.size(), 5u);
  EXPECT_EQ(encoding->offsets[2], std::make_pair(3, 11));  // "  <mask>"
  EXPECT_EQ(encoding->offsets[3], std::make_pair(12, 15));
}

// A copy of a Hub directory (MPNet's unless named), for the cases below. Returns its path.
std::string CopyHubDir(const std::string& name, const std::string& family = "mpnet") {
  const std::string dir = ::testing::TempDir() + "hub_model_test_" + name;
  fs::remove_all(dir);
  fs::copy(HubDir(family), dir, fs::copy_options::recursive);
  return dir;
}

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(HubModelTest, MaxSeqLengthCapsTheTokenLimit) {
  const std::string dir = CopyHubDir("max_seq");
  struct Case {
    const char* config;
    int64_t max_tokens;
  } cases[] = {
      {R"({"max_seq_length": 24, "do_lower_case": false})", 24},  // below the positions' 162
      {R"({"max_seq_length": 1000})", 162},                       // above them: the positions limit
      {R"({"max_seq_length": null})", 162},
      {R"({"do_lower_case": false})", 162},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.config);
    WriteText(dir + "/sentence_bert_config.json", c.config);
    absl::StatusOr<LoadedModel> model = LoadModel(dir);
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_EQ(model->config.max_tokens(), c.max_tokens);
    EXPECT_EQ(model->config.position_limit(), 162);
  }
  // The legacy name sentence-transformers and TEI also read.
  fs::remove(dir + "/sentence_bert_config.json");
  WriteText(dir + "/sentence_roberta_config.json", R"({"max_seq_length": 7})");
  absl::StatusOr<LoadedModel> model = LoadModel(dir);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->config.max_tokens(), 7);
  EXPECT_EQ(model->config.max_seq_length_file, "sentence_roberta_config.json");  // what messages name
  // Refused: not a positive integer, not an object.
  for (const char* bad : {R"({"max_seq_length": 0})", R"({"max_seq_length": -3})",
                          R"({"max_seq_length": 2.5})", R"({"max_seq_length": "512"})", "[512]"}) {
    SCOPED_TRACE(bad);
    WriteText(dir + "/sentence_roberta_config.json", bad);
    absl::StatusOr<LoadedModel> refused = LoadModel(dir);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(refused.status().message()), HasSubstr("sentence_roberta_config.json"));
  }
}

// sentence-transformers lower-cases texts first when do_lower_case is true: the same ids where the tokenizer
// lower-cases anyway (MPNet's uncased WordPiece), refused where it does not (XLM-R's Unigram).
TEST(HubModelTest, DoLowerCaseOnlyWhereTheTokenizerLowerCases) {
  const std::string uncased = CopyHubDir("lower_uncased");
  WriteText(uncased + "/sentence_bert_config.json", R"({"max_seq_length": 24, "do_lower_case": true})");
  absl::StatusOr<LoadedModel> model = LoadModel(uncased);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE(model->sentence_transformers.do_lower_case);

  const std::string cased = CopyHubDir("lower_cased", "xlm-roberta");
  WriteText(cased + "/sentence_bert_config.json", R"({"max_seq_length": 48, "do_lower_case": true})");
  model = LoadModel(cased);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("sentence_bert_config.json: do_lower_case"));

  WriteText(cased + "/sentence_bert_config.json", R"({"do_lower_case": "yes"})");
  model = LoadModel(cased);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("\"do_lower_case\" must be a boolean"));
}

TEST(HubModelTest, DirectoriesWithoutUsableWeightsSayWhy) {
  const std::string dir = CopyHubDir("weights");
  fs::remove(dir + "/model.safetensors");
  {
    // Only onnx/model.onnx left: served from there.
    absl::StatusOr<LoadedModel> model = LoadModel(dir);
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_EQ(model->format, "onnx");
  }
  fs::remove_all(dir + "/onnx");
  WriteText(dir + "/pytorch_model.bin", "not a pickle");
  absl::StatusOr<LoadedModel> model = LoadModel(dir);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("pytorch_model.bin"));
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("safe_serialization=True"));

  const std::string other = CopyHubDir("model_type");
  json config = ReadJson(other + "/config.json");
  config["model_type"] = "deberta-v2";
  WriteText(other + "/config.json", config.dump());
  model = LoadModel(other);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("unsupported model_type \"deberta-v2\""));
}

// A Hub repository cloned without git-lfs holds pointer files in place of its large files: the error says
// so, naming the file, for the weights (safetensors, ONNX) and tokenizer.json alike.
TEST(HubModelTest, GitLfsPointersSayToPullThem) {
  const std::string pointer =
      "version https://git-lfs.github.com/spec/v1\n"
      "oid sha256:4a1b8f7e2c9d3e5f60718293a4b5c6d7e8f90112233445566778899aabbccddee\nsize 90868376\n";
  for (const char* file : {"model.safetensors", "onnx/model.onnx", "tokenizer.json"}) {
    SCOPED_TRACE(file);
    const std::string dir = CopyHubDir("lfs");
    if (std::string(file) == "onnx/model.onnx") fs::remove(dir + "/model.safetensors");
    WriteText(dir + "/" + file, pointer);
    const absl::Status status = LoadModel(dir).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(std::string(file) + ": a Git LFS pointer"));
    EXPECT_THAT(std::string(status.message()), HasSubstr("git lfs pull"));
  }
}

// The first golden case's final hidden states from the model at `path`.
std::vector<float> FirstCaseHidden(const std::string& path) {
  absl::StatusOr<LoadedModel> model = LoadModel(path);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return {};
  absl::StatusOr<std::unique_ptr<Encoder>> encoder =
      Encoder::Create(model->config, std::move(model->weights), EncoderOptions());
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  if (!encoder.ok()) return {};
  const std::vector<int32_t> ids =
      ReadJson(HubDir("mpnet") + ".goldens.json").at("cases")[0].at("input_ids").get<std::vector<int32_t>>();
  std::unique_ptr<Workspace> ws = (*encoder)->NewWorkspace();
  std::vector<SequenceOutput> out;
  EXPECT_TRUE((*encoder)->Run({SequenceInput{ids, {}, OutputSpec()}}, ws.get(), &out).ok());
  return out.empty() ? std::vector<float>() : out[0].last_hidden;
}

// model.safetensors split into two shards with the index save_pretrained writes loads the same weights;
// indexes that point outside the directory or at the wrong shard are refused, naming the index.
TEST(HubModelTest, ShardedSafetensorsLoadLikeOneFile) {
  const std::string dir = CopyHubDir("sharded");
  std::ifstream in(dir + "/model.safetensors", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t header_length = 0;
  for (int i = 0; i < 8; ++i) header_length |= uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  absl::StatusOr<std::unique_ptr<SafetensorsReader>> reader =
      SafetensorsReader::Open(dir + "/model.safetensors");
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<testing_util::RawTensor> shards[2];
  json weight_map = json::object();
  int i = 0;
  for (const auto& [name, entry] : (*reader)->entries()) {
    shards[i % 2].push_back({name, entry.dtype, entry.shape,
                             bytes.substr(8 + header_length + entry.begin, entry.end - entry.begin)});
    weight_map[name] = absl::StrCat("model-0000", i % 2 + 1, "-of-00002.safetensors");
    ++i;
  }
  reader->reset();
  for (int k = 0; k < 2; ++k) {
    WriteText(absl::StrCat(dir, "/model-0000", k + 1, "-of-00002.safetensors"),
              testing_util::SafetensorsBytes(shards[k]));
  }
  fs::remove(dir + "/model.safetensors");
  const std::string index = dir + "/model.safetensors.index.json";
  WriteText(index, json{{"metadata", {{"total_size", bytes.size()}}}, {"weight_map", weight_map}}.dump());
  absl::StatusOr<LoadedModel> model = LoadModel(dir);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->format, "safetensors");
  EXPECT_EQ(model->weights_path, index);
  const std::vector<float> sharded = FirstCaseHidden(dir);
  EXPECT_FALSE(sharded.empty());
  EXPECT_EQ(sharded, FirstCaseHidden(HubDir("mpnet")));

  const std::string moved = weight_map.begin().key();
  for (const auto& [file, message] : std::vector<std::pair<std::string, std::string>>{
           {"../model-00001-of-00002.safetensors", "is not a .safetensors file name"},
           {"model-00001-of-00002.bin", "is not a .safetensors file name"},
           // open() would stop at the NUL and read the shard itself.
           {weight_map[moved].get<std::string>() + std::string("\0.safetensors", 13),
            "is not a .safetensors file name"},
           {weight_map[moved] == "model-00001-of-00002.safetensors" ? "model-00002-of-00002.safetensors"
                                                                    : "model-00001-of-00002.safetensors",
            "which lacks it"}}) {
    SCOPED_TRACE(file);
    json bad = weight_map;
    bad[moved] = file;
    WriteText(index, json{{"weight_map", bad}}.dump());
    absl::StatusOr<LoadedModel> refused = LoadModel(dir);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(refused.status().message()), HasSubstr("model.safetensors.index.json"));
    EXPECT_THAT(std::string(refused.status().message()), HasSubstr(message));
  }
  // A 1 MiB tensor name or file name is not copied into the message.
  for (const bool long_key : {true, false}) {
    SCOPED_TRACE(long_key ? "long tensor name" : "long file name");
    json bad = weight_map;
    if (long_key) {
      bad[std::string(1 << 20, 't')] = "model-00001-of-00002.safetensors";
    } else {
      bad[moved] = std::string(1 << 20, 'f') + ".safetensors";
    }
    WriteText(index, json{{"weight_map", bad}}.dump());
    const absl::Status refused = LoadModel(dir).status();
    EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused.message().substr(0, 300);
    EXPECT_LT(refused.message().size(), 1000u);
  }
  WriteText(index, R"({"weight_map": []})");
  EXPECT_EQ(LoadModel(dir).status().code(), absl::StatusCode::kInvalidArgument);

  // Each shard's header within its own limit, together over it (space padding, as the format allows).
  WriteText(index, json{{"weight_map", weight_map}}.dump());
  const uint64_t padded = SafetensorsReader::kMaxHeaderBytes / 2 + 8;
  for (int k = 0; k < 2; ++k) {
    const std::string text = testing_util::SafetensorsBytes(shards[k]);
    uint64_t length = 0;
    for (int b = 0; b < 8; ++b) length |= uint64_t{static_cast<unsigned char>(text[b])} << (8 * b);
    std::string header = text.substr(8, length);
    const std::string data = text.substr(8 + length);
    header.append(padded - header.size(), ' ');
    WriteText(absl::StrCat(dir, "/model-0000", k + 1, "-of-00002.safetensors"),
              testing_util::RawSafetensors(header, data));
  }
  const absl::Status too_big = LoadModel(dir).status();
  EXPECT_EQ(too_big.code(), absl::StatusCode::kInvalidArgument) << too_big;
  EXPECT_THAT(std::string(too_big.message()), HasSubstr("headers together exceed"));
}

}  // namespace
}  // namespace qkv
