#include "server/http/openai_api.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/http/http_error.h"
#include "server/http/json_body.h"

namespace qkv {
namespace {

// The first `dims` values of `values`, L2-normalized again when `renormalize`.
std::vector<float> Truncated(const google::protobuf::RepeatedField<float>& values, int dims, bool renormalize) {
  std::vector<float> out(values.begin(), values.begin() + dims);
  if (!renormalize) return out;
  double sum = 0;
  for (float v : out) sum += static_cast<double>(v) * v;
  if (sum > 0) {
    const double scale = 1.0 / std::sqrt(sum);
    for (float& v : out) v = static_cast<float>(v * scale);
  }
  return out;
}

std::string Base64Floats(const std::vector<float>& values) {
  // x86-64 is little-endian, the byte order the OpenAI SDKs read (Float32Array / numpy "<f4").
  std::string bytes(values.size() * sizeof(float), '\0');
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return absl::Base64Escape(bytes);
}

const char* ErrorType(int http_status) {
  switch (http_status) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 429:
      return "rate_limit_error";
    default:
      return http_status < 500 ? "invalid_request_error" : "server_error";
  }
}

}  // namespace

absl::StatusOr<OpenAiEmbeddingsRequest> ParseOpenAiEmbeddings(const nlohmann::json& body,
                                                              absl::string_view model, int hidden_size) {
  absl::Status known = CheckKnownFields(body, {"input", "model", "encoding_format", "dimensions", "user"});
  if (!known.ok()) return known;
  OpenAiEmbeddingsRequest out;
  const nlohmann::json* input = OptionalField(body, "input");
  if (input == nullptr) return MalformedRequest("input", "is required");
  absl::Status status = AppendInputs(*input, "input", &out.encode);
  if (!status.ok()) return status;

  if (const nlohmann::json* name = OptionalField(body, "model")) {
    if (!name->is_string()) return MalformedRequest("model", "expected a string");
    if (name->get<std::string>() != model) {
      return NotFoundParam("model", absl::StrCat("this server serves \"", model, "\", not \"",
                                                 name->get<std::string>(), "\"; send that name or omit it"));
    }
  }
  if (const nlohmann::json* format = OptionalField(body, "encoding_format")) {
    if (!format->is_string() || (*format != "float" && *format != "base64")) {
      return MalformedRequest("encoding_format", "expected \"float\" or \"base64\"");
    }
    out.base64 = *format == "base64";
  }
  if (const nlohmann::json* dims = OptionalField(body, "dimensions")) {
    if (!dims->is_number_integer() || dims->get<int64_t>() < 1 || dims->get<int64_t>() > hidden_size) {
      return MalformedRequest("dimensions",
                              absl::StrCat("expected an integer in [1, ", hidden_size, "] (the model's size)"));
    }
    out.dimensions = dims->get<int>();
  }
  if (const nlohmann::json* user = OptionalField(body, "user"); user != nullptr && !user->is_string()) {
    return MalformedRequest("user", "expected a string");
  }
  out.encode.mutable_options()->set_truncation(v1::TRUNCATION_REJECT);
  return out;
}

absl::StatusOr<nlohmann::json> OpenAiEmbeddingsResponse(const OpenAiEmbeddingsRequest& request,
                                                        const v1::EncodeResponse& response,
                                                        absl::string_view model) {
  nlohmann::json data = nlohmann::json::array();
  for (int i = 0; i < response.outputs_size(); ++i) {
    const v1::Tensor& pooled = response.outputs(i).pooled();
    const int size = pooled.values_size();
    if (size == 0) {
      return absl::FailedPreconditionError(
          "the model's default pooling is none, so there is no embedding; use /qkv.v1.EncoderService/Encode");
    }
    const int dims = request.dimensions > 0 ? request.dimensions : size;
    std::vector<float> values = Truncated(pooled.values(), dims, /*renormalize=*/request.dimensions > 0);
    nlohmann::json item = {{"object", "embedding"}, {"index", i}};
    if (request.base64) {
      item["embedding"] = Base64Floats(values);
    } else {
      item["embedding"] = std::move(values);
    }
    data.push_back(std::move(item));
  }
  const int64_t tokens = response.input_tokens();
  return nlohmann::json{{"object", "list"},
                        {"data", std::move(data)},
                        {"model", std::string(model)},
                        {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
}

nlohmann::json OpenAiError(const absl::Status& status) {
  const int http_status = HttpStatusFor(status);
  const std::string param = ErrorParam(status);
  return {{"error",
           {{"message", std::string(status.message())},
            {"type", ErrorType(http_status)},
            {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
            {"code", CodeName(status.code())}}}};
}

}  // namespace qkv
