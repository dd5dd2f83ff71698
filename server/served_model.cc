#include "server/served_model.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/model_loader.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"

namespace qkv {
namespace {

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string StripTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The sentence-transformers pooling mode in <dir>/1_Pooling/config.json, if any.
std::optional<Pooling> SentenceTransformersPooling(const std::string& dir) {
  std::ifstream in(dir + "/1_Pooling/config.json");
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return std::nullopt;
  auto enabled = [&json](const char* key) { return json.contains(key) && json[key].is_boolean() && json[key].get<bool>(); };
  if (enabled("pooling_mode_mean_tokens")) return Pooling::kMean;
  if (enabled("pooling_mode_cls_token")) return Pooling::kCls;
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServedModel>> LoadServedModel(const std::string& path, int64_t max_batch_tokens) {
  QKV_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModel(path));
  auto model = std::make_unique<ServedModel>(std::move(loaded.tokenizer));
  const std::string clean = StripTrailingSlashes(path);
  const std::string dir = IsDirectory(clean) ? clean : Dirname(clean);
  model->name = Basename(dir == "." ? std::string("model") : dir);
  model->path = path;
  model->weights_path = loaded.weights_path;
  model->format = loaded.format;
  model->config = loaded.config;

  EncoderOptions options;
  options.max_batch_tokens = std::max<int64_t>(max_batch_tokens, loaded.config.max_position_embeddings);
  QKV_ASSIGN_OR_RETURN(model->encoder, Encoder::Create(loaded.config, std::move(loaded.weights), options));
  model->has_pooler = model->encoder->has_pooler();
  model->kernels = model->encoder->KernelInfo();
  if (std::optional<Pooling> st = SentenceTransformersPooling(dir)) {
    model->default_pooling = *st;
  } else {
    model->default_pooling = model->has_pooler ? Pooling::kPooler : Pooling::kCls;
  }
  return model;
}

absl::Status WarmUp(const ServedModel& model) {
  const SpecialTokens& special = model.tokenizer.special_tokens();
  const std::vector<int32_t> ids = {special.cls, special.sep};
  SequenceInput input{ids, {}, OutputSpec{}};
  input.spec.pooling = model.default_pooling;
  std::unique_ptr<Workspace> workspace = model.encoder->NewWorkspace();
  std::vector<SequenceOutput> outputs;
  absl::Status status = model.encoder->Run({input}, workspace.get(), &outputs);
  if (!status.ok()) return absl::Status(status.code(), absl::StrCat("warm-up run failed: ", status.message()));
  return absl::OkStatus();
}

}  // namespace qkv
