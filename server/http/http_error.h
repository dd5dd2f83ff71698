// The one mapping from absl/gRPC status codes to HTTP statuses for every JSON route, and the errors the
// HTTP adapters raise themselves before a request reaches the service.
//
//   INVALID_ARGUMENT / OUT_OF_RANGE  422 (the request is well-formed JSON of the right shape, but its values
//                                        are refused: too long, bad ids, unknown layer, too many inputs)
//   malformed body                   400 (not JSON, wrong JSON types, unknown or missing fields, empty input):
//                                        raised by the adapters with MalformedRequest()
//   body over the limit              413 (BodyTooLarge(), checked before parsing)
//   UNAUTHENTICATED 401   PERMISSION_DENIED 403   NOT_FOUND 404   RESOURCE_EXHAUSTED 429
//   CANCELLED 499   DEADLINE_EXCEEDED 504   UNAVAILABLE 503   UNIMPLEMENTED 501
//   FAILED_PRECONDITION / ABORTED / ALREADY_EXISTS 400 / 409 / 409   anything else 500
//
// An adapter error carries the HTTP status and the offending request parameter as absl::Status payloads,
// so that one absl::Status flows from the adapters and the service to the route's error writer.
//
// Thread safety: stateless functions.
#ifndef QKV_SERVER_HTTP_HTTP_ERROR_H_
#define QKV_SERVER_HTTP_HTTP_ERROR_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace qkv {

// INVALID_ARGUMENT answered 400: the body is not the JSON the route takes. `param` names the field
// ("input", "inputs[2]", "encoding_format"); empty when the body as a whole is at fault.
absl::Status MalformedRequest(absl::string_view param, absl::string_view message);

// RESOURCE_EXHAUSTED answered 413: the body has `bytes` > `limit`.
absl::Status BodyTooLarge(int64_t bytes, int64_t limit);

// NOT_FOUND naming the parameter (e.g. an OpenAI `model` that is not the served model).
absl::Status NotFoundParam(absl::string_view param, absl::string_view message);

// The HTTP status for `status` (200 when ok).
int HttpStatusFor(const absl::Status& status);

// The request parameter an error names, or "" when none is known.
std::string ErrorParam(const absl::Status& status);

// The lower_snake_case name of the code, as Connect and OpenAI's `code` field spell it ("invalid_argument").
std::string CodeName(absl::StatusCode code);

}  // namespace qkv

#endif  // QKV_SERVER_HTTP_HTTP_ERROR_H_
