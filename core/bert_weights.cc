#include "core/bert_weights.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace qkv {
namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

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
  if (auto status = CheckShape(linear.weight, prefix + ".weight", {in, out}, " (stored [in, out])");
      !status.ok()) {
    return status;
  }
  return CheckShape(linear.bias, prefix + ".bias", {out});
}

absl::Status CheckNorm(const LayerNormWeights& norm, const std::string& prefix, int64_t d) {
  if (auto status = CheckShape(norm.gamma, prefix + ".weight", {d}); !status.ok()) return status;
  return CheckShape(norm.beta, prefix + ".bias", {d});
}

}  // namespace

absl::Status BertWeights::Validate(const ModelConfig& config) const {
  if (auto status = config.Validate(); !status.ok()) return status;
  const int64_t d = config.hidden_size;
  const int64_t f = config.intermediate_size;
  absl::Status status =
      CheckShape(word_embeddings, "embeddings.word_embeddings.weight", {config.vocab_size, d});
  if (status.ok()) {
    status = CheckShape(position_embeddings, "embeddings.position_embeddings.weight",
                        {config.max_position_embeddings, d});
  }
  if (status.ok()) {
    status = CheckShape(token_type_embeddings, "embeddings.token_type_embeddings.weight",
                        {config.type_vocab_size, d});
  }
  if (status.ok()) status = CheckNorm(embedding_norm, "embeddings.LayerNorm", d);
  if (!status.ok()) return status;

  if (static_cast<int64_t>(layers.size()) != config.num_hidden_layers) {
    return absl::InvalidArgumentError(
        absl::StrCat("the weights have ", layers.size(),
                     " encoder layers, the config says num_hidden_layers = ", config.num_hidden_layers));
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    const EncoderLayerWeights& layer = layers[i];
    const std::string p = absl::StrCat("encoder.layer.", i, ".");
    status = CheckLinear(layer.query, p + "attention.self.query", d, d);
    if (status.ok()) status = CheckLinear(layer.key, p + "attention.self.key", d, d);
    if (status.ok()) status = CheckLinear(layer.value, p + "attention.self.value", d, d);
    if (status.ok()) status = CheckLinear(layer.attention_output, p + "attention.output.dense", d, d);
    if (status.ok()) status = CheckNorm(layer.attention_norm, p + "attention.output.LayerNorm", d);
    if (status.ok()) status = CheckLinear(layer.intermediate, p + "intermediate.dense", d, f);
    if (status.ok()) status = CheckLinear(layer.output, p + "output.dense", f, d);
    if (status.ok()) status = CheckNorm(layer.output_norm, p + "output.LayerNorm", d);
    if (!status.ok()) return status;
  }
  if (pooler.has_value()) return CheckLinear(*pooler, "pooler.dense", d, d);
  return absl::OkStatus();
}

}  // namespace qkv
