// Each oneDNN-backed op against the naive float64 reference (tests/core/reference_ops.h) on random shapes,
// T = 1 and row counts that are not multiples of the row chunk sizes included.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/attention.h"
#include "core/dnnl_context.h"
#include "core/dnnl_matmul.h"
#include "core/dnnl_norm.h"
#include "core/dnnl_softmax.h"
#include "core/embeddings.h"
#include "core/primitive_cache.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/reference_ops.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// max |got - want| over the first want.size() entries.
double MaxAbsDiff(const float* got, const std::vector<double>& want) {
  double diff = 0;
  for (size_t i = 0; i < want.size(); ++i) diff = std::max(diff, std::abs(got[i] - want[i]));
  return diff;
}

std::vector<double> ToDouble(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

void ExpectNoReferenceKernel(const std::vector<std::string>& info) {
  ASSERT_FALSE(info.empty());
  for (const std::string& line : info) EXPECT_THAT(line, Not(HasSubstr("ref"))) << line;
}

TEST(RowChunksTest, CoverEveryRowWithFewShapes) {
  std::set<int64_t> sizes;
  for (int64_t rows = 1; rows <= 5000; ++rows) {
    int64_t next = 0;
    int64_t last_chunk = 0;
    ForEachRowChunk(rows, [&](int64_t begin, int64_t chunk) {
      EXPECT_EQ(begin, next);
      next = begin + chunk;
      last_chunk = chunk;
      sizes.insert(chunk);
    });
    EXPECT_GE(next, rows);
    EXPECT_LE(next, PaddedRows(rows)) << rows;
    EXPECT_LT(next - rows, 16) << rows;
    EXPECT_LT(next - rows, last_chunk) << "a chunk made only of padding at rows = " << rows;
  }
  // 1, 2, 4, 8, 16..256 step 16, 512, 1024, 2048, 4096.
  EXPECT_EQ(sizes.size(), 4u + 16u + 4u);
}

struct MatMulCase {
  int64_t m, k, n;
};

class MatMulTest : public ::testing::TestWithParam<Epilogue> {};

TEST_P(MatMulTest, MatchesReference) {
  const Epilogue epilogue = GetParam();
  std::mt19937 rng(7 + static_cast<int>(epilogue));
  ExecContext ctx;
  for (const MatMulCase& c : {MatMulCase{1, 8, 8}, MatMulCase{3, 50, 150}, MatMulCase{17, 128, 384},
                              MatMulCase{64, 64, 256}, MatMulCase{300, 96, 32}, MatMulCase{5, 512, 128}}) {
    SCOPED_TRACE(absl::StrCat("M=", c.m, " K=", c.k, " N=", c.n));
    auto op = MatMulOp::Create(c.k, c.n, epilogue, "test");
    ASSERT_TRUE(op.ok()) << op.status();
    const Tensor w = reference::RandomTensor(&rng, {c.k, c.n}, 1.f / std::sqrt(static_cast<float>(c.k)));
    const Tensor b = reference::RandomTensor(&rng, {c.n}, 0.5f);
    auto packed = (*op)->Pack(w, b);
    ASSERT_TRUE(packed.ok()) << packed.status();

    const int64_t padded = PaddedRows(c.m);
    std::vector<float> x = reference::RandomVector(&rng, padded * c.k, 1.f);
    std::vector<float> y = reference::RandomVector(&rng, padded * c.n, 1.f);  // the residual, if used
    const std::vector<float> residual = y;
    (*op)->Forward(x.data(), c.m, *packed, y.data(), &ctx);

    x.resize(c.m * c.k);
    std::vector<double> want = reference::Linear(x, w.data, b.data, c.m, c.k, c.n);
    for (size_t i = 0; i < want.size(); ++i) {
      switch (epilogue) {
        case Epilogue::kBias:
          break;
        case Epilogue::kBiasGelu:
          want[i] = reference::Gelu(want[i]);
          break;
        case Epilogue::kBiasTanh:
          want[i] = std::tanh(want[i]);
          break;
        case Epilogue::kBiasResidual:
          want[i] += residual[i];
          break;
      }
    }
    EXPECT_LT(MaxAbsDiff(y.data(), want), 2e-5);
    ExpectNoReferenceKernel((*op)->KernelInfo());
  }
}

INSTANTIATE_TEST_SUITE_P(Epilogues, MatMulTest,
                         ::testing::Values(Epilogue::kBias, Epilogue::kBiasGelu, Epilogue::kBiasTanh,
                                           Epilogue::kBiasResidual));

TEST(MatMulOpTest, RejectsWrongWeightShape) {
  auto op = MatMulOp::Create(4, 6, Epilogue::kBias, "probe");
  ASSERT_TRUE(op.ok());
  std::mt19937 rng(1);
  auto packed =
      (*op)->Pack(reference::RandomTensor(&rng, {6, 4}, 1.f), reference::RandomTensor(&rng, {6}, 1.f));
  EXPECT_EQ(packed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(packed.status().message()), HasSubstr("probe"));
  packed = (*op)->Pack(reference::RandomTensor(&rng, {4, 6}, 1.f), reference::RandomTensor(&rng, {4}, 1.f));
  EXPECT_EQ(packed.status().code(), absl::StatusCode::kInvalidArgument);
}

// GELU on its own: the fused eltwise_gelu_erf post-op behind an identity matmul, over [-10, 10].
TEST(GeluTest, ExactErfFormOverWideRange) {
  const int64_t n = 16;
  auto op = MatMulOp::Create(n, n, Epilogue::kBiasGelu, "gelu");
  ASSERT_TRUE(op.ok());
  Tensor identity{{n, n}, std::vector<float>(n * n, 0.f)};
  for (int64_t i = 0; i < n; ++i) identity.data[i * n + i] = 1.f;
  auto packed = (*op)->Pack(identity, Tensor{{n}, std::vector<float>(n, 0.f)});
  ASSERT_TRUE(packed.ok());
  const int64_t rows = 125;  // 2000 points
  std::vector<float> x(PaddedRows(rows) * n), y(PaddedRows(rows) * n);
  for (int64_t i = 0; i < rows * n; ++i) x[i] = -10.f + 20.f * static_cast<float>(i) / (rows * n - 1);
  ExecContext ctx;
  (*op)->Forward(x.data(), rows, *packed, y.data(), &ctx);
  double worst = 0, from_tanh_form = 0;
  for (int64_t i = 0; i < rows * n; ++i) {
    const double want = reference::Gelu(x[i]);
    worst = std::max(worst, std::abs(y[i] - want) / std::max(1.0, std::abs(want)));
    const double v = x[i];
    const double tanh_form = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    from_tanh_form = std::max(from_tanh_form, std::abs(y[i] - tanh_form));
  }
  EXPECT_LT(worst, 1e-6);
  // The tanh approximation (gelu_new) is off by up to ~5e-4; make sure the kernel is not computing it.
  EXPECT_GT(from_tanh_form, 1e-4);
}

TEST(LayerNormOpTest, MatchesReference) {
  std::mt19937 rng(11);
  ExecContext ctx;
  for (int64_t d : {8, 50, 128, 384}) {
    for (int64_t rows : {1, 7, 33, 300}) {
      SCOPED_TRACE(absl::StrCat("D=", d, " rows=", rows));
      for (double eps : {1e-12, 1e-5}) {
        auto op = LayerNormOp::Create(d, eps);
        ASSERT_TRUE(op.ok());
        const Tensor gamma = reference::RandomTensor(&rng, {d}, 0.2f, 1.f);
        const Tensor beta = reference::RandomTensor(&rng, {d}, 0.2f);
        auto params = (*op)->MakeParams(gamma, beta, "ln");
        ASSERT_TRUE(params.ok());
        // Rows with a large common offset: a one-pass E[x^2] - E[x]^2 variance would lose digits here.
        std::vector<float> x = reference::RandomVector(&rng, PaddedRows(rows) * d, 2.f, 30.f);
        const std::vector<double> want = reference::LayerNorm(
            ToDouble(std::vector<float>(x.begin(), x.begin() + rows * d)), gamma.data, beta.data, d, eps);
        (*op)->Forward(x.data(), rows, *params, &ctx);
        EXPECT_LT(MaxAbsDiff(x.data(), want), 1e-5);
        ExpectNoReferenceKernel((*op)->KernelInfo());
      }
    }
  }
}

TEST(LayerNormOpTest, RejectsWrongParamShape) {
  auto op = LayerNormOp::Create(8, 1e-12);
  ASSERT_TRUE(op.ok());
  auto params =
      (*op)->MakeParams(Tensor{{7}, std::vector<float>(7)}, Tensor{{8}, std::vector<float>(8)}, "x");
  EXPECT_EQ(params.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(LayerNormOp::Create(0, 1e-12).ok());
}

TEST(SoftmaxOpTest, MatchesReferenceAndSumsToOne) {
  std::mt19937 rng(5);
  ExecContext ctx;
  SoftmaxOp op;
  for (int64_t cols : {1, 2, 13, 64, 200}) {
    for (int64_t rows : {1, 5, 48}) {
      SCOPED_TRACE(absl::StrCat("rows=", rows, " cols=", cols));
      std::vector<float> x = reference::RandomVector(&rng, rows * cols, 8.f, 50.f);  // large logits
      const std::vector<double> want = reference::Softmax(ToDouble(x), cols);
      op.Forward(x.data(), rows, cols, &ctx);
      EXPECT_LT(MaxAbsDiff(x.data(), want), 1e-6);
      for (int64_t r = 0; r < rows; ++r) {
        double sum = 0;
        for (int64_t c = 0; c < cols; ++c) sum += x[r * cols + c];
        EXPECT_NEAR(sum, 1.0, 1e-5);
      }
    }
  }
  ExpectNoReferenceKernel(op.KernelInfo());
}

struct AttentionCase {
  int64_t heads, head_size;
  std::vector<int64_t> lengths;
};

TEST(SelfAttentionTest, MatchesReferencePerSequence) {
  std::mt19937 rng(3);
  ExecContext ctx;
  AlignedBuffer scores;
  for (const AttentionCase& c : {AttentionCase{1, 8, {1}}, AttentionCase{2, 8, {1, 3, 16, 16, 16, 17}},
                                 AttentionCase{4, 16, {64, 5, 5, 1, 1, 1, 33}},
                                 AttentionCase{12, 32, {9, 128}}, AttentionCase{1, 50, {13}}}) {
    const int64_t d = c.heads * c.head_size;
    int64_t rows = 0;
    for (int64_t t : c.lengths) rows += t;
    SCOPED_TRACE(absl::StrCat("H=", c.heads, " Dh=", c.head_size, " rows=", rows));
    auto attention = SelfAttention::Create(c.heads, c.head_size, /*max_length=*/64);
    ASSERT_TRUE(attention.ok()) << attention.status();
    const std::vector<float> qkv = reference::RandomVector(&rng, rows * 3 * d, 1.5f);
    std::vector<float> context(rows * d, -1.f);
    std::vector<std::vector<float>> probs(c.lengths.size());
    std::vector<float*> probs_out(c.lengths.size(), nullptr);
    for (size_t i = 0; i < c.lengths.size(); ++i) {
      if (i % 2 == 0) {  // ask for every other sequence's probabilities
        probs[i].assign(c.heads * c.lengths[i] * c.lengths[i], -1.f);
        probs_out[i] = probs[i].data();
      }
    }
    (*attention)->Forward(qkv.data(), c.lengths, probs_out, context.data(), &scores, &ctx);

    int64_t row = 0;
    for (size_t i = 0; i < c.lengths.size(); ++i) {
      const int64_t t = c.lengths[i];
      const std::vector<double> seq_qkv(qkv.begin() + row * 3 * d, qkv.begin() + (row + t) * 3 * d);
      const reference::AttentionResult want = reference::Attention(seq_qkv, t, c.heads, c.head_size);
      EXPECT_LT(MaxAbsDiff(context.data() + row * d, want.context), 1e-5) << "sequence " << i;
      if (probs_out[i] != nullptr) {
        EXPECT_LT(MaxAbsDiff(probs[i].data(), want.probs), 1e-6) << "sequence " << i;
        for (int64_t r = 0; r < c.heads * t; ++r) {
          double sum = 0;
          for (int64_t j = 0; j < t; ++j) sum += probs[i][r * t + j];
          EXPECT_NEAR(sum, 1.0, 1e-5);
        }
      }
      row += t;
    }
    ExpectNoReferenceKernel((*attention)->KernelInfo());
  }
}

TEST(SelfAttentionTest, SingleTokenAttendsToItself) {
  auto attention = SelfAttention::Create(3, 4, /*max_length=*/8);
  ASSERT_TRUE(attention.ok());
  std::mt19937 rng(9);
  const std::vector<float> qkv = reference::RandomVector(&rng, 3 * 12, 3.f);
  std::vector<float> context(12), probs(3);
  float* probs_out[] = {probs.data()};
  const int64_t lengths[] = {1};
  AlignedBuffer scores;
  ExecContext ctx;
  (*attention)->Forward(qkv.data(), lengths, probs_out, context.data(), &scores, &ctx);
  for (float p : probs) EXPECT_EQ(p, 1.f);
  for (int j = 0; j < 12; ++j) EXPECT_FLOAT_EQ(context[j], qkv[24 + j]);  // context = V
}

TEST(EmbeddingsTest, SumsWordPositionAndType) {
  std::mt19937 rng(2);
  const Tensor word = reference::RandomTensor(&rng, {10, 4}, 1.f);
  const Tensor position = reference::RandomTensor(&rng, {6, 4}, 1.f);
  const Tensor type = reference::RandomTensor(&rng, {2, 4}, 1.f);
  auto embeddings = Embeddings::Create(word, position, type);
  ASSERT_TRUE(embeddings.ok());
  const std::vector<int32_t> ids = {3, 9, 0};
  const std::vector<int32_t> types = {0, 1, 1};
  std::vector<float> out(12), out_no_types(12);
  (*embeddings)->Lookup(ids, types, out.data());
  (*embeddings)->Lookup(ids, {}, out_no_types.data());
  for (int t = 0; t < 3; ++t) {
    for (int j = 0; j < 4; ++j) {
      EXPECT_FLOAT_EQ(out[t * 4 + j],
                      word.data[ids[t] * 4 + j] + type.data[types[t] * 4 + j] + position.data[t * 4 + j]);
      EXPECT_FLOAT_EQ(out_no_types[t * 4 + j],
                      word.data[ids[t] * 4 + j] + type.data[j] + position.data[t * 4 + j]);
    }
  }
  EXPECT_FALSE(Embeddings::Create(word, reference::RandomTensor(&rng, {6, 5}, 1.f), type).ok());
}

// RoBERTa / MPNet positions: padding_idx + 1 onwards, a padding id takes padding_idx and is not counted;
// without a token type table the sum is word + position.
TEST(EmbeddingsTest, PositionsFromPaddingIndexWithoutTokenTypes) {
  std::mt19937 rng(3);
  const Tensor word = reference::RandomTensor(&rng, {10, 4}, 1.f);
  const Tensor position = reference::RandomTensor(&rng, {7, 4}, 1.f);
  auto embeddings = Embeddings::Create(word, position, Tensor(), PositionRule{PositionIds::kFromPadding, 1});
  ASSERT_TRUE(embeddings.ok()) << embeddings.status();
  EXPECT_FALSE((*embeddings)->has_token_types());
  const std::vector<int32_t> ids = {0, 5, 1, 8, 2};
  const std::vector<int64_t> positions = {2, 3, 1, 4, 5};
  std::vector<float> out(20);
  (*embeddings)->Lookup(ids, {}, out.data());
  for (int t = 0; t < 5; ++t) {
    for (int j = 0; j < 4; ++j) {
      EXPECT_EQ(out[t * 4 + j], word.data[ids[t] * 4 + j] + position.data[positions[t] * 4 + j]) << t;
    }
  }
  // padding_idx must leave a position: a 2-row table with padding_idx 1 has none.
  EXPECT_FALSE(Embeddings::Create(word, reference::RandomTensor(&rng, {2, 4}, 1.f), Tensor(),
                                  PositionRule{PositionIds::kFromPadding, 1})
                   .ok());
}

}  // namespace
}  // namespace qkv
