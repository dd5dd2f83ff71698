// Routes in the shape of Hugging Face text-embeddings-inference (TEI), as adapters onto qkv.v1:
//
//   POST /embed      {"inputs", "normalize"?=true, "truncate"?=false, "truncation_direction"?="right",
//                     "dimensions"?}                       -> [[float, ...], ...]   (pooled, one per input)
//   POST /embed_all  {"inputs", "truncate"?, "truncation_direction"?} -> [[[float, ...] per token] per input]
//   POST /tokenize   {"inputs": string | [string], "add_special_tokens"?=true}
//                    -> [[{"id", "text", "special", "start", "stop"}, ...], ...]   (byte offsets; specials
//                       have null start/stop and their token as text, as TEI answers)
//   GET  /info       {"model_id", "model_dtype", "model_type": {"embedding": {"pooling"}}, "max_input_length",
//                     "max_batch_tokens", "max_client_batch_size", "version", ...}
// Errors: {"error": message, "error_type": "Validation" | "Empty" | "Overloaded" | "Unhealthy" | "Backend"},
// with the status of http_error.h (422 validation, 400 empty or malformed, 413 body too large,
// 429 overloaded, 503 unavailable). `inputs` takes what AppendInputs takes. Unknown fields are ignored, as
// TEI ignores them. truncation_direction "left" is refused (qkv truncates from the end only).
//
// Thread safety: stateless functions.
#ifndef QKV_SERVER_HTTP_TEI_API_H_
#define QKV_SERVER_HTTP_TEI_API_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "qkv/v1/encoder.pb.h"

namespace qkv {

struct TeiEmbedRequest {
  v1::EncodeRequest encode;
  int dimensions = 0;  // > 0: keep the first `dimensions` values (re-normalized when normalize is on)
};

// /embed (`all` false: pooled vectors) or /embed_all (`all` true: token vectors). `hidden_size` is D.
absl::StatusOr<TeiEmbedRequest> ParseTeiEmbed(const nlohmann::json& body, bool all, int hidden_size);
// [[...]] per input for /embed.
absl::StatusOr<nlohmann::json> TeiEmbedResponse(const TeiEmbedRequest& request,
                                                const v1::EncodeResponse& response);
// Most floats an /embed_all answer may hold (4M: about 100 MB of JSON); more is RESOURCE_EXHAUSTED.
inline constexpr int64_t kMaxJsonTokenFloats = 4 << 20;

// [[[...]]] per input and token for /embed_all.
absl::StatusOr<nlohmann::json> TeiEmbedAllResponse(const v1::EncodeResponse& response);

struct TeiTokenizeRequest {
  std::vector<v1::TokenizeRequest> texts;  // one Tokenize per input
  bool add_special_tokens = true;
};
absl::StatusOr<TeiTokenizeRequest> ParseTeiTokenize(const nlohmann::json& body);
nlohmann::json TeiTokenizeResponse(const TeiTokenizeRequest& request,
                                   const std::vector<v1::TokenizeResponse>& responses);

// /info from GetModelInfo.
nlohmann::json TeiInfo(const v1::GetModelInfoResponse& info);

nlohmann::json TeiError(const absl::Status& status);

}  // namespace qkv

#endif  // QKV_SERVER_HTTP_TEI_API_H_
