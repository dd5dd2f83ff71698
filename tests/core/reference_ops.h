// Naive scalar reference ops for the encoder tests: plain loops, float64 accumulation, no oneDNN.
// Each takes float inputs (what the optimized kernels see) and returns double results.
#ifndef QKV_TESTS_CORE_REFERENCE_OPS_H_
#define QKV_TESTS_CORE_REFERENCE_OPS_H_

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "core/bert_weights.h"
#include "core/model_config.h"

namespace qkv {
namespace reference {

double Gelu(double x);  // exact erf GELU: x/2 * (1 + erf(x / sqrt(2)))

// y[M, N] = x[M, K] · w[K, N] + b[N].
std::vector<double> Linear(const std::vector<float>& x, const std::vector<float>& w,
                           const std::vector<float>& b, int64_t m, int64_t k, int64_t n);

// Row-wise LayerNorm over the last axis of x[rows, D] (two-pass mean/variance).
std::vector<double> LayerNorm(const std::vector<double>& x, const std::vector<float>& gamma,
                              const std::vector<float>& beta, int64_t d, double eps);

// Row-wise softmax of x[rows, cols].
std::vector<double> Softmax(const std::vector<double>& x, int64_t cols);

struct AttentionResult {
  std::vector<double> context;  // [T, D]
  std::vector<double> probs;    // [H, T, T]
};
// Self-attention of one sequence from its fused projection qkv[T, 3D] (Q | K | V per row).
AttentionResult Attention(const std::vector<double>& qkv, int64_t t, int64_t heads, int64_t head_size);

struct ForwardResult {
  std::vector<std::vector<double>> hidden_states;  // L + 1 entries of [T, D]: embeddings, then each layer
  std::vector<std::vector<double>> attentions;     // L entries of [H, T, T]
  std::vector<double> pooler;                      // [D] tanh(dense(h[0])), empty without a pooler
};
// The whole BERT forward pass of one sequence (HF BertModel semantics) in float64.
ForwardResult BertForward(const ModelConfig& config, const BertWeights& weights,
                          const std::vector<int32_t>& ids, const std::vector<int32_t>& type_ids);

// Random tensors and models for tests.
std::vector<float> RandomVector(std::mt19937* rng, int64_t n, float stddev, float mean = 0.f);
Tensor RandomTensor(std::mt19937* rng, std::vector<int64_t> shape, float stddev, float mean = 0.f);

// A small BERT config: V 60, D = heads * head_size, F = 2D, P 80, 2 token types, eps 1e-12.
ModelConfig SmallConfig(int64_t layers, int64_t heads, int64_t head_size);
// Random weights in the shape `config` implies. Query/key weights are wide enough that attention is far
// from uniform (like models/bert-tiny-random); other weights keep activations O(1).
BertWeights RandomWeights(const ModelConfig& config, uint32_t seed, bool with_pooler);

}  // namespace reference
}  // namespace qkv

#endif  // QKV_TESTS_CORE_REFERENCE_OPS_H_
