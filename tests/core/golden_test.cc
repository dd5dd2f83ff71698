// End-to-end goldens: models loaded from disk (core/model_loader.h) through Encoder::Run, against outputs
// another engine produced.
//   Acceptance 1: the Tribuo tinybert fixture (tests/data/tribuo-tinybert-random), ONNX Runtime 1.7 values
//                 copied in its SOURCE.md.
//   Acceptance 2: models/bert-tiny-random (model.safetensors and model.onnx) and, when ../shared is there,
//                 minilm-l6-random (model.onnx): every case of their goldens.json (float64 PyTorch).
// Goldens use the golden input_ids directly; padded batches run their real tokens unpadded, in one batch.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/encoder.h"
#include "core/model_loader.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace qkv {
namespace {

using nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

std::unique_ptr<Encoder> LoadEncoder(const std::string& path) {
  absl::StatusOr<LoadedModel> model = LoadModel(path);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return nullptr;
  absl::StatusOr<std::unique_ptr<Encoder>> encoder =
      Encoder::Create(model->config, std::move(model->weights));
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  return encoder.ok() ? std::move(*encoder) : nullptr;
}

double MaxAbsDiff(const float* got, const std::vector<double>& want) {
  double diff = 0;
  for (size_t i = 0; i < want.size(); ++i) diff = std::max(diff, std::abs(got[i] - want[i]));
  return diff;
}

// Numbers between `open` (after `marker`) and the matching close of a Java array initializer, row by row:
// "{1, 2}" -> {{1, 2}}, "{{1, 2}, {3}}" -> {{1, 2}, {3}}.
std::vector<std::vector<double>> ParseJavaArray(const std::string& text, const std::string& marker) {
  std::vector<std::vector<double>> rows;
  size_t pos = text.find(marker);
  if (pos == std::string::npos) return rows;
  pos = text.find('{', pos);
  int depth = 0;
  std::vector<double> row;
  for (size_t i = pos; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (!row.empty()) rows.push_back(std::move(row));
      row.clear();
      if (--depth == 0) break;
    } else if (c == '-' || c == '.' || (c >= '0' && c <= '9')) {
      char* end = nullptr;
      row.push_back(std::strtod(text.c_str() + i, &end));
      i = static_cast<size_t>(end - text.c_str()) - 1;
    }
  }
  return rows;
}

// Acceptance 1.
TEST(GoldenTest, TribuoTinyBert) {
  const std::string dir = QKV_SOURCE_DIR "/tests/data/tribuo-tinybert-random";
  const std::string source = ReadFile(dir + "/SOURCE.md");
  const std::vector<std::vector<double>> cls = ParseJavaArray(source, "double[] expectedCLS");
  const std::vector<std::vector<double>> tokens = ParseJavaArray(source, "double[][] expectedTokens");
  ASSERT_EQ(cls.size(), 1u);
  ASSERT_EQ(cls[0].size(), 50u);
  ASSERT_EQ(tokens.size(), 13u);
  for (const auto& row : tokens) ASSERT_EQ(row.size(), 50u);

  std::unique_ptr<Encoder> encoder = LoadEncoder(dir + "/tinybert.onnx");
  ASSERT_NE(encoder, nullptr);
  const std::vector<int32_t> ids = {3, 114, 134, 18, 1528, 269, 297, 55, 66, 385, 1599, 6, 1};
  OutputSpec spec;
  spec.pooling = Pooling::kPooler;
  std::unique_ptr<Workspace> ws = encoder->NewWorkspace();
  std::vector<SequenceOutput> out;
  ASSERT_TRUE(encoder->Run({SequenceInput{ids, {}, spec}}, ws.get(), &out).ok());
  ASSERT_EQ(out[0].last_hidden.size(), 13u * 50u);
  double worst = 0;
  for (size_t t = 0; t < 13; ++t)
    worst = std::max(worst, MaxAbsDiff(out[0].last_hidden.data() + t * 50, tokens[t]));
  EXPECT_LT(worst, 1e-5) << "last hidden state";
  EXPECT_LT(MaxAbsDiff(out[0].pooled.data(), cls[0]), 1e-5) << "pooler";
  std::cout << "tribuo: max abs diff tokens " << worst << ", pooler "
            << MaxAbsDiff(out[0].pooled.data(), cls[0]) << "\n";
}

struct Worst {
  double hidden = 0, pooler = 0, mean = 0, attention = 0, row_sum = 0;
};

// Runs every case of `goldens_path` on `encoder`; `full` goldens (bert-tiny) carry every hidden row and every
// layer's attention, the others (minilm) rows 0 and T-1, row L2 norms and the last layer's attention.
void CheckGoldens(const Encoder& encoder, const std::string& goldens_path, bool full) {
  const json goldens = json::parse(ReadFile(goldens_path));
  const ModelConfig& config = encoder.config();
  const int64_t d = config.hidden_size;
  const int last_layer = static_cast<int>(config.num_hidden_layers) - 1;
  std::unique_ptr<Workspace> ws = encoder.NewWorkspace();
  Worst worst;
  for (const json& c : goldens.at("cases")) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    const size_t batch = c.at("input_ids").size();
    std::vector<std::vector<int32_t>> ids(batch), types(batch);
    std::vector<SequenceInput> inputs;
    for (size_t b = 0; b < batch; ++b) {
      const int64_t real = c.at("outputs")[b].at("num_real_tokens").get<int64_t>();
      for (int64_t t = 0; t < real; ++t) {
        ids[b].push_back(c.at("input_ids")[b][t].get<int32_t>());
        types[b].push_back(c.at("token_type_ids")[b][t].get<int32_t>());
      }
    }
    std::vector<OutputSpec> specs(3 * batch);
    for (size_t b = 0; b < batch; ++b) {
      // Three views of each sequence: pooler + every attention layer, mean pooling, CLS pooling.
      specs[3 * b].pooling = Pooling::kPooler;
      for (int l = 0; l <= last_layer; ++l) specs[3 * b].attention_layers.push_back(l);
      specs[3 * b + 1].pooling = Pooling::kMean;
      specs[3 * b + 1].token_vectors = false;
      specs[3 * b + 2].pooling = Pooling::kCls;
      specs[3 * b + 2].token_vectors = false;
      for (int v = 0; v < 3; ++v) inputs.push_back(SequenceInput{ids[b], types[b], specs[3 * b + v]});
    }
    std::vector<SequenceOutput> outputs;
    const absl::Status status = encoder.Run(inputs, ws.get(), &outputs);
    ASSERT_TRUE(status.ok()) << status;

    for (size_t b = 0; b < batch; ++b) {
      const json& want = c.at("outputs")[b];
      const SequenceOutput& out = outputs[3 * b];
      const int64_t t = static_cast<int64_t>(ids[b].size());
      ASSERT_EQ(out.last_hidden.size(), static_cast<size_t>(t * d));
      if (full) {
        const auto rows = want.at("last_hidden_state").get<std::vector<std::vector<double>>>();
        for (int64_t r = 0; r < t; ++r) {
          worst.hidden = std::max(worst.hidden, MaxAbsDiff(out.last_hidden.data() + r * d, rows[r]));
        }
      } else {
        for (const auto& [row, values] : want.at("last_hidden_state_rows").items()) {
          const int64_t r = std::stoll(row);
          worst.hidden = std::max(
              worst.hidden, MaxAbsDiff(out.last_hidden.data() + r * d, values.get<std::vector<double>>()));
        }
        const auto l2 = want.at("last_hidden_state_row_l2").get<std::vector<double>>();
        ASSERT_EQ(l2.size(), static_cast<size_t>(t));
        for (int64_t r = 0; r < t; ++r) {
          double norm = 0;
          for (int64_t j = 0; j < d; ++j) norm += std::pow(out.last_hidden[r * d + j], 2);
          worst.hidden = std::max(worst.hidden, std::abs(std::sqrt(norm) - l2[r]));
        }
      }
      worst.pooler = std::max(
          worst.pooler, MaxAbsDiff(out.pooled.data(), want.at("pooler_output").get<std::vector<double>>()));
      worst.mean = std::max(worst.mean, MaxAbsDiff(outputs[3 * b + 1].pooled.data(),
                                                   want.at("mean_pooled").get<std::vector<double>>()));
      // CLS pooling is row 0 of the last hidden state.
      EXPECT_EQ(outputs[3 * b + 2].pooled,
                std::vector<float>(out.last_hidden.begin(), out.last_hidden.begin() + d));

      // Attention: [layer][head][query][key] (full) or the last layer's [head][query][key].
      std::vector<std::pair<int, json>> layers;
      if (full) {
        for (int l = 0; l <= last_layer; ++l) layers.emplace_back(l, want.at("attentions")[l]);
      } else {
        layers.emplace_back(last_layer, want.at("attentions_last_layer"));
      }
      for (const auto& [layer, heads] : layers) {
        const std::vector<float>& got = out.attentions[layer].data;
        ASSERT_EQ(got.size(), static_cast<size_t>(config.num_attention_heads * t * t));
        for (int64_t h = 0; h < config.num_attention_heads; ++h) {
          for (int64_t q = 0; q < t; ++q) {
            const float* row = got.data() + (h * t + q) * t;
            worst.attention =
                std::max(worst.attention, MaxAbsDiff(row, heads[h][q].get<std::vector<double>>()));
          }
        }
      }
      for (const LayerTensor& layer : out.attentions) {
        for (int64_t r = 0; r < config.num_attention_heads * t; ++r) {
          double sum = 0;
          for (int64_t k = 0; k < t; ++k) sum += layer.data[r * t + k];
          worst.row_sum = std::max(worst.row_sum, std::abs(sum - 1));
        }
      }
    }
  }
  EXPECT_LT(worst.hidden, 1e-4);
  EXPECT_LT(worst.pooler, 1e-4);
  EXPECT_LT(worst.mean, 1e-4);
  EXPECT_LT(worst.attention, 1e-5);
  EXPECT_LT(worst.row_sum, 1e-5);
  std::cout << goldens_path << ": max abs diff hidden " << worst.hidden << ", pooler " << worst.pooler
            << ", mean " << worst.mean << ", attention " << worst.attention << "; |row sum - 1| "
            << worst.row_sum << "\n";
}

TEST(GoldenTest, BertTinySafetensors) {
  const std::string dir = QKV_SOURCE_DIR "/models/bert-tiny-random";
  std::unique_ptr<Encoder> encoder = LoadEncoder(dir + "/model.safetensors");
  ASSERT_NE(encoder, nullptr);
  CheckGoldens(*encoder, dir + "/goldens.json", /*full=*/true);
}

TEST(GoldenTest, BertTinyOnnx) {
  const std::string dir = QKV_SOURCE_DIR "/models/bert-tiny-random";
  std::unique_ptr<Encoder> encoder = LoadEncoder(dir + "/model.onnx");
  ASSERT_NE(encoder, nullptr);
  CheckGoldens(*encoder, dir + "/goldens.json", /*full=*/true);
}

TEST(GoldenTest, MiniLmL6Onnx) {
  const std::string dir = QKV_SHARED_DIR "/models/minilm-l6-random";
  if (!Exists(dir + "/model.onnx")) GTEST_SKIP() << dir << " is absent (the shared fixtures are optional)";
  std::unique_ptr<Encoder> encoder = LoadEncoder(dir + "/model.onnx");
  ASSERT_NE(encoder, nullptr);
  CheckGoldens(*encoder, dir + "/goldens.json", /*full=*/false);
}

}  // namespace
}  // namespace qkv
