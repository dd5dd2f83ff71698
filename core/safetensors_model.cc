#include "core/safetensors_model.h"

#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "core/bert_weights_assembler.h"
#include "core/safetensors.h"

namespace qkv {

absl::StatusOr<BertWeights> ReadSafetensorsBertWeights(const std::string& path, const ModelConfig& config) {
  QKV_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsReader> reader, SafetensorsReader::Open(path));

  // Canonical HF name -> the name in the file.
  std::map<std::string, std::string> file_names;
  std::vector<std::string> canonical_names;
  for (const auto& [name, entry] : reader->entries()) {
    std::string canonical = CanonicalWeightName(config, name);
    auto [it, inserted] = file_names.emplace(canonical, name);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": tensors ", it->second, " and ", name, " both name ", canonical));
    }
    canonical_names.push_back(std::move(canonical));
  }

  const TensorLookup lookup = [&](const std::string& name) -> absl::StatusOr<std::optional<SourceTensor>> {
    auto it = file_names.find(name);
    if (it == file_names.end()) return std::optional<SourceTensor>();
    QKV_ASSIGN_OR_RETURN(Tensor tensor, reader->Read(it->second));
    return std::optional<SourceTensor>(SourceTensor{std::move(tensor), /*in_out_layout=*/false});
  };
  return AssembleBertWeights(config, canonical_names, lookup, path);
}

}  // namespace qkv
