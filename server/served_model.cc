#include "server/served_model.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "core/model_loader.h"

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
  const SentenceTransformersConfig& st = loaded.sentence_transformers;
  model->default_pooling = st.pooling.value_or(model->has_pooler ? Pooling::kPooler : Pooling::kCls);
  model->default_normalize = st.normalize;
  return model;
}

absl::Status WarmUp(const ServedModel& model) {
  const SpecialTokens& special = model.tokenizer.special_tokens();
  std::vector<int32_t> ids = {special.cls, special.sep};
  if (model.config.max_tokens() < 2) ids.resize(1);
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
