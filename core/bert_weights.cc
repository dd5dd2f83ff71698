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
  const WeightNames& names = config.traits().weights;
  auto name = [](absl::string_view prefix, absl::string_view base) { return absl::StrCat(prefix, base); };
  plain(name(names.word_embeddings, ".weight"), &w.word_embeddings, {config.vocab_size, d});
  plain(name(names.position_embeddings, ".weight"), &w.position_embeddings,
        {config.max_position_embeddings, d});
  if (!names.token_type_embeddings.empty()) {
    plain(name(names.token_type_embeddings, ".weight"), &w.token_type_embeddings,
          {config.type_vocab_size, d});
  }
  norm(std::string(names.embedding_norm), w.embedding_norm, d);
  if (!names.relative_attention_bias.empty()) {
    plain(name(names.relative_attention_bias, ".weight"), &w.relative_attention_bias,
          {kRelativeAttentionBuckets, config.num_attention_heads});
  }
  for (size_t i = 0; i < w.layers.size(); ++i) {
    auto& layer = w.layers[i];
    const std::string p = absl::StrCat(names.layer_prefix, i, ".");
    linear(name(p, names.query), layer.query, d, d);
    linear(name(p, names.key), layer.key, d, d);
    linear(name(p, names.value), layer.value, d, d);
    linear(name(p, names.attention_output), layer.attention_output, d, d);
    norm(name(p, names.attention_norm), layer.attention_norm, d);
    linear(name(p, names.intermediate), layer.intermediate, d, f);
    linear(name(p, names.output), layer.output, f, d);
    norm(name(p, names.output_norm), layer.output_norm, d);
  }
  if (w.pooler.has_value() && !names.pooler.empty()) linear(std::string(names.pooler), *w.pooler, d, d);
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
  const WeightNames& names = config.traits().weights;
  const struct {
    bool present;
    bool allowed;
    const char* what;
  } optional_parts[] = {
      {!token_type_embeddings.empty(), !names.token_type_embeddings.empty(), "token type embeddings"},
      {!relative_attention_bias.empty(), !names.relative_attention_bias.empty(), "a relative attention bias"},
      {pooler.has_value(), !names.pooler.empty(), "a pooler"},
  };
  for (const auto& part : optional_parts) {
    if (part.present && !part.allowed) {
      return absl::InvalidArgumentError(
          absl::StrCat("the weights have ", part.what, ", which model_type ", config.model_type, " has not"));
    }
  }
  for (const WeightRef<const Tensor>& ref : ListWeights(config, *this)) {
    QKV_RETURN_IF_ERROR(
        CheckTensorShape(*ref.tensor, ref.name, ref.shape, ref.linear_weight ? " (stored [in, out])" : ""));
  }
  return absl::OkStatus();
}

}  // namespace qkv
