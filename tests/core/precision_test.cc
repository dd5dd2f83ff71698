// Low-precision encoders (core/precision.h): the int8 and bf16 kernels on their own, and whole-model
// accuracy against fp32 on every fixture model (tests/data, models/, ../shared/models when present) and on a
// generated model with outlier channels, over English and Chinese text. Prints an accuracy table
// ("accuracy | model | precision | text | ...") that docs/PERFORMANCE.md reproduces.
//
// Acceptance: pooled (CLS and mean) and token vectors keep cosine >= 0.99 to fp32 in int8 and >= 0.999 in
// bf16 on every fixture model; returned attention rows sum to 1 within 1e-5 in every precision. The
// generated outlier model's worst int8 token vector is held to 0.98 (see the test). bf16 tests skip, saying why, on a
// CPU without native bf16.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/dnnl_matmul.h"
#include "core/encoder.h"
#include "core/model_loader.h"
#include "core/precision.h"
#include "core/quantize.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "tests/core/reference_ops.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// ---------------------------------------------------------------------------------------------------------
// Kernels.

TEST(QuantizeTest, PerTokenScalesAndRoundsToNearestEven) {
  // Row 0: max 127 -> scale 1, so q = round_half_even(x). Row 1: zeros -> scale 1. Row 2: max 254 -> scale 2
  // (exact, so that ties are ties).
  const std::vector<float> x = {127.f, -127.f, 0.5f, 1.5f, 2.5f, -2.5f, 3.49f, -0.49f,  //
                                0.f,   0.f,    0.f,  0.f,  0.f,  0.f,   0.f,   0.f,    //
                                254.f, -127.f, 0.f,  1.f,  3.f,   100.f, -254.f, 5.f};
  std::vector<int8_t> q(x.size());
  std::vector<float> scales(3);
  QuantizeRowsS8(x.data(), 3, 8, ActivationScaling::kPerToken, q.data(), scales.data());
  EXPECT_FLOAT_EQ(scales[0], 1.f);
  EXPECT_FLOAT_EQ(scales[1], 1.f);
  EXPECT_FLOAT_EQ(scales[2], 2.f);
  const std::vector<int8_t> want0 = {127, -127, 0, 2, 2, -2, 3, 0};
  EXPECT_EQ(std::vector<int8_t>(q.begin(), q.begin() + 8), want0);
  for (int i = 8; i < 16; ++i) EXPECT_EQ(q[i], 0);
  const std::vector<int8_t> want2 = {127, -64, 0, 0, 2, 50, -127, 2};  // -63.5, 0.5, 1.5, 2.5: to even
  EXPECT_EQ(std::vector<int8_t>(q.begin() + 16, q.end()), want2);

  QuantizeRowsS8(x.data(), 3, 8, ActivationScaling::kPerTensor, q.data(), scales.data());
  for (float s : scales) EXPECT_FLOAT_EQ(s, 2.f);  // one scale: max |x| = 254
}

TEST(QuantizeTest, LargeBlocksMatchSmallOnes) {
  // The OpenMP-split path (large block) gives the same bytes as row-by-row calls.
  std::mt19937 rng(4);
  const int64_t rows = 300, cols = 384;
  const std::vector<float> x = reference::RandomVector(&rng, rows * cols, 3.f);
  std::vector<int8_t> all(rows * cols), one(cols);
  std::vector<float> scales(rows), scale(1);
  QuantizeRowsS8(x.data(), rows, cols, ActivationScaling::kPerToken, all.data(), scales.data());
  for (int64_t r = 0; r < rows; r += 37) {
    QuantizeRowsS8(x.data() + r * cols, 1, cols, ActivationScaling::kPerToken, one.data(), scale.data());
    EXPECT_EQ(scale[0], scales[r]);
    EXPECT_TRUE(std::equal(one.begin(), one.end(), all.begin() + r * cols)) << "row " << r;
  }
}

TEST(Bf16Test, RoundsToNearestEven) {
  const float values[] = {1.f, 1.00390625f /* 1 + 2^-8: tie, stays 1 */, 1.01171875f /* tie -> up */,
                          -3.f, 65504.f, 0.f};
  const uint16_t want[] = {0x3f80, 0x3f80, 0x3f82, 0xc040, 0x4780, 0x0000};
  uint16_t got[6];
  ConvertToBf16(values, 6, got);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(got[i], want[i]) << values[i];
  const float nan = std::nanf("");
  ConvertToBf16(&nan, 1, got);
  EXPECT_EQ(got[0] & 0x7f80, 0x7f80);
  EXPECT_NE(got[0] & 0x7f, 0);
}

bool SkipWithoutNativeBf16(Precision precision) {
  if (precision == Precision::kBf16 && !NativeBf16Supported()) {
    std::cout << "[ SKIPPED  ] bf16: this CPU (" << EffectiveCpuIsaName()
              << ") has no native bf16; oneDNN would emulate it\n";
    return true;
  }
  return false;
}

class LowPrecisionMatMulTest : public ::testing::TestWithParam<std::tuple<Precision, Epilogue>> {};

TEST_P(LowPrecisionMatMulTest, CloseToFloat64AndNoReferenceKernel) {
  const auto [precision, epilogue] = GetParam();
  if (SkipWithoutNativeBf16(precision)) GTEST_SKIP() << "no native bf16 on this CPU";
  std::mt19937 rng(17);
  ExecContext ctx;
  for (const auto& [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{1, 64, 64}, {37, 128, 384},
                                {300, 384, 96}, {16, 512, 128}}) {
    SCOPED_TRACE(absl::StrCat(PrecisionName(precision), " M=", m, " K=", k, " N=", n));
    auto op = MatMulOp::Create(k, n, epilogue, "lp", MatMulOptions{precision});
    ASSERT_TRUE(op.ok()) << op.status();
    const Tensor w = reference::RandomTensor(&rng, {k, n}, 1.f / std::sqrt(static_cast<float>(k)));
    const Tensor b = reference::RandomTensor(&rng, {n}, 0.5f);
    auto packed = (*op)->Pack(w, b);
    ASSERT_TRUE(packed.ok()) << packed.status();
    const int64_t padded = PaddedRows(m);
    std::vector<float> x = reference::RandomVector(&rng, padded * k, 1.f);
    std::vector<float> y = reference::RandomVector(&rng, padded * n, 1.f);
    const std::vector<float> residual = y;
    (*op)->Forward(x.data(), m, *packed, y.data(), &ctx);
    x.resize(m * k);
    std::vector<double> want = reference::Linear(x, w.data, b.data, m, k, n);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      if (epilogue == Epilogue::kBiasGelu) want[i] = reference::Gelu(want[i]);
      if (epilogue == Epilogue::kBiasResidual) want[i] += residual[i];
      worst = std::max(worst, std::abs(y[i] - want[i]));
      scale = std::max(scale, std::abs(want[i]));
    }
    // x·W entries have std ~1; s8 x s8 keeps ~2 decimal digits, bf16 ~3.
    EXPECT_LT(worst / scale, precision == Precision::kInt8 ? 0.03 : 0.01);
    for (const std::string& line : (*op)->KernelInfo()) {
      EXPECT_THAT(line, Not(HasSubstr("ref"))) << line;
      EXPECT_THAT(line, HasSubstr(PrecisionName(precision))) << line;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    PrecisionsAndEpilogues, LowPrecisionMatMulTest,
    ::testing::Combine(::testing::Values(Precision::kInt8, Precision::kBf16),
                       ::testing::Values(Epilogue::kBias, Epilogue::kBiasGelu, Epilogue::kBiasResidual)));

TEST(Int8MatMulTest, RejectsNonFiniteWeights) {
  auto op = MatMulOp::Create(4, 4, Epilogue::kBias, "bad", MatMulOptions{Precision::kInt8});
  ASSERT_TRUE(op.ok());
  Tensor w{{4, 4}, std::vector<float>(16, 1.f)};
  w.data[5] = std::numeric_limits<float>::infinity();
  auto packed = (*op)->Pack(w, Tensor{{4}, std::vector<float>(4, 0.f)});
  EXPECT_EQ(packed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(packed.status().message()), HasSubstr("column 1"));
}

TEST(PrecisionTest, ParsesNamesAndRejectsOthers) {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    auto parsed = ParsePrecision(PrecisionName(p));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, p);
  }
  auto bad = ParsePrecision("fp16");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("fp32, bf16, int8"));
  EXPECT_FALSE(ParsePrecision("FP32").ok());
}

// bf16 on a CPU without native bf16: refused unless allowed. Runs in a fresh process (threadsafe death test)
// where oneDNN's ISA is capped at avx512_core_vnni before first use, so it exercises the refusal here too.
TEST(PrecisionDeathTest, Bf16RefusedWithoutNativeSupportUnlessAllowed) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx512_core_vnni);
        if (NativeBf16Supported()) std::exit(3);
        const ModelConfig config = reference::SmallConfig(1, 2, 8);
        const BertWeights weights = reference::RandomWeights(config, 1, false);
        EncoderOptions options;
        options.precision = Precision::kBf16;
        auto refused = Encoder::Create(config, weights, options);
        if (refused.status().code() != absl::StatusCode::kFailedPrecondition ||
            std::string(refused.status().message()).find("--allow_emulated_bf16") == std::string::npos) {
          std::exit(4);
        }
        options.allow_emulated_bf16 = true;
        auto forced = Encoder::Create(config, weights, options);
        std::exit(forced.ok() && (*forced)->precision() == Precision::kBf16 ? 0 : 5);
      },
      ::testing::ExitedWithCode(0), "");
}

// ---------------------------------------------------------------------------------------------------------
// Whole models.

struct Comparison {
  double min_cos = 1, max_abs = 0;
  void Add(const float* a, const float* b, int64_t n) {
    double dot = 0, na = 0, nb = 0;
    for (int64_t i = 0; i < n; ++i) {
      dot += static_cast<double>(a[i]) * b[i];
      na += static_cast<double>(a[i]) * a[i];
      nb += static_cast<double>(b[i]) * b[i];
      max_abs = std::max(max_abs, static_cast<double>(std::abs(a[i] - b[i])));
    }
    min_cos = std::min(min_cos, (na == 0 || nb == 0) ? (na == nb ? 1.0 : 0.0) : dot / std::sqrt(na * nb));
  }
};

struct ModelUnderTest {
  std::string name;
  ModelConfig config;
  BertWeights weights;
  std::vector<std::pair<std::string, std::vector<std::vector<int32_t>>>> texts;  // (language, sequences)
};

const char* const kEnglish[] = {
    "The quick brown fox jumps over the lazy dog.",
    "Encoder servers are chosen by throughput per core at an accuracy people can trust.",
    "Quantization keeps LayerNorm, softmax and the residual stream in single precision.",
    "A short one."};
const char* const kChinese[] = {"今天天气很好，我们去公园散步吧。", "机器学习模型需要大量的数据来训练。",
                                "北京是中国的首都。", "这家餐厅的菜非常好吃，价格也很合理。"};

std::vector<ModelUnderTest> FixtureModels() {
  std::vector<ModelUnderTest> models;
  const std::vector<std::pair<std::string, std::string>> paths = {
      {"tribuo-tinybert-random", QKV_SOURCE_DIR "/tests/data/tribuo-tinybert-random/tinybert.onnx"},
      {"bert-tiny-random", QKV_SOURCE_DIR "/models/bert-tiny-random"},
      {"minilm-l6-random", QKV_SHARED_DIR "/models/minilm-l6-random"}};
  for (const auto& [name, path] : paths) {
    absl::StatusOr<LoadedModel> loaded = LoadModel(path);
    if (!loaded.ok()) {
      std::cout << "accuracy: " << name << " not tested (" << loaded.status().message() << ")\n";
      continue;
    }
    ModelUnderTest m{name, loaded->config, std::move(loaded->weights), {}};
    for (const auto& [language, texts] : {std::make_pair("en", &kEnglish), std::make_pair("zh", &kChinese)}) {
      std::vector<std::vector<int32_t>> sequences;
      for (const char* text : *texts) {
        absl::StatusOr<Encoding> encoding = loaded->tokenizer.Encode(text);
        EXPECT_TRUE(encoding.ok()) << encoding.status();
        if (encoding.ok()) sequences.push_back(encoding->ids);
      }
      m.texts.emplace_back(language, std::move(sequences));
    }
    models.push_back(std::move(m));
  }
  return models;
}

// A generated 4-layer model with what makes real encoders hard to quantize: heavy-tailed weights and a few
// LayerNorm channels with large gains (the "outlier features" of trained transformers), so activations span
// a wide range per token. Its "text" is random ids.
ModelUnderTest OutlierModel() {
  ModelConfig config = reference::SmallConfig(/*layers=*/4, /*heads=*/4, /*head_size=*/32);
  config.max_position_embeddings = 128;
  BertWeights weights = reference::RandomWeights(config, /*seed=*/77, /*with_pooler=*/true);
  std::mt19937 rng(78);
  std::lognormal_distribution<float> magnitude(0.f, 0.4f);
  auto heavy_tail = [&](Tensor* t) {
    for (float& v : t->data) v *= magnitude(rng) / 1.08f;
  };
  auto outliers = [](LayerNormWeights* norm) {
    norm->gamma.data[3] *= 4.f;
    norm->gamma.data[70] *= -3.f;
  };
  outliers(&weights.embedding_norm);
  for (EncoderLayerWeights& layer : weights.layers) {
    // Q and K keep their Gaussian weights: heavier tails there make every attention row one-hot, a regime
    // where any perturbation (bf16 too) flips which key wins.
    for (LinearWeights* linear : {&layer.value, &layer.attention_output, &layer.intermediate, &layer.output}) {
      heavy_tail(&linear->weight);
    }
    outliers(&layer.attention_norm);
    outliers(&layer.output_norm);
  }
  ModelUnderTest m{"generated-outliers", config, std::move(weights), {}};
  std::vector<std::vector<int32_t>> sequences;
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(config.vocab_size) - 1);
  for (int64_t t : {5, 17, 64, 128}) {
    std::vector<int32_t> ids(static_cast<size_t>(t));
    for (int32_t& v : ids) v = id(rng);
    sequences.push_back(std::move(ids));
  }
  m.texts.emplace_back("ids", std::move(sequences));
  return m;
}

std::vector<SequenceOutput> RunAll(const Encoder& encoder, const std::vector<std::vector<int32_t>>& sequences,
                                   Pooling pooling) {
  std::vector<SequenceInput> inputs;
  for (const auto& ids : sequences) {
    OutputSpec spec;
    spec.pooling = pooling;
    for (int l = 0; l < encoder.config().num_hidden_layers; ++l) spec.attention_layers.push_back(l);
    inputs.push_back(SequenceInput{ids, {}, spec});
  }
  std::unique_ptr<Workspace> ws = encoder.NewWorkspace();
  std::vector<SequenceOutput> outputs;
  const absl::Status status = encoder.Run(inputs, ws.get(), &outputs);
  EXPECT_TRUE(status.ok()) << status;
  return outputs;
}

struct AccuracyCase {
  Precision precision;
  ActivationScaling scaling = ActivationScaling::kPerToken;  // int8 only
  std::string name;
};

class ModelAccuracyTest : public ::testing::TestWithParam<AccuracyCase> {};

// int8 with one activation scale per tensor instead of per token is measured (the table shows why per token
// is the default) but held only to a loose bound.
TEST_P(ModelAccuracyTest, CloseToFp32OnEveryFixtureModel) {
  const Precision precision = GetParam().precision;
  const bool per_tensor = GetParam().scaling == ActivationScaling::kPerTensor;
  if (SkipWithoutNativeBf16(precision)) GTEST_SKIP() << "no native bf16 on this CPU";
  const double min_cos = per_tensor ? 0.95 : precision == Precision::kInt8 ? 0.99 : 0.999;
  std::vector<ModelUnderTest> models = FixtureModels();
  ASSERT_GE(models.size(), 2u) << "the repository's own fixtures must load";
  models.push_back(OutlierModel());
  std::cout << "accuracy | model | precision | text | pooled (CLS) cos / max abs | pooled (mean) cos / max abs "
               "| token vectors cos / max abs | attention max abs | worst attention row sum - 1\n";
  for (const ModelUnderTest& m : models) {
    SCOPED_TRACE(m.name);
    EncoderOptions options;
    options.max_batch_tokens = 512;  // fewer row chunks to build: keeps the test fast
    auto fp32 = Encoder::Create(m.config, m.weights, options);
    ASSERT_TRUE(fp32.ok()) << fp32.status();
    options.precision = precision;
    options.int8_activation_scaling = GetParam().scaling;
    auto low = Encoder::Create(m.config, m.weights, options);
    ASSERT_TRUE(low.ok()) << low.status();
    EXPECT_EQ((*low)->precision(), precision);
    for (const std::string& line : (*low)->KernelInfo()) EXPECT_THAT(line, Not(HasSubstr("ref"))) << line;
    for (const auto& [language, sequences] : m.texts) {
      SCOPED_TRACE(language);
      Comparison cls, mean, tokens, attention;
      double worst_row_sum = 0;
      for (Pooling pooling : {Pooling::kCls, Pooling::kMean}) {
        const std::vector<SequenceOutput> want = RunAll(**fp32, sequences, pooling);
        const std::vector<SequenceOutput> got = RunAll(**low, sequences, pooling);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) {
          (pooling == Pooling::kCls ? cls : mean)
              .Add(got[i].pooled.data(), want[i].pooled.data(), static_cast<int64_t>(want[i].pooled.size()));
          const int64_t d = m.config.hidden_size;
          for (int64_t t = 0; t < got[i].num_tokens; ++t) {
            tokens.Add(got[i].last_hidden.data() + t * d, want[i].last_hidden.data() + t * d, d);
          }
          for (size_t l = 0; l < got[i].attentions.size(); ++l) {
            const std::vector<float>& probs = got[i].attentions[l].data;
            attention.Add(probs.data(), want[i].attentions[l].data.data(), static_cast<int64_t>(probs.size()));
            const int64_t t = got[i].num_tokens;
            for (int64_t r = 0; r < m.config.num_attention_heads * t; ++r) {
              double sum = 0;
              for (int64_t j = 0; j < t; ++j) sum += probs[r * t + j];
              worst_row_sum = std::max(worst_row_sum, std::abs(sum - 1.0));
            }
          }
        }
      }
      std::cout << absl::StrFormat(
          "accuracy | %s | %s | %s | %.6f / %.2e | %.6f / %.2e | %.6f / %.2e | %.2e | %.1e\n", m.name,
          GetParam().name, language, cls.min_cos, cls.max_abs, mean.min_cos, mean.max_abs,
          tokens.min_cos, tokens.max_abs, attention.max_abs, worst_row_sum);
      EXPECT_GE(cls.min_cos, min_cos) << "pooled (CLS)";
      EXPECT_GE(mean.min_cos, min_cos) << "pooled (mean)";
      // The generated outlier model is a stress case beyond the acceptance (fixture models): one outlier
      // channel sets each token's int8 scale, so its worst single token vector is held to 0.98 (measured
      // 0.988); its pooled vectors still meet the bar.
      const bool stress = m.name == "generated-outliers" && precision == Precision::kInt8 && !per_tensor;
      EXPECT_GE(tokens.min_cos, stress ? 0.98 : min_cos) << "token vectors";
      EXPECT_LT(worst_row_sum, 1e-5) << "attention rows must sum to 1";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Precisions, ModelAccuracyTest,
    ::testing::Values(AccuracyCase{Precision::kFp32, ActivationScaling::kPerToken, "fp32"},
                      AccuracyCase{Precision::kInt8, ActivationScaling::kPerToken, "int8"},
                      AccuracyCase{Precision::kInt8, ActivationScaling::kPerTensor, "int8_per_tensor"},
                      AccuracyCase{Precision::kBf16, ActivationScaling::kPerToken, "bf16"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace qkv
