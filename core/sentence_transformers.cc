#include "core/sentence_transformers.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "core/bounded_json.h"
#include "nlohmann/json.hpp"

namespace qkv {
namespace {

using nlohmann::json;

// sentence-transformers' own files are a few hundred bytes.
constexpr int64_t kMaxConfigBytes = int64_t{1} << 20;
// No model has more positions (ModelConfig's dimension bound).
constexpr uint64_t kMaxSeqLength = uint64_t{1} << 20;

// The JSON value of the optional file `path`, which must be of `type` ("object" or "array"); std::nullopt
// when no such file exists. A file that exists but cannot be read (permissions, a directory, over 1 MiB)
// is an error: the model would otherwise be served with the wrong pooling.
absl::StatusOr<std::optional<json>> ReadOptionalJson(const std::string& path, json::value_t type) {
  std::error_code error;
  if (!std::filesystem::exists(path, error) && !error) return std::optional<json>();
  QKV_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, kMaxConfigBytes));
  const char* what = type == json::value_t::object ? "not a JSON object" : "not a JSON array";
  absl::StatusOr<json> parsed = ParseBoundedJson(text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", what, " (", parsed.status().message(), ")"));
  }
  if (parsed->type() != type) return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
  return std::optional<json>(*std::move(parsed));
}

// `dir` ends with '/'.
absl::StatusOr<std::optional<Pooling>> ReadPooling(const std::string& dir) {
  const std::string path = dir + "1_Pooling/config.json";
  QKV_ASSIGN_OR_RETURN(std::optional<json> config, ReadOptionalJson(path, json::value_t::object));
  if (!config.has_value()) return std::optional<Pooling>();
  std::vector<std::string> enabled;
  for (const auto& [key, value] : config->items()) {
    if (key.rfind("pooling_mode_", 0) == 0 && value.is_boolean() && value.get<bool>()) enabled.push_back(key);
  }
  if (enabled.empty()) return std::optional<Pooling>();
  if (enabled.size() == 1 && enabled[0] == "pooling_mode_mean_tokens") return Pooling::kMean;
  if (enabled.size() == 1 && enabled[0] == "pooling_mode_cls_token") return Pooling::kCls;
  return absl::UnimplementedError(
      absl::StrCat(path, ": unsupported pooling (", absl::StrJoin(enabled, " + "),
                   "); only pooling_mode_mean_tokens or pooling_mode_cls_token alone is supported"));
}

// `dir` ends with '/'. Whether modules.json lists a Normalize module. Every module must be one qkv applies
// (Transformer, Pooling, Normalize): serving a model without its Dense (LaBSE, distiluse-*) or other module
// would return other vectors than sentence-transformers, of another size even.
absl::StatusOr<bool> ReadNormalize(const std::string& dir) {
  static constexpr const char* kTransformer = "sentence_transformers.models.Transformer";
  static constexpr const char* kPooling = "sentence_transformers.models.Pooling";
  static constexpr const char* kNormalize = "sentence_transformers.models.Normalize";
  const std::string path = dir + "modules.json";
  QKV_ASSIGN_OR_RETURN(std::optional<json> modules, ReadOptionalJson(path, json::value_t::array));
  if (!modules.has_value()) return false;
  bool normalize = false;
  for (size_t i = 0; i < modules->size(); ++i) {
    const json& module = (*modules)[i];
    const auto type = module.is_object() ? module.find("type") : module.end();
    if (!module.is_object() || type == module.end() || !type->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": module [", i, "] is not an object with a string \"type\", got ", JsonSummary(module)));
    }
    const std::string name = type->get<std::string>();
    if (name == kNormalize) {
      normalize = true;
    } else if (name != kTransformer && name != kPooling) {
      return absl::UnimplementedError(absl::StrCat(
          path, ": module [", i, "] of type \"", name.substr(0, 100),
          "\" is not supported (only Transformer, Pooling and Normalize); without it the embeddings "
          "would differ from sentence-transformers'"));
    }
  }
  return normalize;
}

// `dir` ends with '/'. Reads max_seq_length and do_lower_case from the first of the names
// sentence-transformers' Transformer module looks for, in its order.
absl::Status ReadSentenceConfig(const std::string& dir, SentenceTransformersConfig* out) {
  static constexpr const char* kNames[] = {
      "sentence_bert_config.json",      "sentence_roberta_config.json", "sentence_distilbert_config.json",
      "sentence_camembert_config.json", "sentence_albert_config.json",  "sentence_xlm-roberta_config.json",
      "sentence_xlnet_config.json"};
  for (const char* name : kNames) {
    const std::string path = dir + name;
    QKV_ASSIGN_OR_RETURN(std::optional<json> config, ReadOptionalJson(path, json::value_t::object));
    if (!config.has_value()) continue;
    out->sentence_config_file = path;
    auto lower = config->find("do_lower_case");
    if (lower != config->end() && !lower->is_null()) {
      if (!lower->is_boolean()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": field \"do_lower_case\" must be a boolean, got ", JsonSummary(*lower)));
      }
      out->do_lower_case = lower->get<bool>();
    }
    auto it = config->find("max_seq_length");
    if (it == config->end() || it->is_null()) return absl::OkStatus();
    // A positive integer (nlohmann keeps non-negative integers unsigned); bounded like config dimensions.
    if (!it->is_number_unsigned() || it->get<uint64_t>() < 1 || it->get<uint64_t>() > kMaxSeqLength) {
      return absl::InvalidArgumentError(absl::StrCat(path,
                                                     ": field \"max_seq_length\" must be an integer in [1, ",
                                                     kMaxSeqLength, "], got ", JsonSummary(*it)));
    }
    out->max_seq_length = it->get<int64_t>();
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SentenceTransformersConfig> ReadSentenceTransformersConfig(const std::string& dir) {
  const std::string slashed = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  SentenceTransformersConfig config;
  QKV_ASSIGN_OR_RETURN(config.pooling, ReadPooling(slashed));
  QKV_ASSIGN_OR_RETURN(config.normalize, ReadNormalize(slashed));
  QKV_RETURN_IF_ERROR(ReadSentenceConfig(slashed, &config));
  return config;
}

}  // namespace qkv
