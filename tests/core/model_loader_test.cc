// LoadModel and the safetensors / ONNX weight readers: the bundled fixtures, generated checkpoints in every
// supported dtype and naming, and a table of corrupt or unsupported model directories.
#include "core/model_loader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/encoder.h"
#include "core/onnx_model.h"
#include "core/safetensors_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/onnx_writer.h"
#include "tests/core/safetensors_writer.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;
using testing_util::EncodeFloats;
using testing_util::OnnxInitializer;
using testing_util::OnnxModelBytes;
using testing_util::OnnxNode;
using testing_util::OnnxStorage;
using testing_util::RawSafetensors;
using testing_util::RawTensor;
using testing_util::ReadFile;
using testing_util::SafetensorsBytes;
using testing_util::WriteFile;

const std::string kSourceDir = QKV_SOURCE_DIR;
const std::string kBertTinyDir = kSourceDir + "/models/bert-tiny-random";
const std::string kTribuoDir = kSourceDir + "/tests/data/tribuo-tinybert-random";

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// A fresh empty directory under the test temp dir.
std::string NewDir(const std::string& name) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "model_loader_test_", name, "_", ::getpid());
  std::system(absl::StrCat("rm -rf '", dir, "'").c_str());
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

void ExpectSameTensor(const Tensor& a, const Tensor& b, const std::string& name) {
  EXPECT_EQ(a.shape, b.shape) << name;
  EXPECT_TRUE(a.data == b.data) << name << " differs";  // bit-identical (no NaNs in these weights)
}

void ExpectSameWeights(const BertWeights& a, const BertWeights& b) {
  ExpectSameTensor(a.word_embeddings, b.word_embeddings, "word_embeddings");
  ExpectSameTensor(a.position_embeddings, b.position_embeddings, "position_embeddings");
  ExpectSameTensor(a.token_type_embeddings, b.token_type_embeddings, "token_type_embeddings");
  ExpectSameTensor(a.embedding_norm.gamma, b.embedding_norm.gamma, "embedding_norm.gamma");
  ExpectSameTensor(a.embedding_norm.beta, b.embedding_norm.beta, "embedding_norm.beta");
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const auto linears = [](const EncoderLayerWeights& l) {
      return std::vector<const LinearWeights*>{&l.query,        &l.key,   &l.value, &l.attention_output,
                                               &l.intermediate, &l.output};
    };
    const auto la = linears(a.layers[i]);
    const auto lb = linears(b.layers[i]);
    for (size_t j = 0; j < la.size(); ++j) {
      ExpectSameTensor(la[j]->weight, lb[j]->weight, absl::StrCat("layer ", i, " linear ", j, " weight"));
      ExpectSameTensor(la[j]->bias, lb[j]->bias, absl::StrCat("layer ", i, " linear ", j, " bias"));
    }
    ExpectSameTensor(a.layers[i].attention_norm.gamma, b.layers[i].attention_norm.gamma,
                     "attention_norm.gamma");
    ExpectSameTensor(a.layers[i].attention_norm.beta, b.layers[i].attention_norm.beta, "attention_norm.beta");
    ExpectSameTensor(a.layers[i].output_norm.gamma, b.layers[i].output_norm.gamma, "output_norm.gamma");
    ExpectSameTensor(a.layers[i].output_norm.beta, b.layers[i].output_norm.beta, "output_norm.beta");
  }
  ASSERT_EQ(a.pooler.has_value(), b.pooler.has_value());
  if (a.pooler.has_value()) {
    ExpectSameTensor(a.pooler->weight, b.pooler->weight, "pooler.weight");
    ExpectSameTensor(a.pooler->bias, b.pooler->bias, "pooler.bias");
  }
}

// ---- A small random BERT written as a Hugging Face model directory ----

struct HfTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

struct TinyBert {
  nlohmann::json config;
  std::map<std::string, HfTensor> tensors;  // HF BertModel names and layout ([out, in] Linear weights)
};

// Values k/64 with |k| <= 128: exact in F32, F16 and BF16, so every dtype must round-trip bit for bit.
TinyBert MakeTinyBert(bool with_pooler, uint32_t seed) {
  const int64_t v = 40, d = 8, h = 2, f = 12, p = 16, t = 2, layers = 2;
  TinyBert bert;
  bert.config = {{"model_type", "bert"},         {"vocab_size", v},          {"hidden_size", d},
                 {"num_hidden_layers", layers},  {"num_attention_heads", h}, {"intermediate_size", f},
                 {"max_position_embeddings", p}, {"type_vocab_size", t},     {"hidden_act", "gelu"},
                 {"layer_norm_eps", 1e-12},      {"pad_token_id", 0}};
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> k(-128, 128);
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    HfTensor tensor{shape, {}};
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    for (int64_t i = 0; i < n; ++i) tensor.values.push_back(static_cast<float>(k(rng)) / 64.0f);
    bert.tensors[name] = tensor;
  };
  auto linear = [&](const std::string& prefix, int64_t in, int64_t out) {
    add(prefix + ".weight", {out, in});
    add(prefix + ".bias", {out});
  };
  auto norm = [&](const std::string& prefix) {
    add(prefix + ".weight", {d});
    add(prefix + ".bias", {d});
  };
  add("embeddings.word_embeddings.weight", {v, d});
  add("embeddings.position_embeddings.weight", {p, d});
  add("embeddings.token_type_embeddings.weight", {t, d});
  norm("embeddings.LayerNorm");
  for (int i = 0; i < layers; ++i) {
    const std::string l = absl::StrCat("encoder.layer.", i, ".");
    linear(l + "attention.self.query", d, d);
    linear(l + "attention.self.key", d, d);
    linear(l + "attention.self.value", d, d);
    linear(l + "attention.output.dense", d, d);
    norm(l + "attention.output.LayerNorm");
    linear(l + "intermediate.dense", d, f);
    linear(l + "output.dense", f, d);
    norm(l + "output.LayerNorm");
  }
  if (with_pooler) linear("pooler.dense", d, d);
  return bert;
}

std::vector<RawTensor> ToRawTensors(const TinyBert& bert, const std::string& dtype,
                                    const std::string& prefix) {
  std::vector<RawTensor> raw;
  for (const auto& [name, tensor] : bert.tensors) {
    raw.push_back({prefix + name, dtype, tensor.shape, EncodeFloats(tensor.values, dtype)});
  }
  return raw;
}

// The BertWeights a correct loader must produce: HF [out, in] Linear weights transposed to [in, out].
Tensor Expected(const TinyBert& bert, const std::string& name, bool transpose = false) {
  const HfTensor& hf = bert.tensors.at(name);
  Tensor t{hf.shape, hf.values};
  if (!transpose) return t;
  const int64_t rows = hf.shape[0], cols = hf.shape[1];
  t.shape = {cols, rows};
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) t.data[c * rows + r] = hf.values[r * cols + c];
  }
  return t;
}

BertWeights ExpectedWeights(const TinyBert& bert) {
  auto linear = [&](const std::string& p) {
    return LinearWeights{Expected(bert, p + ".weight", true), Expected(bert, p + ".bias")};
  };
  auto norm = [&](const std::string& p) {
    return LayerNormWeights{Expected(bert, p + ".weight"), Expected(bert, p + ".bias")};
  };
  BertWeights w;
  w.word_embeddings = Expected(bert, "embeddings.word_embeddings.weight");
  w.position_embeddings = Expected(bert, "embeddings.position_embeddings.weight");
  w.token_type_embeddings = Expected(bert, "embeddings.token_type_embeddings.weight");
  w.embedding_norm = norm("embeddings.LayerNorm");
  for (int i = 0; i < bert.config["num_hidden_layers"].get<int>(); ++i) {
    const std::string l = absl::StrCat("encoder.layer.", i, ".");
    w.layers.push_back({linear(l + "attention.self.query"), linear(l + "attention.self.key"),
                        linear(l + "attention.self.value"), linear(l + "attention.output.dense"),
                        norm(l + "attention.output.LayerNorm"), linear(l + "intermediate.dense"),
                        linear(l + "output.dense"), norm(l + "output.LayerNorm")});
  }
  if (bert.tensors.count("pooler.dense.weight")) w.pooler = linear("pooler.dense");
  return w;
}

const char kVocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nquick\nbrown\nfox\n##es\n";

// Writes config.json, vocab.txt and model.safetensors (from `tensors`) into `dir`.
void WriteModelDir(const std::string& dir, const nlohmann::json& config,
                   const std::vector<RawTensor>& tensors) {
  WriteFile(dir + "/config.json", config.dump(2));
  WriteFile(dir + "/vocab.txt", kVocab);
  WriteFile(dir + "/model.safetensors", SafetensorsBytes(tensors));
}

// ---- The bundled fixtures ----

TEST(ModelLoaderTest, BertTinySafetensorsAndOnnxGiveBitIdenticalWeights) {
  absl::StatusOr<LoadedModel> st = LoadModel(kBertTinyDir);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->format, "safetensors");
  EXPECT_EQ(st->weights_path, kBertTinyDir + "/model.safetensors");
  EXPECT_EQ(st->config.hidden_size, 128);
  EXPECT_EQ(st->config.num_hidden_layers, 2);
  EXPECT_EQ(st->tokenizer.vocab_size(), 30522);
  ASSERT_TRUE(st->weights.pooler.has_value());

  absl::StatusOr<LoadedModel> onnx = LoadModel(kBertTinyDir + "/model.onnx");
  ASSERT_TRUE(onnx.ok()) << onnx.status();
  EXPECT_EQ(onnx->format, "onnx");
  ExpectSameWeights(st->weights, onnx->weights);

  // A direct .safetensors path loads the same thing as the directory.
  absl::StatusOr<LoadedModel> file = LoadModel(kBertTinyDir + "/model.safetensors");
  ASSERT_TRUE(file.ok()) << file.status();
  ExpectSameWeights(st->weights, file->weights);
}

// The Hub layout: config.json and the vocabulary at the root, the export in onnx/model.onnx.
TEST(ModelLoaderTest, OnnxFileInASubfolderUsesTheParentsConfigAndVocab) {
  const std::string dir = NewDir("hub_layout");
  ::mkdir((dir + "/onnx").c_str(), 0755);
  for (const char* file : {"config.json", "vocab.txt", "tokenizer_config.json"}) {
    ASSERT_EQ(::symlink((kBertTinyDir + "/" + file).c_str(), (dir + "/" + file).c_str()), 0) << file;
  }
  ASSERT_EQ(::symlink((kBertTinyDir + "/model.onnx").c_str(), (dir + "/onnx/model.onnx").c_str()), 0);
  absl::StatusOr<LoadedModel> model = LoadModel(dir + "/onnx/model.onnx");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->format, "onnx");
  EXPECT_EQ(model->directory, dir);
  EXPECT_EQ(model->config.hidden_size, 128);

  // Without a config.json in either place, the error names the file's own directory.
  const std::string lone = NewDir("hub_layout_no_config");
  ::mkdir((lone + "/onnx").c_str(), 0755);
  ASSERT_EQ(::symlink((kBertTinyDir + "/model.onnx").c_str(), (lone + "/onnx/model.onnx").c_str()), 0);
  model = LoadModel(lone + "/onnx/model.onnx");
  EXPECT_EQ(model.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(model.status().message()), HasSubstr(lone + "/onnx/config.json"));
}

TEST(ModelLoaderTest, TribuoOnnxLoadsWithGraphNamedWeights) {
  // The directory has no model.safetensors / model.onnx: its only .onnx file (tinybert.onnx) is picked.
  absl::StatusOr<LoadedModel> model = LoadModel(kTribuoDir);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->format, "onnx");
  EXPECT_EQ(model->weights_path, kTribuoDir + "/tinybert.onnx");
  const BertWeights& w = model->weights;
  EXPECT_EQ(w.word_embeddings.shape, std::vector<int64_t>({1656, 50}));
  EXPECT_EQ(w.position_embeddings.shape, std::vector<int64_t>({100, 50}));
  ASSERT_EQ(w.layers.size(), 1u);
  EXPECT_EQ(w.layers[0].intermediate.weight.shape, std::vector<int64_t>({50, 200}));
  EXPECT_EQ(w.layers[0].output.weight.shape, std::vector<int64_t>({200, 50}));
  ASSERT_TRUE(w.pooler.has_value());

  // Spot values read from tinybert.onnx with Python (protoc-generated onnx_pb2 + numpy.frombuffer on
  // raw_data). Initializers 182/183/186/192/193/194 are the [in, out] MatMul weights (tests/data/
  // tribuo-tinybert-random/SOURCE.md), so [r, c] there is weight.data[r * out + c] here.
  const EncoderLayerWeights& l = w.layers[0];
  EXPECT_EQ(l.query.weight.data[0 * 50 + 1], -0.005625612568110228f);            // 182[0, 1]
  EXPECT_EQ(l.query.weight.data[3 * 50 + 7], -0.012306427583098412f);            // 182[3, 7]
  EXPECT_EQ(l.key.weight.data[49 * 50 + 0], -0.005699329078197479f);             // 183[49, 0]
  EXPECT_EQ(l.value.weight.data[10 * 50 + 20], 0.00283784419298172f);            // 186[10, 20]
  EXPECT_EQ(l.attention_output.weight.data[5 * 50 + 5], 0.018657278269529343f);  // 192[5, 5]
  EXPECT_EQ(l.intermediate.weight.data[2 * 200 + 150], -0.020278898999094963f);  // 193[2, 150]
  EXPECT_EQ(l.output.weight.data[199 * 50 + 49], -0.005819598212838173f);        // 194[199, 49]
  EXPECT_EQ(w.word_embeddings.data[3 * 50 + 0], 0.0012434616219252348f);         // word_embeddings[3, 0]
  EXPECT_EQ(w.word_embeddings.data[1655 * 50 + 49], 0.03770510479807854f);       // word_embeddings[1655, 49]
  EXPECT_EQ(w.embedding_norm.gamma.data[4], 1.0f);                               // LayerNorm.weight[4]
  // pooler.dense.weight is HF [out, in] (Gemm transB=1): [0, 1] is out 0, in 1 -> [in, out] index 1 * 50 + 0.
  EXPECT_EQ(w.pooler->weight.data[1 * 50 + 0], 0.007585236802697182f);
}

TEST(ModelLoaderTest, MiniLmOnnxLoads) {
  const std::string dir = std::string(QKV_SHARED_DIR) + "/models/minilm-l6-random";
  if (!Exists(dir + "/model.onnx")) GTEST_SKIP() << "no shared fixtures at " << dir;
  absl::StatusOr<LoadedModel> model = LoadModel(dir);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->format, "onnx");
  EXPECT_EQ(model->weights.layers.size(), 6u);
  EXPECT_EQ(model->weights.layers[5].intermediate.weight.shape, std::vector<int64_t>({384, 1536}));
  EXPECT_TRUE(model->weights.pooler.has_value());
  EXPECT_TRUE(model->weights.Validate(model->config).ok());
}

// ---- Generated checkpoints ----

struct DtypeCase {
  std::string dtype;
  std::string prefix;
  bool with_pooler;
};

class GeneratedCheckpointTest : public ::testing::TestWithParam<DtypeCase> {};

TEST_P(GeneratedCheckpointTest, RoundTripsExactly) {
  const DtypeCase& c = GetParam();
  TinyBert bert = MakeTinyBert(c.with_pooler, /*seed=*/7);
  std::vector<RawTensor> raw = ToRawTensors(bert, c.dtype, c.prefix);
  // What BertForMaskedLM checkpoints carry besides the encoder: ignored.
  raw.push_back({"cls.predictions.bias", c.dtype, {40}, EncodeFloats(std::vector<float>(40, 0.5f), c.dtype)});
  raw.push_back({c.prefix + "embeddings.position_ids", "I64", {1, 16}, std::string(16 * 8, '\0')});
  const std::string dir = NewDir(absl::StrCat("roundtrip_", c.dtype, c.with_pooler ? "_pooler" : ""));
  WriteModelDir(dir, bert.config, raw);

  absl::StatusOr<LoadedModel> model = LoadModel(dir);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->format, "safetensors");
  EXPECT_EQ(model->weights.pooler.has_value(), c.with_pooler);
  ExpectSameWeights(model->weights, ExpectedWeights(bert));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, GeneratedCheckpointTest,
                         ::testing::Values(DtypeCase{"F32", "", true}, DtypeCase{"F32", "bert.", false},
                                           DtypeCase{"F16", "bert.", false}, DtypeCase{"F16", "", true},
                                           DtypeCase{"BF16", "", false}, DtypeCase{"BF16", "bert.", true}),
                         [](const ::testing::TestParamInfo<DtypeCase>& info) {
                           return absl::StrCat(info.param.dtype, info.param.prefix.empty() ? "" : "_prefixed",
                                               info.param.with_pooler ? "_pooler" : "_no_pooler");
                         });

// ---- Generated ONNX graphs ----

// `bert` as a torch.onnx.export-style graph: "bert."-prefixed names, unnamed [in, out] MatMul weights named
// only through the bias Add that follows them (bias on either side), Gemm weights with transB 0 and 1, and
// every initializer storage the reader supports (raw / typed fields, FLOAT / FLOAT16).
struct OnnxGraph {
  std::vector<OnnxNode> nodes;
  std::vector<OnnxInitializer> inits;
};

OnnxGraph MakeOnnxGraph(const TinyBert& bert) {
  OnnxGraph g;
  int counter = 0;
  auto init = [&](const std::string& name, const HfTensor& t, int type, OnnxStorage storage) {
    OnnxInitializer i{name, t.shape, type, storage, "", {}};
    if (storage == OnnxStorage::kRaw) {
      i.raw = EncodeFloats(t.values, type == testing_util::kOnnxFloat ? "F32" : "F16");
    } else {
      for (float v : t.values) {
        i.typed.push_back(type == testing_util::kOnnxFloat ? testing_util::FloatBits(v)
                                                           : testing_util::FloatToHalfExact(v));
      }
    }
    g.inits.push_back(i);
  };
  auto named = [&](const std::string& name, int type, OnnxStorage storage) {
    init("bert." + name, bert.tensors.at(name), type, storage);
  };
  auto transposed = [&](const std::string& name) {
    const Tensor t = Expected(bert, name, /*transpose=*/true);
    return HfTensor{t.shape, t.data};
  };
  named("embeddings.word_embeddings.weight", testing_util::kOnnxFloat, OnnxStorage::kTyped);
  named("embeddings.position_embeddings.weight", testing_util::kOnnxFloat, OnnxStorage::kRaw);
  named("embeddings.token_type_embeddings.weight", testing_util::kOnnxFloat16, OnnxStorage::kRaw);
  named("embeddings.LayerNorm.weight", testing_util::kOnnxFloat16, OnnxStorage::kTyped);
  named("embeddings.LayerNorm.bias", testing_util::kOnnxFloat, OnnxStorage::kRaw);
  std::string x = "embeddings_out";
  for (int l = 0; l < bert.config["num_hidden_layers"].get<int>(); ++l) {
    const std::string p = absl::StrCat("encoder.layer.", l, ".");
    int k = 0;
    for (const char* linear :
         {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
      const std::string w = absl::StrCat("onnx::MatMul_", ++counter), y = w + "_out";
      init(w, transposed(p + linear + ".weight"), testing_util::kOnnxFloat16, OnnxStorage::kRaw);
      named(p + linear + ".bias", testing_util::kOnnxFloat, OnnxStorage::kRaw);
      g.nodes.push_back({"MatMul", {x, w}, {y}, {}});
      const std::string b = "bert." + p + linear + ".bias";
      g.nodes.push_back({"Add",
                         (k++ % 2 == 0) ? std::vector<std::string>{b, y} : std::vector<std::string>{y, b},
                         {y + "_biased"},
                         {}});
    }
    const std::string w1 = absl::StrCat(++counter), w2 = absl::StrCat(++counter);
    init(w1, transposed(p + "intermediate.dense.weight"), testing_util::kOnnxFloat, OnnxStorage::kRaw);
    init(w2, bert.tensors.at(p + "output.dense.weight"), testing_util::kOnnxFloat16, OnnxStorage::kTyped);
    named(p + "intermediate.dense.bias", testing_util::kOnnxFloat, OnnxStorage::kTyped);
    named(p + "output.dense.bias", testing_util::kOnnxFloat, OnnxStorage::kRaw);
    g.nodes.push_back(
        {"Gemm", {x, w1, "bert." + p + "intermediate.dense.bias"}, {w1 + "_out"}, {{"transB", 0}}});
    g.nodes.push_back(
        {"Gemm", {w1 + "_out", w2, "bert." + p + "output.dense.bias"}, {w2 + "_out"}, {{"transB", 1}}});
    for (const char* norm : {"attention.output.LayerNorm", "output.LayerNorm"}) {
      named(p + norm + ".weight", testing_util::kOnnxFloat, OnnxStorage::kRaw);
      named(p + norm + ".bias", testing_util::kOnnxFloat, OnnxStorage::kRaw);
    }
    x = w2 + "_out";
  }
  named("pooler.dense.weight", testing_util::kOnnxFloat, OnnxStorage::kRaw);
  named("pooler.dense.bias", testing_util::kOnnxFloat, OnnxStorage::kRaw);
  g.nodes.push_back(
      {"Gemm", {x, "bert.pooler.dense.weight", "bert.pooler.dense.bias"}, {"pooled"}, {{"transB", 1}}});
  return g;
}

TEST(OnnxModelTest, GeneratedGraphRoundTripsExactly) {
  const TinyBert bert = MakeTinyBert(/*with_pooler=*/true, /*seed=*/11);
  const OnnxGraph g = MakeOnnxGraph(bert);
  const std::string path = NewDir("onnx_roundtrip") + "/model.onnx";
  WriteFile(path, OnnxModelBytes(g.nodes, g.inits));
  absl::StatusOr<ModelConfig> config = ParseModelConfig(bert.config.dump(), "config.json");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<BertWeights> weights = ReadOnnxBertWeights(path, *config);
  ASSERT_TRUE(weights.ok()) << weights.status();
  ExpectSameWeights(*weights, ExpectedWeights(bert));
}

TEST(OnnxModelTest, ExternalDataAndBadInitializersAreClearErrors) {
  const TinyBert bert = MakeTinyBert(/*with_pooler=*/true, /*seed=*/11);
  absl::StatusOr<ModelConfig> config = ParseModelConfig(bert.config.dump(), "config.json");
  ASSERT_TRUE(config.ok()) << config.status();
  struct Case {
    const char* name;
    std::function<void(OnnxGraph*)> edit;
    absl::StatusCode code;
    std::vector<std::string> message;
  };
  const std::vector<Case> cases = {
      {"external_data",
       [](OnnxGraph* g) { g->inits[1].storage = OnnxStorage::kExternal; },
       absl::StatusCode::kUnimplemented,
       {"embeddings.position_embeddings.weight", "external data"}},
      {"raw_data_too_short",
       [](OnnxGraph* g) { g->inits[1].raw.resize(g->inits[1].raw.size() - 4); },
       absl::StatusCode::kInvalidArgument,
       {"embeddings.position_embeddings.weight", "raw_data has"}},
      {"float_data_too_short",
       [](OnnxGraph* g) { g->inits[0].typed.pop_back(); },
       absl::StatusCode::kInvalidArgument,
       {"embeddings.word_embeddings.weight", "float_data has"}},
      {"unsupported_data_type",
       [](OnnxGraph* g) { g->inits[0].data_type = 7; },  // INT64
       absl::StatusCode::kUnimplemented,
       {"embeddings.word_embeddings.weight", "INT64"}},
      {"negative_dim",
       [](OnnxGraph* g) { g->inits[1].dims[0] = -1; },
       absl::StatusCode::kInvalidArgument,
       {"embeddings.position_embeddings.weight", "negative dimension"}},
      // Found by onnx_fuzzer: 2^40 elements claimed by a few bytes were allocated (4 TiB: bad_alloc, abort)
      // before the stored data was compared with the dims.
      {"huge_dims_without_data",
       [](OnnxGraph* g) { g->inits[1].dims = {int64_t{1} << 20, int64_t{1} << 20}; },
       absl::StatusCode::kInvalidArgument,
       {"embeddings.position_embeddings.weight", "raw_data has"}},
      {"huge_dims_without_typed_data",
       [](OnnxGraph* g) { g->inits[0].dims = {int64_t{1} << 20, int64_t{1} << 20}; },
       absl::StatusCode::kInvalidArgument,
       {"embeddings.word_embeddings.weight", "float_data has"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    OnnxGraph g = MakeOnnxGraph(bert);
    c.edit(&g);
    const std::string path = NewDir(absl::StrCat("onnx_", c.name)) + "/model.onnx";
    WriteFile(path, OnnxModelBytes(g.nodes, g.inits));
    absl::StatusOr<BertWeights> weights = ReadOnnxBertWeights(path, *config);
    ASSERT_FALSE(weights.ok());
    EXPECT_EQ(weights.status().code(), c.code) << weights.status();
    EXPECT_THAT(std::string(weights.status().message()), HasSubstr(path));
    for (const std::string& s : c.message) EXPECT_THAT(std::string(weights.status().message()), HasSubstr(s));
  }
}

// ---- Corrupt and unsupported models ----

// Replaces every occurrence of `from` in `bytes` by `to` (same length, so a protobuf stays well-formed).
std::string ReplaceAll(std::string bytes, const std::string& from, const std::string& to) {
  EXPECT_EQ(from.size(), to.size());
  for (size_t pos = bytes.find(from); pos != std::string::npos; pos = bytes.find(from, pos + to.size())) {
    bytes.replace(pos, from.size(), to);
  }
  return bytes;
}

struct BadModelCase {
  std::string name;
  // Builds the case in `dir` (which starts out holding a valid safetensors model) and returns the path to
  // load.
  std::function<std::string(const std::string& dir, const TinyBert& bert)> make;
  absl::StatusCode code;
  std::string file;               // the file the message must name
  std::vector<std::string> also;  // further substrings the message must hold (tensor name, field value)
};

// A one-tensor safetensors file with `entry` as the header entry of word_embeddings, over 64 bytes of data.
std::string OneEntry(const std::string& entry) {
  return RawSafetensors("{\"embeddings.word_embeddings.weight\":" + entry + "}", std::string(64, '\0'));
}

std::string WithConfig(const std::string& dir, const TinyBert& bert, const std::string& key,
                       nlohmann::json v) {
  nlohmann::json config = bert.config;
  config[key] = v;
  WriteFile(dir + "/config.json", config.dump());
  return dir;
}

std::string WithTensors(const std::string& dir, const TinyBert& bert,
                        const std::function<void(std::vector<RawTensor>*)>& edit) {
  std::vector<RawTensor> raw = ToRawTensors(bert, "F32", "");
  edit(&raw);
  WriteFile(dir + "/model.safetensors", SafetensorsBytes(raw));
  return dir;
}

std::string WithWeights(const std::string& dir, const std::string& bytes) {
  WriteFile(dir + "/model.safetensors", bytes);
  return dir;
}

// Turns `dir` into the Tribuo ONNX model directory with tinybert.onnx replaced by `onnx_bytes`.
std::string TribuoWith(const std::string& dir, const std::string& onnx_bytes) {
  std::remove((dir + "/model.safetensors").c_str());
  WriteFile(dir + "/config.json", ReadFile(kTribuoDir + "/config.json"));
  WriteFile(dir + "/vocab.txt", ReadFile(kTribuoDir + "/vocab.txt"));
  WriteFile(dir + "/tinybert.onnx", onnx_bytes);
  return dir + "/tinybert.onnx";
}

TEST(ModelLoaderTest, CorruptOrUnsupportedModelsReturnClearStatus) {
  using absl::StatusCode;
  const std::string kWe = "embeddings.word_embeddings.weight";
  const std::string kQuery = "encoder.layer.1.attention.self.query.weight";
  const std::vector<BadModelCase> cases = {
      {"missing_config",
       [](const std::string& dir, const TinyBert&) {
         std::remove((dir + "/config.json").c_str());
         return dir;
       },
       StatusCode::kNotFound,
       "config.json",
       {}},
      {"config_not_json",
       [](const std::string& dir, const TinyBert&) {
         WriteFile(dir + "/config.json", "{\"model_type\": \"bert\",");
         return dir;
       },
       StatusCode::kInvalidArgument,
       "config.json",
       {"invalid JSON"}},
      {"unsupported_model_type",
       [](const std::string& dir, const TinyBert& b) { return WithConfig(dir, b, "model_type", "albert"); },
       StatusCode::kUnimplemented,
       "config.json",
       {"model_type", "albert"}},
      {"unsupported_hidden_act",
       [](const std::string& dir, const TinyBert& b) { return WithConfig(dir, b, "hidden_act", "gelu_new"); },
       StatusCode::kUnimplemented,
       "config.json",
       {"hidden_act", "gelu_new"}},
      {"relative_positions",
       [](const std::string& dir, const TinyBert& b) {
         return WithConfig(dir, b, "position_embedding_type", "relative_key");
       },
       StatusCode::kUnimplemented,
       "config.json",
       {"relative_key"}},
      {"heads_do_not_divide_hidden",
       [](const std::string& dir, const TinyBert& b) { return WithConfig(dir, b, "num_attention_heads", 3); },
       StatusCode::kInvalidArgument,
       "config.json",
       {"num_attention_heads 3"}},
      {"missing_required_field",
       [](const std::string& dir, const TinyBert& b) {
         nlohmann::json config = b.config;
         config.erase("intermediate_size");
         WriteFile(dir + "/config.json", config.dump());
         return dir;
       },
       StatusCode::kInvalidArgument,
       "config.json",
       {"intermediate_size"}},
      {"missing_vocab",
       [](const std::string& dir, const TinyBert&) {
         std::remove((dir + "/vocab.txt").c_str());
         return dir;
       },
       StatusCode::kNotFound,
       "model_loader_test_missing_vocab",
       {"vocab.txt"}},
      {"missing_weights_file",
       [](const std::string& dir, const TinyBert&) {
         std::remove((dir + "/model.safetensors").c_str());
         return dir;
       },
       StatusCode::kNotFound,
       "model_loader_test_missing_weights_file",
       {"model.safetensors"}},
      {"unsupported_extension",
       [](const std::string& dir, const TinyBert&) {
         WriteFile(dir + "/model.bin", "pickle");
         return dir + "/model.bin";
       },
       StatusCode::kInvalidArgument,
       "model.bin",
       {}},
      {"safetensors_shorter_than_8_bytes",
       [](const std::string& dir, const TinyBert&) { return WithWeights(dir, "abc"); },
       StatusCode::kInvalidArgument,
       "model.safetensors",
       {"shorter than the 8-byte"}},
      {"header_length_past_eof",
       [](const std::string& dir, const TinyBert&) {
         return WithWeights(dir, RawSafetensors(4096, "{}", ""));
       },
       StatusCode::kInvalidArgument,
       "model.safetensors",
       {"past the end of the file"}},
      {"absurd_header_size",
       [](const std::string& dir, const TinyBert&) {
         return WithWeights(dir, RawSafetensors(uint64_t{1} << 40, "{}", ""));
       },
       StatusCode::kInvalidArgument,
       "model.safetensors",
       {"exceeds"}},
      {"header_not_json",
       [](const std::string& dir, const TinyBert&) {
         return WithWeights(dir, RawSafetensors("not json!", ""));
       },
       StatusCode::kInvalidArgument,
       "model.safetensors",
       {"not valid JSON"}},
      {"header_missing_dtype",
       [](const std::string& dir, const TinyBert&) {
         return WithWeights(dir, OneEntry(R"({"shape":[2],"data_offsets":[0,8]})"));
       },
       StatusCode::kInvalidArgument,
       "model.safetensors",
       {kWe, "dtype"}},
      // A needed tensor of a dtype the reader does not know (an unused one is fine: hub_model_test.cc).
      {"unknown_dtype",
       [](const std::string& dir, const TinyBert&) {
         return WithWeights(dir, OneEntry(R"({"dtype":"Q4","shape":[2],"data_offsets":[0,8]})"));
       },
       StatusCode::kUnimplemented,
       "model.safetensors",
       {kWe, "unknown dtype Q4"}},
      {"negative_shape",
       [](const std::string& dir, const TinyBert&) {
         return WithWeights(dir, OneEntry(R"({"dtype":"F32","shape":[-1,2],"data_offsets":[0,8]})"));
       },
       StatusCode::kInvalidArgument,
       "model.safetensors",
       {kWe, "-1"}},
      {"shape_bytes_mismatch",
       [](const std::string& dir, const TinyBert&) {
         return WithWeights(dir, OneEntry(R"({"dtype":"F32","shape":[3,2],"data_offsets":[0,16]})"));
       },
       StatusCode::kInvalidArgument,
       "model.safetensors",
       {kWe, "needs 24 bytes"}},
      {"offsets_out_of_range",
       [](const std::string& dir, const TinyBert&) {
         return WithWeights(dir, OneEntry(R"({"dtype":"F32","shape":[4],"data_offsets":[56,72]})"));
       },
       StatusCode::kInvalidArgument,
       "model.safetensors",
       {kWe, "past the end"}},
      {"offsets_begin_after_end",
       [](const std::string& dir, const TinyBert&) {
         return WithWeights(dir, OneEntry(R"({"dtype":"F32","shape":[0],"data_offsets":[16,8]})"));
       },
       StatusCode::kInvalidArgument,
       "model.safetensors",
       {kWe, "begin 16 > end 8"}},
      {"overlapping_offsets",
       [](const std::string& dir, const TinyBert&) {
         return WithWeights(
             dir, RawSafetensors(
                      R"({"embeddings.LayerNorm.bias":{"dtype":"F32","shape":[8],"data_offsets":[0,32]},)"
                      R"("embeddings.word_embeddings.weight":{"dtype":"F32","shape":[8],)"
                      R"("data_offsets":[16,48]}})",
                      std::string(64, '\0')));
       },
       StatusCode::kInvalidArgument,
       "model.safetensors",
       {kWe, "overlap", "embeddings.LayerNorm.bias"}},
      {"missing_tensor",
       [](const std::string& dir, const TinyBert& b) {
         return WithTensors(dir, b, [](std::vector<RawTensor>* raw) {
           for (auto it = raw->begin(); it != raw->end(); ++it) {
             if (it->name == "encoder.layer.1.output.dense.bias") {
               raw->erase(it);
               break;
             }
           }
         });
       },
       StatusCode::kNotFound,
       "model.safetensors",
       {"encoder.layer.1.output.dense.bias"}},
      {"wrong_shape",
       [kQuery](const std::string& dir, const TinyBert& b) {
         return WithTensors(dir, b, [kQuery](std::vector<RawTensor>* raw) {
           for (RawTensor& t : *raw) {
             if (t.name == kQuery) t.shape = {16, 4};
           }
         });
       },
       StatusCode::kInvalidArgument,
       "model.safetensors",
       {kQuery, "[16, 4]", "[8, 8]"}},
      {"integer_weights",
       [kQuery](const std::string& dir, const TinyBert& b) {
         return WithTensors(dir, b, [kQuery](std::vector<RawTensor>* raw) {
           for (RawTensor& t : *raw) {
             if (t.name == kQuery) t.dtype = "I32";
           }
         });
       },
       StatusCode::kUnimplemented,
       "model.safetensors",
       {kQuery, "I32"}},
      {"config_vocab_size_differs_from_weights",
       [](const std::string& dir, const TinyBert& b) { return WithConfig(dir, b, "vocab_size", 41); },
       StatusCode::kInvalidArgument,
       "model.safetensors",
       {kWe, "[40, 8]", "[41, 8]"}},
      {"vocab_larger_than_config_vocab_size",
       [](const std::string& dir, const TinyBert& b) {
         std::string vocab = kVocab;
         for (int i = 0; i < 40; ++i) vocab += absl::StrCat("word", i, "\n");
         WriteFile(dir + "/vocab.txt", vocab);
         return WithConfig(dir, b, "vocab_size", 40);
       },
       StatusCode::kInvalidArgument,
       "config.json",
       {"vocab_size 40", "50 tokens"}},
      {"more_layers_than_config",
       [](const std::string& dir, const TinyBert& b) { return WithConfig(dir, b, "num_hidden_layers", 1); },
       StatusCode::kInvalidArgument,
       "model.safetensors",
       {"encoder.layer.1", "num_hidden_layers = 1"}},
      {"truncated_onnx",
       [](const std::string& dir, const TinyBert&) {
         const std::string onnx = ReadFile(kTribuoDir + "/tinybert.onnx");
         return TribuoWith(dir, onnx.substr(0, onnx.size() / 2));
       },
       StatusCode::kInvalidArgument,
       "tinybert.onnx",
       {"not a valid ONNX model"}},
      {"garbage_onnx",
       [](const std::string& dir, const TinyBert&) { return TribuoWith(dir, std::string(100, '\xff')); },
       StatusCode::kInvalidArgument,
       "tinybert.onnx",
       {"ONNX"}},
      {"onnx_bias_missing_so_matmul_weight_unnamed",
       [](const std::string& dir, const TinyBert&) {
         // Renaming the bias (initializer and Add input alike) leaves MatMul "182" with no named bias.
         return TribuoWith(dir, ReplaceAll(ReadFile(kTribuoDir + "/tinybert.onnx"),
                                           "encoder.layer.0.attention.self.query.bias",
                                           "encoder.layer.0.attention.self.query.xxxx"));
       },
       StatusCode::kNotFound,
       "tinybert.onnx",
       {"encoder.layer.0.attention.self.query.weight", "182"}},
  };
  ASSERT_GE(cases.size(), 14u);

  const TinyBert bert = MakeTinyBert(/*with_pooler=*/true, /*seed=*/3);
  {
    const std::string dir = NewDir("valid_base");
    WriteModelDir(dir, bert.config, ToRawTensors(bert, "F32", ""));
    absl::StatusOr<LoadedModel> model = LoadModel(dir);
    ASSERT_TRUE(model.ok()) << "the unmodified base model must load: " << model.status();
  }
  for (const BadModelCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string dir = NewDir(c.name);
    WriteModelDir(dir, bert.config, ToRawTensors(bert, "F32", ""));
    const std::string path = c.make(dir, bert);
    absl::StatusOr<LoadedModel> model = LoadModel(path);
    ASSERT_FALSE(model.ok());
    const std::string message(model.status().message());
    EXPECT_EQ(model.status().code(), c.code) << model.status();
    EXPECT_THAT(message, HasSubstr(c.file));
    for (const std::string& s : c.also) EXPECT_THAT(message, HasSubstr(s));
  }
}

// config.json's vocab_size is often padded past vocab.txt: the model loads, ids between the two sizes run
// (their embedding rows exist) and are named by the placeholder token, and IdToToken never reads past the
// vocabulary.
TEST(ModelLoaderTest, ShortVocabularyModelRunsIdsPastTheVocabulary) {
  const TinyBert bert = MakeTinyBert(/*with_pooler=*/false, /*seed=*/5);
  const std::string dir = NewDir("short_vocab");
  WriteModelDir(dir, bert.config, ToRawTensors(bert, "F32", ""));  // 10 tokens, vocab_size 40
  absl::StatusOr<LoadedModel> model = LoadModel(dir);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->tokenizer.vocab_size(), 10);
  EXPECT_EQ(model->config.vocab_size, 40);
  EXPECT_EQ(model->tokenizer.IdToToken(9), "##es");
  EXPECT_EQ(model->tokenizer.IdToToken(10), "[ID:10]");
  EXPECT_EQ(model->tokenizer.IdToToken(39), "[ID:39]");

  absl::StatusOr<std::unique_ptr<Encoder>> encoder =
      Encoder::Create(model->config, std::move(model->weights));
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  std::unique_ptr<Workspace> workspace = (*encoder)->NewWorkspace();
  const std::vector<int32_t> ids = {2, 10, 39, 3};
  std::vector<SequenceOutput> outputs;
  ASSERT_TRUE((*encoder)->Run({SequenceInput{ids, {}, OutputSpec{}}}, workspace.get(), &outputs).ok());
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].last_hidden.size(), 4u * 8u);
  const std::vector<int32_t> past_the_table = {2, 40, 3};
  EXPECT_EQ(
      (*encoder)->Run({SequenceInput{past_the_table, {}, OutputSpec{}}}, workspace.get(), &outputs).code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace qkv
