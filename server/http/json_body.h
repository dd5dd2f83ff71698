// Reading JSON request bodies for the HTTP routes: bounded parsing, and the `input` / `inputs` value that
// OpenAI's and TEI's embedding routes share.
//
// Thread safety: stateless functions.
#ifndef QKV_SERVER_HTTP_JSON_BODY_H_
#define QKV_SERVER_HTTP_JSON_BODY_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "qkv/v1/encoder.pb.h"

namespace qkv {

// Parses `body` as one JSON object with core's ParseBoundedJson (nesting deeper than kMaxJsonDepth is
// refused by a linear scan before nlohmann parses anything, so a hostile body costs O(size)). Errors are
// MalformedRequest (HTTP 400) saying where the JSON is broken; an object is required at the top.
absl::StatusOr<nlohmann::json> ParseJsonObject(absl::string_view body);

// Appends the inputs `value` holds to `request`, as OpenAI's `input` and TEI's `inputs` spell them:
//   "text"                    one text
//   ["text", ...]             one text each
//   [id, ...]                 one pre-tokenized sequence (token ids, sent to the model as they are)
//   [[id, ...], ...]          one pre-tokenized sequence each
// TEI additionally allows mixing texts and id arrays in one batch; so does this. Errors are
// MalformedRequest naming `param` and the index: wrong types, an empty batch, an empty text list entry is
// fine (the service refuses it if the model can't take it), ids outside int32.
absl::Status AppendInputs(const nlohmann::json& value, absl::string_view param, v1::EncodeRequest* request);

// The value of an optional field of `object`, or nullptr when absent or null.
const nlohmann::json* OptionalField(const nlohmann::json& object, absl::string_view name);

// Checks that `object` has no fields but `allowed`; unknown fields are MalformedRequest naming them
// (a misspelled option must not be silently ignored).
absl::Status CheckKnownFields(const nlohmann::json& object, std::initializer_list<absl::string_view> allowed);

}  // namespace qkv

#endif  // QKV_SERVER_HTTP_JSON_BODY_H_
