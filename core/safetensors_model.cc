#include "core/safetensors_model.h"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "core/bert_weights_assembler.h"
#include "core/bounded_json.h"
#include "core/safetensors.h"
#include "nlohmann/json.hpp"

namespace qkv {
namespace {

using nlohmann::json;

// Real indexes are a few hundred KiB (one line per tensor).
constexpr int64_t kMaxIndexBytes = int64_t{16} << 20;

// Assembles the weights from the tensors of `readers` (one file, or a checkpoint's shards). `label` names
// the checkpoint in errors.
absl::StatusOr<BertWeights> ReadFromReaders(const std::vector<std::unique_ptr<SafetensorsReader>>& readers,
                                            const ModelConfig& config, const std::string& label) {
  // Canonical HF name -> the reader and the name in its file.
  std::map<std::string, std::pair<const SafetensorsReader*, std::string>> file_names;
  std::vector<std::string> canonical_names;
  for (const std::unique_ptr<SafetensorsReader>& reader : readers) {
    for (const auto& [name, entry] : reader->entries()) {
      std::string canonical = CanonicalWeightName(config, name);
      auto [it, inserted] = file_names.emplace(canonical, std::make_pair(reader.get(), name));
      if (!inserted) {
        return absl::InvalidArgumentError(absl::StrCat(label, ": tensors ", it->second.first->path(), ":",
                                                       it->second.second, " and ", reader->path(), ":", name,
                                                       " both name ", canonical));
      }
      canonical_names.push_back(std::move(canonical));
    }
  }
  const TensorLookup lookup = [&](const std::string& name) -> absl::StatusOr<std::optional<SourceTensor>> {
    auto it = file_names.find(name);
    if (it == file_names.end()) return std::optional<SourceTensor>();
    QKV_ASSIGN_OR_RETURN(Tensor tensor, it->second.first->Read(it->second.second));
    return std::optional<SourceTensor>(SourceTensor{std::move(tensor), /*in_out_layout=*/false});
  };
  return AssembleBertWeights(config, canonical_names, lookup, label);
}

}  // namespace

absl::StatusOr<BertWeights> ReadSafetensorsBertWeights(const std::string& path, const ModelConfig& config) {
  QKV_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsReader> reader, SafetensorsReader::Open(path));
  std::vector<std::unique_ptr<SafetensorsReader>> readers;
  readers.push_back(std::move(reader));
  return ReadFromReaders(readers, config, path);
}

absl::StatusOr<BertWeights> ReadShardedSafetensorsBertWeights(const std::string& index_path,
                                                              const ModelConfig& config) {
  QKV_ASSIGN_OR_RETURN(const std::string text, ReadFileToString(index_path, kMaxIndexBytes));
  absl::StatusOr<json> index = ParseBoundedJson(text);
  const auto invalid = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(index_path, ": ", what));
  };
  if (!index.ok()) return invalid(absl::StrCat("not valid JSON: ", index.status().message()));
  if (!index->is_object() || !index->contains("weight_map") || !(*index)["weight_map"].is_object()) {
    return invalid("not a safetensors index (an object with a \"weight_map\" object)");
  }
  // Shard file -> the tensors the map puts there.
  std::map<std::string, std::vector<std::string>> shards;
  for (const auto& [tensor, file] : (*index)["weight_map"].items()) {
    // The name as an error shows it: JSON-quoted, cut to 40 bytes (the index may hold a 16 MiB key).
    const std::string quoted = JsonSummary(json(tensor));
    if (!file.is_string()) return invalid(absl::StrCat("weight_map[", quoted, "] is not a file name"));
    const std::string name = file.get<std::string>();
    // A NUL would end the name open() sees ("x\u0000.safetensors" opens "x"); no file system takes a name
    // over 255 bytes (NAME_MAX).
    if (name.empty() || name.size() > 255 || name == "." || name == ".." || absl::StrContains(name, "/") ||
        name.find('\0') != std::string::npos || !absl::EndsWith(name, ".safetensors")) {
      return invalid(absl::StrCat("weight_map[", quoted, "] = ", JsonSummary(file),
                                  " is not a .safetensors file name in the index's directory"));
    }
    shards[name].push_back(tensor);
    if (shards.size() > static_cast<size_t>(kMaxSafetensorsShards)) {
      return invalid(absl::StrCat("more than ", kMaxSafetensorsShards, " shard files"));
    }
  }
  if (shards.empty()) return invalid("the weight_map is empty");
  const size_t slash = index_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : index_path.substr(0, slash + 1);
  std::vector<std::unique_ptr<SafetensorsReader>> readers;
  // Every shard's parsed header stays alive until the weights are assembled: their total is bounded as one
  // file's header is, so 1024 shards cannot hold 1024 times that in memory.
  uint64_t header_bytes = 0;
  for (const auto& [file, tensors] : shards) {
    QKV_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsReader> reader, SafetensorsReader::Open(dir + file));
    header_bytes += reader->header_bytes();
    if (header_bytes > SafetensorsReader::kMaxHeaderBytes) {
      return invalid(absl::StrCat("the shards' headers together exceed ", SafetensorsReader::kMaxHeaderBytes,
                                  " bytes (at ", file, ")"));
    }
    for (const std::string& tensor : tensors) {
      if (reader->Find(tensor) == nullptr) {
        return invalid(absl::StrCat("weight_map puts tensor ", JsonSummary(json(tensor)), " in ", file,
                                    ", which lacks it"));
      }
    }
    readers.push_back(std::move(reader));
  }
  return ReadFromReaders(readers, config, index_path);
}

}  // namespace qkv
