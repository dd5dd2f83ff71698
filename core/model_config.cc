#include "core/model_config.h"

#include <cmath>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "core/bounded_json.h"
#include "nlohmann/json.hpp"

namespace qkv {
namespace {

using nlohmann::json;

// Dimensions above this are not a real model but a corrupt or hostile config.
constexpr int64_t kMaxDimension = int64_t{1} << 20;
constexpr int64_t kMaxLayers = 1000;
// A config.json larger than this is not a model config.
constexpr int64_t kMaxConfigBytes = int64_t{16} << 20;

// Reads the integer field `key` into `*out`. A missing field is an error when `required`, else leaves the
// default; a JSON null counts as missing.
absl::Status ReadInt(const json& j, const char* key, bool required, absl::string_view file_name,
                     int64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (!required) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(file_name, ": missing required field \"", key, "\""));
  }
  if (!it->is_number_integer()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": field \"", key, "\" must be an integer, got ", JsonSummary(*it)));
  }
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat(file_name, ": field \"", key, "\" is out of range"));
  }
  *out = it->get<int64_t>();
  return absl::OkStatus();
}

// Reads the optional string field `key` into `*out`; null or missing leaves the default.
absl::Status ReadString(const json& j, const char* key, absl::string_view file_name, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": field \"", key, "\" must be a string, got ", JsonSummary(*it)));
  }
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status WithFileName(const absl::Status& status, absl::string_view file_name) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(file_name, ": ", status.message()));
}

absl::StatusOr<ModelConfig> ParseJsonObject(const json& j, absl::string_view file_name) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(file_name, ": config is not a JSON object"));
  }
  ModelConfig config;
  config.model_type.clear();
  QKV_RETURN_IF_ERROR(ReadString(j, "model_type", file_name, &config.model_type));
  const FamilyTraits* family = FindFamily(config.model_type);
  // Before the numbers: an unsupported family names its dimensions its own way.
  if (family == nullptr) return WithFileName(config.ValidateSupport(), file_name);
  const ConfigFieldNames& keys = family->config_names;
  QKV_RETURN_IF_ERROR(ReadString(j, keys.hidden_act, file_name, &config.hidden_act));
  QKV_RETURN_IF_ERROR(ReadString(j, "position_embedding_type", file_name, &config.position_embedding_type));
  if (family->relative_attention_bias) {
    QKV_RETURN_IF_ERROR(ReadInt(j, "relative_attention_num_buckets", /*required=*/false, file_name,
                                &config.relative_attention_num_buckets));
  }
  QKV_RETURN_IF_ERROR(WithFileName(config.ValidateSupport(), file_name));

  config.pad_token_id = family->default_pad_token_id;
  config.type_vocab_size = family->token_type_embeddings ? 2 : 1;
  struct IntField {
    const char* key;
    bool required;
    int64_t* out;
  };
  const IntField fields[] = {
      {"vocab_size", true, &config.vocab_size},
      {keys.hidden_size, true, &config.hidden_size},
      {keys.num_hidden_layers, true, &config.num_hidden_layers},
      {keys.num_attention_heads, true, &config.num_attention_heads},
      {keys.intermediate_size, true, &config.intermediate_size},
      {"max_position_embeddings", true, &config.max_position_embeddings},
      {"pad_token_id", false, &config.pad_token_id},
  };
  for (const IntField& field : fields) {
    QKV_RETURN_IF_ERROR(ReadInt(j, field.key, field.required, file_name, field.out));
  }
  if (family->token_type_embeddings) {
    QKV_RETURN_IF_ERROR(
        ReadInt(j, "type_vocab_size", /*required=*/false, file_name, &config.type_vocab_size));
  }

  config.layer_norm_eps = family->default_layer_norm_eps;
  auto eps = family->layer_norm_eps_key == nullptr ? j.end() : j.find(family->layer_norm_eps_key);
  if (eps != j.end() && !eps->is_null()) {
    if (!eps->is_number()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name, ": field \"layer_norm_eps\" must be a number, got ", JsonSummary(*eps)));
    }
    config.layer_norm_eps = eps->get<double>();
  }

  QKV_RETURN_IF_ERROR(WithFileName(config.ValidateDimensions(), file_name));
  return config;
}

}  // namespace

absl::Status ModelConfig::Validate() const {
  QKV_RETURN_IF_ERROR(ValidateSupport());
  return ValidateDimensions();
}

const FamilyTraits& ModelConfig::traits() const {
  const FamilyTraits* family = FindFamily(model_type);
  return family != nullptr ? *family : Traits(ModelFamily::kBert);
}

int64_t ModelConfig::padding_idx() const {
  const FamilyTraits& family = traits();
  return family.fixed_padding_idx >= 0 ? family.fixed_padding_idx : pad_token_id;
}

int64_t ModelConfig::position_offset() const {
  return traits().positions == PositionIds::kFromPadding ? padding_idx() + 1 : 0;
}

absl::Status ModelConfig::ValidateSupport() const {
  const FamilyTraits* family = FindFamily(model_type);
  if (family == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat("unsupported model_type \"", model_type, "\"; supported: ", SupportedModelTypes()));
  }
  if (hidden_act != "gelu") {
    return absl::UnimplementedError(absl::StrCat("unsupported ", family->config_names.hidden_act, " \"",
                                                 hidden_act,
                                                 "\"; only \"gelu\" (exact erf GELU) is supported"));
  }
  if (position_embedding_type != "absolute") {
    return absl::UnimplementedError(absl::StrCat("unsupported position_embedding_type \"",
                                                 position_embedding_type,
                                                 "\"; only \"absolute\" is supported"));
  }
  if (family->relative_attention_bias && relative_attention_num_buckets != kRelativeAttentionBuckets) {
    return absl::UnimplementedError(
        absl::StrCat("unsupported relative_attention_num_buckets ", relative_attention_num_buckets, "; ",
                     model_type, " runs with ", kRelativeAttentionBuckets, " (as Hugging Face buckets)"));
  }
  return absl::OkStatus();
}

absl::Status ModelConfig::ValidateDimensions() const {
  struct Dim {
    const char* name;
    int64_t value;
    int64_t max;
  };
  const Dim dims[] = {
      {"vocab_size", vocab_size, kMaxDimension},
      {"hidden_size", hidden_size, kMaxDimension},
      {"num_hidden_layers", num_hidden_layers, kMaxLayers},
      {"num_attention_heads", num_attention_heads, kMaxDimension},
      {"intermediate_size", intermediate_size, kMaxDimension},
      {"max_position_embeddings", max_position_embeddings, kMaxDimension},
      {"type_vocab_size", type_vocab_size, kMaxDimension},
  };
  for (const Dim& dim : dims) {
    if (dim.value <= 0 || dim.value > dim.max) {
      return absl::InvalidArgumentError(
          absl::StrCat(dim.name, " = ", dim.value, " is out of range [1, ", dim.max, "]"));
    }
  }
  if (hidden_size % num_attention_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "hidden_size ", hidden_size, " is not a multiple of num_attention_heads ", num_attention_heads));
  }
  // Each dimension is at most 2^20 here, so these products cannot overflow.
  const struct {
    const char* name;
    int64_t rows;
    int64_t cols;
  } matrices[] = {
      {"vocab_size * hidden_size (word embeddings)", vocab_size, hidden_size},
      {"max_position_embeddings * hidden_size (position embeddings)", max_position_embeddings, hidden_size},
      {"type_vocab_size * hidden_size (token type embeddings)", type_vocab_size, hidden_size},
      {"hidden_size * 3 * hidden_size (fused QKV projection)", hidden_size, 3 * hidden_size},
      {"hidden_size * intermediate_size (feed-forward)", hidden_size, intermediate_size},
  };
  for (const auto& m : matrices) {
    if (m.rows * m.cols > kMaxWeightElements) {
      return absl::InvalidArgumentError(absl::StrCat(m.name, " = ", m.rows * m.cols,
                                                     " weights is over the limit of ", kMaxWeightElements,
                                                     " per matrix"));
    }
  }
  if (num_attention_heads * max_position_embeddings * max_position_embeddings > kMaxAttentionScores) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_position_embeddings = ", max_position_embeddings,
                     " with num_attention_heads = ", num_attention_heads, " needs ",
                     num_attention_heads * max_position_embeddings * max_position_embeddings,
                     " attention scores per sequence (heads * positions^2), over the limit of ",
                     kMaxAttentionScores, " (e.g. 64 heads at 8192 positions)"));
  }
  if (pad_token_id < 0 || pad_token_id >= vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("pad_token_id ", pad_token_id, " is out of range [0, vocab_size ", vocab_size, ")"));
  }
  if (position_limit() < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_position_embeddings = ", max_position_embeddings, " leaves no position for a token: ",
        model_type, " positions start at padding_idx + 1 = ", position_offset()));
  }
  if (max_seq_length < 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_seq_length ", max_seq_length, " is negative"));
  }
  if (!(layer_norm_eps > 0.0) || !std::isfinite(layer_norm_eps)) {
    return absl::InvalidArgumentError(absl::StrCat("layer_norm_eps ", layer_norm_eps, " must be positive"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ModelConfig> ParseModelConfig(absl::string_view json_text, absl::string_view file_name) {
  absl::StatusOr<json> j = ParseBoundedJson(json_text);
  if (!j.ok())
    return absl::InvalidArgumentError(absl::StrCat(file_name, ": invalid JSON: ", j.status().message()));
  try {
    return ParseJsonObject(*j, file_name);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(file_name, ": ", e.what()));
  }
}

absl::StatusOr<ModelConfig> ReadModelConfig(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path, kMaxConfigBytes);
  if (absl::IsNotFound(text.status())) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open the model config"));
  }
  if (!text.ok()) return text.status();
  return ParseModelConfig(*text, path);
}

}  // namespace qkv
