// Request ids: every request carries one, for the access log and for the client to quote. A client may
// send its own in the x-request-id metadata (header); the server keeps it when usable and otherwise makes
// one. The id is returned under the same key: in the initial metadata on success, in the trailing metadata
// on error (call_tracker.h: ReturnRequestId).
//
// Thread safety: stateless; safe from any thread.
#ifndef QKV_SERVER_OBSERVABILITY_REQUEST_ID_H_
#define QKV_SERVER_OBSERVABILITY_REQUEST_ID_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace qkv {

// The metadata key (gRPC) and header name (HTTP).
inline constexpr char kRequestIdKey[] = "x-request-id";
// Longest client-supplied id kept; a longer one is replaced.
inline constexpr size_t kMaxRequestIdLength = 128;

// Whether `id` may be used as is: 1..kMaxRequestIdLength characters, each printable ASCII other than space,
// double quote and backslash (so it stays one token in text logs and needs no escaping in JSON).
bool IsUsableRequestId(absl::string_view id);

// A new id: 32 lower-case hex digits (128 random bits).
std::string NewRequestId();

// `incoming` when IsUsableRequestId(incoming), else NewRequestId().
std::string RequestIdOrNew(absl::string_view incoming);

}  // namespace qkv

#endif  // QKV_SERVER_OBSERVABILITY_REQUEST_ID_H_
