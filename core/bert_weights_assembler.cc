#include "core/bert_weights_assembler.h"

#include <cstdlib>
#include <map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace qkv {
namespace {

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

// Where a tensor of `file` goes: `source` checked against `ref` (in the file's layout) and moved or
// transposed into place.
absl::Status Place(const std::string& file, const WeightRef<Tensor>& ref, SourceTensor source) {
  const bool transpose = ref.linear_weight && !source.in_out_layout;
  std::vector<int64_t> expected = ref.shape;
  absl::string_view layout;
  if (ref.linear_weight) {
    layout = transpose ? " ([out, in])" : " ([in, out] MatMul operand)";
    if (transpose) std::swap(expected[0], expected[1]);
  }
  if (absl::Status status = CheckTensorShape(source.tensor, ref.name, expected, layout); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat(file, ": ", status.message()));
  }
  *ref.tensor = transpose ? Transpose2D(source.tensor) : std::move(source.tensor);
  return absl::OkStatus();
}

}  // namespace

std::string CanonicalWeightName(const ModelConfig& config, absl::string_view name) {
  absl::ConsumePrefix(&name, config.traits().weights.task_prefix);
  return std::string(name);
}

absl::StatusOr<BertWeights> AssembleBertWeights(const ModelConfig& config,
                                                const std::vector<std::string>& names,
                                                const TensorLookup& lookup, const std::string& file) {
  QKV_RETURN_IF_ERROR(config.Validate());
  const WeightNames& family_names = config.traits().weights;
  for (const std::string& name : names) {
    if (!absl::StartsWith(name, family_names.layer_prefix)) continue;
    absl::string_view rest = absl::string_view(name).substr(family_names.layer_prefix.size());
    int64_t layer = 0;
    if (absl::SimpleAtoi(rest.substr(0, rest.find('.')), &layer) && layer >= config.num_hidden_layers) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": tensor ", name, " belongs to layer ", layer,
                       " but the config has num_hidden_layers = ", config.num_hidden_layers));
    }
  }

  BertWeights w;
  w.layers.resize(config.num_hidden_layers);
  // The pooler is optional: present when the file has either of its tensors (then it needs both).
  std::map<std::string, SourceTensor> found;
  if (!family_names.pooler.empty()) {
    for (const char* suffix : {".weight", ".bias"}) {
      const std::string name = absl::StrCat(family_names.pooler, suffix);
      QKV_ASSIGN_OR_RETURN(std::optional<SourceTensor> source, lookup(name));
      if (source.has_value()) found.emplace(name, *std::move(source));
    }
  }
  if (!found.empty()) w.pooler.emplace();
  for (const WeightRef<Tensor>& ref : ListWeights(config, &w)) {
    auto it = found.find(ref.name);
    if (it == found.end()) {
      QKV_ASSIGN_OR_RETURN(std::optional<SourceTensor> source, lookup(ref.name));
      if (!source.has_value()) return absl::NotFoundError(absl::StrCat(file, ": missing tensor ", ref.name));
      it = found.emplace(ref.name, *std::move(source)).first;
    }
    QKV_RETURN_IF_ERROR(Place(file, ref, std::move(it->second)));
    found.erase(it);
  }
  return w;
}

}  // namespace qkv
