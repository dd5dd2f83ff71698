// POST /v1/embeddings in the shape of OpenAI's embeddings API, as an adapter onto qkv.v1 Encode.
//
// Request:  {"input": <string | [string] | [id] | [[id]]>, "model"?: <the served model's name>,
//            "encoding_format"?: "float" | "base64", "dimensions"?: int, "user"?: string}
// Response: {"object": "list", "data": [{"object": "embedding", "index": i, "embedding": [...] | "b64"}],
//            "model": name, "usage": {"prompt_tokens": n, "total_tokens": n}}
// Each input is pooled and normalized as the model's defaults say (GetModelInfo default_pooling and
// default_normalize), exactly as a gRPC Encode with default options; over-long inputs are refused (OpenAI
// does the same). `dimensions` keeps the first `dimensions` values and L2-normalizes them again (Matryoshka
// models). base64 is the little-endian float32 bytes of the vector, as the OpenAI SDKs decode it.
// Errors: {"error": {"message", "type", "param", "code"}} with the status of http_error.h.
//
// Thread safety: stateless functions.
#ifndef QKV_SERVER_HTTP_OPENAI_API_H_
#define QKV_SERVER_HTTP_OPENAI_API_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "qkv/v1/encoder.pb.h"

namespace qkv {

struct OpenAiEmbeddingsRequest {
  v1::EncodeRequest encode;  // the Encode the route runs
  bool base64 = false;       // encoding_format == "base64"
  int dimensions = 0;        // > 0: truncate to this many values and re-normalize; 0 = all D values
};

// Validates `body` (a parsed JSON object). `model` is the served model's name; `hidden_size` is D.
absl::StatusOr<OpenAiEmbeddingsRequest> ParseOpenAiEmbeddings(const nlohmann::json& body,
                                                              absl::string_view model, int hidden_size);

// The response body for `response`, the Encode result of `request`.
absl::StatusOr<nlohmann::json> OpenAiEmbeddingsResponse(const OpenAiEmbeddingsRequest& request,
                                                        const v1::EncodeResponse& response,
                                                        absl::string_view model);

// The error body for a failed request.
nlohmann::json OpenAiError(const absl::Status& status);

}  // namespace qkv

#endif  // QKV_SERVER_HTTP_OPENAI_API_H_
