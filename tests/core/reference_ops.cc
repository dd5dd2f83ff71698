#include "tests/core/reference_ops.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace qkv {
namespace reference {

double Gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

std::vector<double> Linear(const std::vector<float>& x, const std::vector<float>& w,
                           const std::vector<float>& b, int64_t m, int64_t k, int64_t n) {
  std::vector<double> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = b[j];
      for (int64_t p = 0; p < k; ++p) sum += static_cast<double>(x[i * k + p]) * w[p * n + j];
      y[i * n + j] = sum;
    }
  }
  return y;
}

std::vector<double> LayerNorm(const std::vector<double>& x, const std::vector<float>& gamma,
                              const std::vector<float>& beta, int64_t d, double eps) {
  std::vector<double> y(x.size());
  const int64_t rows = static_cast<int64_t>(x.size()) / d;
  for (int64_t r = 0; r < rows; ++r) {
    const double* in = x.data() + r * d;
    double mean = 0;
    for (int64_t j = 0; j < d; ++j) mean += in[j];
    mean /= d;
    double var = 0;
    for (int64_t j = 0; j < d; ++j) var += (in[j] - mean) * (in[j] - mean);
    var /= d;
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t j = 0; j < d; ++j) y[r * d + j] = (in[j] - mean) * inv * gamma[j] + beta[j];
  }
  return y;
}

std::vector<double> Softmax(const std::vector<double>& x, int64_t cols) {
  std::vector<double> y(x.size());
  const int64_t rows = static_cast<int64_t>(x.size()) / cols;
  for (int64_t r = 0; r < rows; ++r) {
    const double* in = x.data() + r * cols;
    const double max = *std::max_element(in, in + cols);
    double sum = 0;
    for (int64_t j = 0; j < cols; ++j) sum += y[r * cols + j] = std::exp(in[j] - max);
    for (int64_t j = 0; j < cols; ++j) y[r * cols + j] /= sum;
  }
  return y;
}

AttentionResult Attention(const std::vector<double>& qkv, int64_t t, int64_t heads, int64_t head_size) {
  const int64_t d = heads * head_size;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_size));
  AttentionResult result;
  result.context.assign(static_cast<size_t>(t * d), 0.0);
  result.probs.resize(static_cast<size_t>(heads * t * t));
  for (int64_t h = 0; h < heads; ++h) {
    std::vector<double> scores(static_cast<size_t>(t * t));
    for (int64_t i = 0; i < t; ++i) {
      for (int64_t j = 0; j < t; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < head_size; ++c) {
          dot += qkv[i * 3 * d + h * head_size + c] * qkv[j * 3 * d + d + h * head_size + c];
        }
        scores[i * t + j] = dot * scale;
      }
    }
    const std::vector<double> probs = Softmax(scores, t);
    std::copy(probs.begin(), probs.end(), result.probs.begin() + h * t * t);
    for (int64_t i = 0; i < t; ++i) {
      for (int64_t c = 0; c < head_size; ++c) {
        double sum = 0;
        for (int64_t j = 0; j < t; ++j) sum += probs[i * t + j] * qkv[j * 3 * d + 2 * d + h * head_size + c];
        result.context[i * d + h * head_size + c] = sum;
      }
    }
  }
  return result;
}

namespace {

// y[M, N] = x[M, K] · w[K, N] + b, all in double.
std::vector<double> LinearD(const std::vector<double>& x, const LinearWeights& lw) {
  const int64_t k = lw.weight.shape[0];
  const int64_t n = lw.weight.shape[1];
  const int64_t m = static_cast<int64_t>(x.size()) / k;
  std::vector<double> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = lw.bias.data[j];
      for (int64_t p = 0; p < k; ++p) sum += x[i * k + p] * lw.weight.data[p * n + j];
      y[i * n + j] = sum;
    }
  }
  return y;
}

std::vector<double> Norm(const std::vector<double>& x, const LayerNormWeights& w, double eps) {
  return LayerNorm(x, w.gamma.data, w.beta.data, static_cast<int64_t>(w.gamma.data.size()), eps);
}

}  // namespace

ForwardResult BertForward(const ModelConfig& config, const BertWeights& weights,
                          const std::vector<int32_t>& ids, const std::vector<int32_t>& type_ids) {
  const int64_t t = static_cast<int64_t>(ids.size());
  const int64_t d = config.hidden_size;
  ForwardResult result;
  std::vector<double> h(static_cast<size_t>(t * d));
  for (int64_t i = 0; i < t; ++i) {
    const int64_t type = type_ids.empty() ? 0 : type_ids[i];
    for (int64_t j = 0; j < d; ++j) {
      h[i * d + j] = static_cast<double>(weights.word_embeddings.data[ids[i] * d + j]) +
                     weights.position_embeddings.data[i * d + j] +
                     weights.token_type_embeddings.data[type * d + j];
    }
  }
  h = Norm(h, weights.embedding_norm, config.layer_norm_eps);
  result.hidden_states.push_back(h);
  for (const EncoderLayerWeights& layer : weights.layers) {
    const std::vector<double> q = LinearD(h, layer.query);
    const std::vector<double> k = LinearD(h, layer.key);
    const std::vector<double> v = LinearD(h, layer.value);
    std::vector<double> qkv(static_cast<size_t>(t * 3 * d));
    for (int64_t i = 0; i < t; ++i) {
      for (int64_t j = 0; j < d; ++j) {
        qkv[i * 3 * d + j] = q[i * d + j];
        qkv[i * 3 * d + d + j] = k[i * d + j];
        qkv[i * 3 * d + 2 * d + j] = v[i * d + j];
      }
    }
    AttentionResult attention = Attention(qkv, t, config.num_attention_heads, config.head_size());
    std::vector<double> x = LinearD(attention.context, layer.attention_output);
    for (size_t i = 0; i < x.size(); ++i) x[i] += h[i];
    h = Norm(x, layer.attention_norm, config.layer_norm_eps);
    std::vector<double> inter = LinearD(h, layer.intermediate);
    for (double& value : inter) value = Gelu(value);
    x = LinearD(inter, layer.output);
    for (size_t i = 0; i < x.size(); ++i) x[i] += h[i];
    h = Norm(x, layer.output_norm, config.layer_norm_eps);
    result.hidden_states.push_back(h);
    result.attentions.push_back(std::move(attention.probs));
  }
  if (weights.pooler.has_value()) {
    result.pooler = LinearD(std::vector<double>(h.begin(), h.begin() + d), *weights.pooler);
    for (double& value : result.pooler) value = std::tanh(value);
  }
  return result;
}

std::vector<float> RandomVector(std::mt19937* rng, int64_t n, float stddev, float mean) {
  std::normal_distribution<float> dist(mean, stddev);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(*rng);
  return v;
}

Tensor RandomTensor(std::mt19937* rng, std::vector<int64_t> shape, float stddev, float mean) {
  Tensor t;
  t.shape = std::move(shape);
  t.data = RandomVector(rng, t.NumElements(), stddev, mean);
  return t;
}

ModelConfig SmallConfig(int64_t layers, int64_t heads, int64_t head_size) {
  ModelConfig config;
  config.vocab_size = 60;
  config.hidden_size = heads * head_size;
  config.num_hidden_layers = layers;
  config.num_attention_heads = heads;
  config.intermediate_size = 2 * heads * head_size;
  config.max_position_embeddings = 80;
  config.type_vocab_size = 2;
  config.layer_norm_eps = 1e-12;
  return config;
}

BertWeights RandomWeights(const ModelConfig& config, uint32_t seed, bool with_pooler) {
  std::mt19937 rng(seed);
  const int64_t d = config.hidden_size;
  const int64_t f = config.intermediate_size;
  auto linear = [&rng](int64_t in, int64_t out, float stddev) {
    return LinearWeights{RandomTensor(&rng, {in, out}, stddev), RandomTensor(&rng, {out}, 0.1f)};
  };
  auto norm = [&rng](int64_t width) {
    return LayerNormWeights{RandomTensor(&rng, {width}, 0.1f, 1.f), RandomTensor(&rng, {width}, 0.1f)};
  };
  const float wide = std::sqrt(3.f / d);
  BertWeights w;
  w.word_embeddings = RandomTensor(&rng, {config.vocab_size, d}, 0.5f);
  w.position_embeddings = RandomTensor(&rng, {config.max_position_embeddings, d}, 0.5f);
  w.token_type_embeddings = RandomTensor(&rng, {config.type_vocab_size, d}, 0.5f);
  w.embedding_norm = norm(d);
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    EncoderLayerWeights layer;
    layer.query = linear(d, d, wide);
    layer.key = linear(d, d, wide);
    layer.value = linear(d, d, 1.f / std::sqrt(static_cast<float>(d)));
    layer.attention_output = linear(d, d, 1.f / std::sqrt(static_cast<float>(d)));
    layer.attention_norm = norm(d);
    layer.intermediate = linear(d, f, 1.f / std::sqrt(static_cast<float>(d)));
    layer.output = linear(f, d, 1.f / std::sqrt(static_cast<float>(f)));
    layer.output_norm = norm(d);
    w.layers.push_back(std::move(layer));
  }
  if (with_pooler) w.pooler = linear(d, d, 1.f / std::sqrt(static_cast<float>(d)));
  return w;
}

}  // namespace reference
}  // namespace qkv
