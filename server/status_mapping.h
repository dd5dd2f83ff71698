// ToGrpcStatus: the one place where absl::Status becomes grpc::Status.
//
// absl::StatusCode values are google.rpc.Code values (absl/status/status.h), so the code carries over as is.
// The message is cut to kMaxStatusMessageBytes (on a UTF-8 boundary, "...[truncated]" appended), so that a
// huge error can't blow up trailers.
#ifndef QKV_SERVER_STATUS_MAPPING_H_
#define QKV_SERVER_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace qkv {

inline constexpr size_t kMaxStatusMessageBytes = 1024;

grpc::Status ToGrpcStatus(const absl::Status& status);

// `message` cut to at most `max_bytes` plus the marker, never inside a UTF-8 sequence.
std::string TruncateStatusMessage(absl::string_view message, size_t max_bytes = kMaxStatusMessageBytes);

}  // namespace qkv

#endif  // QKV_SERVER_STATUS_MAPPING_H_
