#include "server/http/tei_api.h"

#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/http/http_error.h"
#include "server/http/json_body.h"

namespace qkv {
namespace {

absl::Status ReadBool(const nlohmann::json& body, const char* name, bool* out) {
  if (const nlohmann::json* value = OptionalField(body, name)) {
    if (!value->is_boolean()) return MalformedRequest(name, "expected true or false");
    *out = value->get<bool>();
  }
  return absl::OkStatus();
}

// truncate / truncation_direction, shared by /embed and /embed_all.
absl::Status ReadTruncation(const nlohmann::json& body, v1::EncodeOptions* options) {
  bool truncate = false;
  absl::Status status = ReadBool(body, "truncate", &truncate);
  if (!status.ok()) return status;
  if (const nlohmann::json* direction = OptionalField(body, "truncation_direction")) {
    if (!direction->is_string()) return MalformedRequest("truncation_direction", "expected \"right\"");
    const std::string d = absl::AsciiStrToLower(direction->get<std::string>());
    if (d == "left") {
      return absl::InvalidArgumentError(
          "truncation_direction: \"left\" is not supported; qkv truncates from the end (\"right\")");
    }
    if (d != "right") return MalformedRequest("truncation_direction", "expected \"right\" or \"left\"");
  }
  options->set_truncation(truncate ? v1::TRUNCATION_TRUNCATE : v1::TRUNCATION_REJECT);
  return absl::OkStatus();
}

std::string PoolingName(v1::Pooling pooling) {
  switch (pooling) {
    case v1::POOLING_CLS:
      return "cls";
    case v1::POOLING_MEAN:
      return "mean";
    case v1::POOLING_POOLER:
      return "pooler";
    default:
      return "none";
  }
}

const char* ErrorType(const absl::Status& status) {
  switch (HttpStatusFor(status)) {
    case 400:
      return "Empty";
    case 429:
    case 413:
      return "Overloaded";
    case 503:
      return "Unhealthy";
    default:
      return HttpStatusFor(status) < 500 ? "Validation" : "Backend";
  }
}

}  // namespace

absl::StatusOr<TeiEmbedRequest> ParseTeiEmbed(const nlohmann::json& body, bool all, int hidden_size) {
  TeiEmbedRequest out;
  const nlohmann::json* inputs = OptionalField(body, "inputs");
  if (inputs == nullptr) return MalformedRequest("inputs", "is required");
  absl::Status status = AppendInputs(*inputs, "inputs", &out.encode);
  if (!status.ok()) return status;
  v1::EncodeOptions* options = out.encode.mutable_options();
  status = ReadTruncation(body, options);
  if (!status.ok()) return status;
  if (const nlohmann::json* prompt = OptionalField(body, "prompt_name")) {
    (void)prompt;
    return absl::InvalidArgumentError("prompt_name: prompts are not supported; prepend the prompt to the text");
  }
  if (all) {
    options->set_pooling(v1::POOLING_NONE);
    options->set_return_token_vectors(true);
    return out;
  }
  bool normalize = true;  // TEI's default
  status = ReadBool(body, "normalize", &normalize);
  if (!status.ok()) return status;
  options->set_normalize(normalize);
  if (const nlohmann::json* dims = OptionalField(body, "dimensions")) {
    if (!dims->is_number_integer() || dims->get<int64_t>() < 1 || dims->get<int64_t>() > hidden_size) {
      return MalformedRequest("dimensions",
                              absl::StrCat("expected an integer in [1, ", hidden_size, "] (the model's size)"));
    }
    out.dimensions = dims->get<int>();
  }
  return out;
}

absl::StatusOr<nlohmann::json> TeiEmbedResponse(const TeiEmbedRequest& request,
                                                const v1::EncodeResponse& response) {
  const bool renormalize = request.encode.options().normalize();
  nlohmann::json out = nlohmann::json::array();
  for (const v1::Output& output : response.outputs()) {
    const auto& values = output.pooled().values();
    if (values.empty()) {
      return absl::FailedPreconditionError(
          "the model's default pooling is none, so there is no embedding; use /embed_all");
    }
    const int dims = request.dimensions > 0 ? request.dimensions : values.size();
    std::vector<float> vec(values.begin(), values.begin() + dims);
    if (request.dimensions > 0 && renormalize) {
      double sum = 0;
      for (float v : vec) sum += static_cast<double>(v) * v;
      if (sum > 0) {
        const double scale = 1.0 / std::sqrt(sum);
        for (float& v : vec) v = static_cast<float>(v * scale);
      }
    }
    out.push_back(std::move(vec));
  }
  return out;
}

absl::StatusOr<nlohmann::json> TeiEmbedAllResponse(const v1::EncodeResponse& response) {
  // A JSON tree costs tens of bytes per float: bound the floats before building it.
  int64_t floats = 0;
  for (const v1::Output& output : response.outputs()) floats += output.token_vectors().values_size();
  if (floats > kMaxJsonTokenFloats) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the token vectors hold ", floats, " floats > ", kMaxJsonTokenFloats,
                     " for a JSON answer; send fewer or shorter inputs, or use gRPC Encode"));
  }
  nlohmann::json out = nlohmann::json::array();
  for (const v1::Output& output : response.outputs()) {
    const v1::Tensor& tensor = output.token_vectors();
    if (tensor.shape_size() != 2) return absl::InternalError("token vectors are not [T, D]");
    const int64_t t = tensor.shape(0);
    const int64_t d = tensor.shape(1);
    if (t < 0 || d < 0 || t * d != tensor.values_size()) {
      return absl::InternalError("token vectors do not match their shape");
    }
    nlohmann::json rows = nlohmann::json::array();
    for (int64_t row = 0; row < t; ++row) {
      const float* begin = tensor.values().data() + row * d;
      rows.push_back(std::vector<float>(begin, begin + d));
    }
    out.push_back(std::move(rows));
  }
  return out;
}

absl::StatusOr<TeiTokenizeRequest> ParseTeiTokenize(const nlohmann::json& body) {
  TeiTokenizeRequest out;
  const nlohmann::json* inputs = OptionalField(body, "inputs");
  if (inputs == nullptr) return MalformedRequest("inputs", "is required");
  auto add = [&](const nlohmann::json& text, const std::string& param) -> absl::Status {
    if (!text.is_string()) return MalformedRequest(param, absl::StrCat("expected a string, got ", text.type_name()));
    v1::TokenizeRequest& request = out.texts.emplace_back();
    request.set_text(text.get<std::string>());
    request.set_truncation(v1::TRUNCATION_REJECT);  // bounded by the model's max positions, like Encode
    return absl::OkStatus();
  };
  if (inputs->is_array()) {
    if (inputs->empty()) return MalformedRequest("inputs", "is empty; send at least one input");
    for (size_t i = 0; i < inputs->size(); ++i) {
      absl::Status status = add((*inputs)[i], absl::StrCat("inputs[", i, "]"));
      if (!status.ok()) return status;
    }
  } else {
    absl::Status status = add(*inputs, "inputs");
    if (!status.ok()) return status;
  }
  absl::Status status = ReadBool(body, "add_special_tokens", &out.add_special_tokens);
  if (!status.ok()) return status;
  return out;
}

nlohmann::json TeiTokenizeResponse(const TeiTokenizeRequest& request,
                                   const std::vector<v1::TokenizeResponse>& responses) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < responses.size() && i < request.texts.size(); ++i) {
    const v1::TokenizeResponse& r = responses[i];
    const std::string& text = request.texts[i].text();
    nlohmann::json tokens = nlohmann::json::array();
    for (int j = 0; j < r.ids_size(); ++j) {
      const bool special = j < r.special_size() && r.special(j);
      if (special && !request.add_special_tokens) continue;
      if (special) {
        tokens.push_back({{"id", r.ids(j)}, {"text", r.tokens(j)}, {"special", true},
                          {"start", nullptr}, {"stop", nullptr}});
        continue;
      }
      const int begin = r.byte_begin(j);
      const int end = r.byte_end(j);
      tokens.push_back({{"id", r.ids(j)},
                        {"text", text.substr(begin, end - begin)},
                        {"special", false},
                        {"start", begin},
                        {"stop", end}});
    }
    out.push_back(std::move(tokens));
  }
  return out;
}

nlohmann::json TeiInfo(const v1::GetModelInfoResponse& info) {
  return {{"model_id", info.model()},
          {"model_sha", nullptr},
          {"model_dtype", info.precision().empty() ? "float32" : info.precision()},
          {"model_type", {{"embedding", {{"pooling", PoolingName(info.default_pooling())}}}}},
          {"max_concurrent_requests", info.limits().max_batch_sequences()},
          {"max_input_length", info.architecture().max_position_embeddings()},
          {"max_batch_tokens", info.limits().max_batch_tokens()},
          {"max_batch_requests", nullptr},
          {"max_client_batch_size", info.limits().max_batch_sequences()},
          {"auto_truncate", false},
          {"tokenization_workers", info.limits().workers()},
          {"version", info.version()},
          {"sha", nullptr},
          {"docker_label", nullptr}};
}

nlohmann::json TeiError(const absl::Status& status) {
  return {{"error", std::string(status.message())}, {"error_type", ErrorType(status)}};
}

}  // namespace qkv
