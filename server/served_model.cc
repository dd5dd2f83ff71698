#include "server/served_model.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "core/bounded_json.h"
#include "core/model_loader.h"
#include "nlohmann/json.hpp"

namespace qkv {
namespace {

std::string StripTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The sentence-transformers pooling mode in <dir>/1_Pooling/config.json; std::nullopt when there is no such
// file or it enables no mode. A file that is not a JSON object, or that enables any other mode (max, weighted
// mean, ...) or several, is an error: serving it with another default pooling would return wrong vectors.
absl::StatusOr<std::optional<Pooling>> SentenceTransformersPooling(const std::string& dir) {
  const std::string path = dir + "/1_Pooling/config.json";
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return std::optional<Pooling>();
  absl::StatusOr<nlohmann::json> parsed = ParseBoundedJson(*text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a JSON object (", parsed.status().message(), ")"));
  }
  const nlohmann::json& json = *parsed;
  if (!json.is_object()) return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  std::vector<std::string> enabled;
  for (const auto& [key, value] : json.items()) {
    if (key.rfind("pooling_mode_", 0) == 0 && value.is_boolean() && value.get<bool>()) enabled.push_back(key);
  }
  if (enabled.empty()) return std::optional<Pooling>();
  if (enabled.size() == 1 && enabled[0] == "pooling_mode_mean_tokens")
    return std::optional<Pooling>(Pooling::kMean);
  if (enabled.size() == 1 && enabled[0] == "pooling_mode_cls_token")
    return std::optional<Pooling>(Pooling::kCls);
  return absl::UnimplementedError(
      absl::StrCat(path, ": unsupported pooling (", absl::StrJoin(enabled, " + "),
                   "); only pooling_mode_mean_tokens or pooling_mode_cls_token alone is "
                   "supported"));
}

// Whether <dir>/modules.json (sentence-transformers) lists a Normalize module; false without the file.
absl::StatusOr<bool> SentenceTransformersNormalize(const std::string& dir) {
  const std::string path = dir + "/modules.json";
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return false;
  absl::StatusOr<nlohmann::json> parsed = ParseBoundedJson(*text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a JSON array (", parsed.status().message(), ")"));
  }
  const nlohmann::json& json = *parsed;
  if (!json.is_array()) return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON array"));
  for (const nlohmann::json& module : json) {
    if (module.is_object() && module.contains("type") && module["type"].is_string() &&
        module["type"].get<std::string>() == "sentence_transformers.models.Normalize") {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServedModel>> LoadServedModel(const std::string& path,
                                                             int64_t max_batch_tokens, Precision precision,
                                                             bool allow_emulated_bf16) {
  QKV_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModel(path));
  auto model = std::make_unique<ServedModel>(std::move(loaded.tokenizer));
  const std::string dir = StripTrailingSlashes(loaded.directory);
  model->name = Basename(dir == "." ? std::string("model") : dir);
  model->path = path;
  model->weights_path = loaded.weights_path;
  model->format = loaded.format;
  model->config = loaded.config;

  EncoderOptions options;
  options.max_batch_tokens = std::max<int64_t>(max_batch_tokens, loaded.config.max_position_embeddings);
  options.precision = precision;
  options.allow_emulated_bf16 = allow_emulated_bf16;
  model->precision = precision;
  QKV_ASSIGN_OR_RETURN(model->encoder, Encoder::Create(loaded.config, std::move(loaded.weights), options));
  model->has_pooler = model->encoder->has_pooler();
  model->kernels = model->encoder->KernelInfo();
  QKV_ASSIGN_OR_RETURN(std::optional<Pooling> st_pooling, SentenceTransformersPooling(dir));
  if (st_pooling.has_value()) {
    model->default_pooling = *st_pooling;
  } else {
    model->default_pooling = model->has_pooler ? Pooling::kPooler : Pooling::kCls;
  }
  QKV_ASSIGN_OR_RETURN(model->default_normalize, SentenceTransformersNormalize(dir));
  return model;
}

absl::Status WarmUp(const ServedModel& model) {
  const SpecialTokens& special = model.tokenizer.special_tokens();
  std::vector<int32_t> ids = {special.cls, special.sep};
  if (model.config.max_position_embeddings < 2) ids.resize(1);
  SequenceInput input{ids, {}, OutputSpec{}};
  input.spec.pooling = model.default_pooling;
  std::unique_ptr<Workspace> workspace = model.encoder->NewWorkspace();
  std::vector<SequenceOutput> outputs;
  absl::Status status = model.encoder->Run({input}, workspace.get(), &outputs);
  if (!status.ok())
    return absl::Status(status.code(), absl::StrCat("warm-up run failed: ", status.message()));
  return absl::OkStatus();
}

}  // namespace qkv
