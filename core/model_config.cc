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
  QKV_RETURN_IF_ERROR(ReadString(j, "hidden_act", file_name, &config.hidden_act));
  // Before the numbers: another family's config (e.g. DistilBERT's) names its dimensions differently.
  QKV_RETURN_IF_ERROR(WithFileName(config.ValidateSupport(), file_name));
  std::string position_embedding_type = "absolute";
  QKV_RETURN_IF_ERROR(ReadString(j, "position_embedding_type", file_name, &position_embedding_type));
  if (position_embedding_type != "absolute") {
    return absl::UnimplementedError(absl::StrCat(file_name, ": unsupported position_embedding_type \"",
                                                 position_embedding_type,
                                                 "\"; only \"absolute\" is supported"));
  }

  struct IntField {
    const char* key;
    bool required;
    int64_t* out;
  };
  const IntField fields[] = {
      {"vocab_size", true, &config.vocab_size},
      {"hidden_size", true, &config.hidden_size},
      {"num_hidden_layers", true, &config.num_hidden_layers},
      {"num_attention_heads", true, &config.num_attention_heads},
      {"intermediate_size", true, &config.intermediate_size},
      {"max_position_embeddings", true, &config.max_position_embeddings},
      {"type_vocab_size", false, &config.type_vocab_size},
      {"pad_token_id", false, &config.pad_token_id},
  };
  for (const IntField& field : fields) {
    QKV_RETURN_IF_ERROR(ReadInt(j, field.key, field.required, file_name, field.out));
  }

  auto eps = j.find("layer_norm_eps");
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

absl::Status ModelConfig::ValidateSupport() const {
  if (model_type != "bert") {
    return absl::UnimplementedError(
        absl::StrCat("unsupported model_type \"", model_type,
                     "\"; only \"bert\" (BERT-family encoders with absolute positions) is supported"));
  }
  if (hidden_act != "gelu") {
    return absl::UnimplementedError(absl::StrCat("unsupported hidden_act \"", hidden_act,
                                                 "\"; only \"gelu\" (exact erf GELU) is supported"));
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
