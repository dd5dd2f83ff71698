#include "core/bert_weights_assembler.h"

#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/shape_string.h"
#include "common/status_macros.h"

namespace qkv {
namespace {

constexpr absl::string_view kTaskPrefix = "bert.";
constexpr absl::string_view kLayerPrefix = "encoder.layer.";

Tensor Transpose2D(const Tensor& t) {
  const int64_t rows = t.shape[0];
  const int64_t cols = t.shape[1];
  Tensor out;
  out.shape = {cols, rows};
  out.data.resize(t.data.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) out.data[c * rows + r] = t.data[r * cols + c];
  }
  return out;
}

class Assembler {
 public:
  Assembler(const TensorLookup& lookup, const std::string& file) : lookup_(lookup), file_(file) {}

  // `expected` is the shape in BertWeights' layout.
  absl::StatusOr<Tensor> Plain(const std::string& name, const std::vector<int64_t>& expected) {
    QKV_ASSIGN_OR_RETURN(SourceTensor source, Required(name));
    QKV_RETURN_IF_ERROR(CheckShape(name, source.tensor, expected));
    return std::move(source.tensor);
  }

  absl::StatusOr<LinearWeights> Linear(const std::string& prefix, int64_t in, int64_t out) {
    LinearWeights linear;
    QKV_ASSIGN_OR_RETURN(SourceTensor weight, Required(prefix + ".weight"));
    QKV_ASSIGN_OR_RETURN(linear.weight, ToInOut(prefix + ".weight", std::move(weight), in, out));
    QKV_ASSIGN_OR_RETURN(linear.bias, Plain(prefix + ".bias", {out}));
    return linear;
  }

  absl::StatusOr<LayerNormWeights> Norm(const std::string& prefix, int64_t d) {
    LayerNormWeights norm;
    QKV_ASSIGN_OR_RETURN(norm.gamma, Plain(prefix + ".weight", {d}));
    QKV_ASSIGN_OR_RETURN(norm.beta, Plain(prefix + ".bias", {d}));
    return norm;
  }

  // std::nullopt when neither `prefix`.weight nor `prefix`.bias exists.
  absl::StatusOr<std::optional<LinearWeights>> OptionalLinear(const std::string& prefix, int64_t in,
                                                              int64_t out) {
    QKV_ASSIGN_OR_RETURN(std::optional<SourceTensor> weight, lookup_(prefix + ".weight"));
    QKV_ASSIGN_OR_RETURN(std::optional<SourceTensor> bias, lookup_(prefix + ".bias"));
    if (!weight.has_value() && !bias.has_value()) return std::optional<LinearWeights>();
    if (!weight.has_value() || !bias.has_value()) {
      return Missing(weight.has_value() ? prefix + ".bias" : prefix + ".weight");
    }
    LinearWeights linear;
    QKV_ASSIGN_OR_RETURN(linear.weight, ToInOut(prefix + ".weight", std::move(*weight), in, out));
    QKV_RETURN_IF_ERROR(CheckShape(prefix + ".bias", bias->tensor, {out}));
    linear.bias = std::move(bias->tensor);
    return std::optional<LinearWeights>(std::move(linear));
  }

 private:
  absl::Status Missing(const std::string& name) const {
    return absl::NotFoundError(absl::StrCat(file_, ": missing tensor ", name));
  }

  absl::StatusOr<SourceTensor> Required(const std::string& name) {
    QKV_ASSIGN_OR_RETURN(std::optional<SourceTensor> source, lookup_(name));
    if (!source.has_value()) return Missing(name);
    return std::move(*source);
  }

  absl::Status CheckShape(const std::string& name, const Tensor& tensor, const std::vector<int64_t>& expected,
                          absl::string_view layout = "") const {
    if (tensor.shape != expected) {
      return absl::InvalidArgumentError(absl::StrCat(file_, ": tensor ", name, " has shape ",
                                                     ShapeString(tensor.shape), ", expected ",
                                                     ShapeString(expected), layout));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Tensor> ToInOut(const std::string& name, SourceTensor source, int64_t in,
                                 int64_t out) const {
    if (source.in_out_layout) {
      QKV_RETURN_IF_ERROR(CheckShape(name, source.tensor, {in, out}, " ([in, out] MatMul operand)"));
      return std::move(source.tensor);
    }
    QKV_RETURN_IF_ERROR(CheckShape(name, source.tensor, {out, in}, " ([out, in])"));
    return Transpose2D(source.tensor);
  }

  const TensorLookup& lookup_;
  const std::string& file_;
};

}  // namespace

std::string CanonicalBertName(absl::string_view name) {
  if (absl::StartsWith(name, kTaskPrefix)) name.remove_prefix(kTaskPrefix.size());
  return std::string(name);
}

absl::StatusOr<BertWeights> AssembleBertWeights(const ModelConfig& config,
                                                const std::vector<std::string>& names,
                                                const TensorLookup& lookup, const std::string& file) {
  QKV_RETURN_IF_ERROR(config.Validate());
  for (const std::string& name : names) {
    if (!absl::StartsWith(name, kLayerPrefix)) continue;
    absl::string_view rest = absl::string_view(name).substr(kLayerPrefix.size());
    int64_t layer = 0;
    if (absl::SimpleAtoi(rest.substr(0, rest.find('.')), &layer) && layer >= config.num_hidden_layers) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": tensor ", name, " belongs to layer ", layer,
                       " but the config has num_hidden_layers = ", config.num_hidden_layers));
    }
  }

  const int64_t d = config.hidden_size;
  const int64_t f = config.intermediate_size;
  Assembler a(lookup, file);
  BertWeights w;
  QKV_ASSIGN_OR_RETURN(w.word_embeddings,
                       a.Plain("embeddings.word_embeddings.weight", {config.vocab_size, d}));
  QKV_ASSIGN_OR_RETURN(w.position_embeddings,
                       a.Plain("embeddings.position_embeddings.weight", {config.max_position_embeddings, d}));
  QKV_ASSIGN_OR_RETURN(w.token_type_embeddings,
                       a.Plain("embeddings.token_type_embeddings.weight", {config.type_vocab_size, d}));
  QKV_ASSIGN_OR_RETURN(w.embedding_norm, a.Norm("embeddings.LayerNorm", d));
  w.layers.resize(config.num_hidden_layers);
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    EncoderLayerWeights& layer = w.layers[i];
    const std::string p = absl::StrCat(kLayerPrefix, i, ".");
    QKV_ASSIGN_OR_RETURN(layer.query, a.Linear(p + "attention.self.query", d, d));
    QKV_ASSIGN_OR_RETURN(layer.key, a.Linear(p + "attention.self.key", d, d));
    QKV_ASSIGN_OR_RETURN(layer.value, a.Linear(p + "attention.self.value", d, d));
    QKV_ASSIGN_OR_RETURN(layer.attention_output, a.Linear(p + "attention.output.dense", d, d));
    QKV_ASSIGN_OR_RETURN(layer.attention_norm, a.Norm(p + "attention.output.LayerNorm", d));
    QKV_ASSIGN_OR_RETURN(layer.intermediate, a.Linear(p + "intermediate.dense", d, f));
    QKV_ASSIGN_OR_RETURN(layer.output, a.Linear(p + "output.dense", f, d));
    QKV_ASSIGN_OR_RETURN(layer.output_norm, a.Norm(p + "output.LayerNorm", d));
  }
  QKV_ASSIGN_OR_RETURN(w.pooler, a.OptionalLinear("pooler.dense", d, d));
  return w;
}

}  // namespace qkv
