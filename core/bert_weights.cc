#include "core/bert_weights.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace qkv {
namespace {

// `W` is BertWeights or const BertWeights; `T` the matching Tensor.
template <typename T, typename W>
std::vector<WeightRef<T>> List(const ModelConfig& config, W& w) {
  const int64_t d = config.hidden_size;
  const int64_t f = config.intermediate_size;
  std::vector<WeightRef<T>> refs;
  auto plain = [&refs](std::string name, T* tensor, std::vector<int64_t> shape) {
    refs.push_back(WeightRef<T>{std::move(name), std::move(shape), false, tensor});
  };
  auto linear = [&refs](const std::string& prefix, auto& linear, int64_t in, int64_t out) {
    refs.push_back(WeightRef<T>{prefix + ".weight", {in, out}, true, &linear.weight});
    refs.push_back(WeightRef<T>{prefix + ".bias", {out}, false, &linear.bias});
  };
  auto norm = [&plain](const std::string& prefix, auto& norm, int64_t d) {
    plain(prefix + ".weight", &norm.gamma, {d});
    plain(prefix + ".bias", &norm.beta, {d});
  };
  plain("embeddings.word_embeddings.weight", &w.word_embeddings, {config.vocab_size, d});
  plain("embeddings.position_embeddings.weight", &w.position_embeddings, {config.max_position_embeddings, d});
  plain("embeddings.token_type_embeddings.weight", &w.token_type_embeddings, {config.type_vocab_size, d});
  norm("embeddings.LayerNorm", w.embedding_norm, d);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    auto& layer = w.layers[i];
    const std::string p = absl::StrCat("encoder.layer.", i, ".");
    linear(p + "attention.self.query", layer.query, d, d);
    linear(p + "attention.self.key", layer.key, d, d);
    linear(p + "attention.self.value", layer.value, d, d);
    linear(p + "attention.output.dense", layer.attention_output, d, d);
    norm(p + "attention.output.LayerNorm", layer.attention_norm, d);
    linear(p + "intermediate.dense", layer.intermediate, d, f);
    linear(p + "output.dense", layer.output, f, d);
    norm(p + "output.LayerNorm", layer.output_norm, d);
  }
  if (w.pooler.has_value()) linear("pooler.dense", *w.pooler, d, d);
  return refs;
}

}  // namespace

std::vector<WeightRef<Tensor>> ListWeights(const ModelConfig& config, BertWeights* weights) {
  return List<Tensor>(config, *weights);
}

std::vector<WeightRef<const Tensor>> ListWeights(const ModelConfig& config, const BertWeights& weights) {
  return List<const Tensor>(config, weights);
}

absl::Status BertWeights::Validate(const ModelConfig& config) const {
  QKV_RETURN_IF_ERROR(config.Validate());
  if (static_cast<int64_t>(layers.size()) != config.num_hidden_layers) {
    return absl::InvalidArgumentError(
        absl::StrCat("the weights have ", layers.size(),
                     " encoder layers, the config says num_hidden_layers = ", config.num_hidden_layers));
  }
  for (const WeightRef<const Tensor>& ref : ListWeights(config, *this)) {
    QKV_RETURN_IF_ERROR(
        CheckTensorShape(*ref.tensor, ref.name, ref.shape, ref.linear_weight ? " (stored [in, out])" : ""));
  }
  return absl::OkStatus();
}

}  // namespace qkv
