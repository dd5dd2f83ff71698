#include "core/bert_weights.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/shape_string.h"
#include "common/status_macros.h"

namespace qkv {
namespace {

// `name` is the Hugging Face tensor name; `layout` says how it is stored here when that differs from HF.
absl::Status CheckShape(const Tensor& tensor, const std::string& name, const std::vector<int64_t>& expected,
                        absl::string_view layout = "") {
  if (tensor.shape != expected) {
    return absl::InvalidArgumentError(absl::StrCat("tensor ", name, layout, " has shape ",
                                                   ShapeString(tensor.shape), ", expected ",
                                                   ShapeString(expected)));
  }
  // Shapes are bounded by ModelConfig::Validate(), so the product cannot overflow.
  if (static_cast<int64_t>(tensor.data.size()) != tensor.NumElements()) {
    return absl::InvalidArgumentError(absl::StrCat("tensor ", name, " has ", tensor.data.size(),
                                                   " values for shape ", ShapeString(tensor.shape)));
  }
  return absl::OkStatus();
}

absl::Status CheckLinear(const LinearWeights& linear, const std::string& prefix, int64_t in, int64_t out) {
  QKV_RETURN_IF_ERROR(CheckShape(linear.weight, prefix + ".weight", {in, out}, " (stored [in, out])"));
  return CheckShape(linear.bias, prefix + ".bias", {out});
}

absl::Status CheckNorm(const LayerNormWeights& norm, const std::string& prefix, int64_t d) {
  QKV_RETURN_IF_ERROR(CheckShape(norm.gamma, prefix + ".weight", {d}));
  return CheckShape(norm.beta, prefix + ".bias", {d});
}

}  // namespace

absl::Status BertWeights::Validate(const ModelConfig& config) const {
  QKV_RETURN_IF_ERROR(config.Validate());
  const int64_t d = config.hidden_size;
  const int64_t f = config.intermediate_size;
  QKV_RETURN_IF_ERROR(
      CheckShape(word_embeddings, "embeddings.word_embeddings.weight", {config.vocab_size, d}));
  QKV_RETURN_IF_ERROR(CheckShape(position_embeddings, "embeddings.position_embeddings.weight",
                                 {config.max_position_embeddings, d}));
  QKV_RETURN_IF_ERROR(CheckShape(token_type_embeddings, "embeddings.token_type_embeddings.weight",
                                 {config.type_vocab_size, d}));
  QKV_RETURN_IF_ERROR(CheckNorm(embedding_norm, "embeddings.LayerNorm", d));

  if (static_cast<int64_t>(layers.size()) != config.num_hidden_layers) {
    return absl::InvalidArgumentError(
        absl::StrCat("the weights have ", layers.size(),
                     " encoder layers, the config says num_hidden_layers = ", config.num_hidden_layers));
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    const EncoderLayerWeights& layer = layers[i];
    const std::string p = absl::StrCat("encoder.layer.", i, ".");
    QKV_RETURN_IF_ERROR(CheckLinear(layer.query, p + "attention.self.query", d, d));
    QKV_RETURN_IF_ERROR(CheckLinear(layer.key, p + "attention.self.key", d, d));
    QKV_RETURN_IF_ERROR(CheckLinear(layer.value, p + "attention.self.value", d, d));
    QKV_RETURN_IF_ERROR(CheckLinear(layer.attention_output, p + "attention.output.dense", d, d));
    QKV_RETURN_IF_ERROR(CheckNorm(layer.attention_norm, p + "attention.output.LayerNorm", d));
    QKV_RETURN_IF_ERROR(CheckLinear(layer.intermediate, p + "intermediate.dense", d, f));
    QKV_RETURN_IF_ERROR(CheckLinear(layer.output, p + "output.dense", f, d));
    QKV_RETURN_IF_ERROR(CheckNorm(layer.output_norm, p + "output.LayerNorm", d));
  }
  if (pooler.has_value()) return CheckLinear(*pooler, "pooler.dense", d, d);
  return absl::OkStatus();
}

}  // namespace qkv
