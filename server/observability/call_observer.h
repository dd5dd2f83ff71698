// CallObserver: what the gRPC service (and, later, the HTTP adapters) report about each request, one call
// per event. The production observer (ServerObserver) feeds the Prometheus metrics and the access log;
// tests and embedders that want neither pass nothing (NoopCallObserver).
//
// Thread safety: implementations must accept every method from any thread at once.
#ifndef QKV_SERVER_OBSERVABILITY_CALL_OBSERVER_H_
#define QKV_SERVER_OBSERVABILITY_CALL_OBSERVER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace qkv {

// One finished request. For EncodeStream, one message of the stream (the stream itself is reported by
// StreamOpened/StreamClosed).
struct CallRecord {
  // The operation, a fixed low-cardinality name: "Encode", "EncodeStream", "Tokenize", "GetModelInfo".
  std::string method;
  // The caller as gRPC names it, e.g. "ipv4:127.0.0.1:50312".
  std::string peer;
  // The x-request-id the client sent, or the one the server made (request_id.h). For a stream message:
  // "<stream id>/<message request_id or index>".
  std::string request_id;
  absl::StatusCode code = absl::StatusCode::kOk;
  // The error message when code is not OK.
  std::string message;
  // Sequences in the request and their tokens (0 when the request failed before it was tokenized).
  int64_t sequences = 0;
  int64_t tokens = 0;
  // Arrival -> answer; queued before the last batch started; summed batch compute. queue and compute are
  // zero unless `computed`.
  absl::Duration total;
  absl::Duration queue;
  absl::Duration compute;
  // The request reached the scheduler and ran (false: refused, invalid, cancelled or expired before it ran).
  bool computed = false;
};

class CallObserver {
 public:
  virtual ~CallObserver() = default;
  // A request began (in-flight +1). Each CallStarted is followed by exactly one CallFinished with the same
  // method.
  virtual void CallStarted(absl::string_view method) = 0;
  // The request was answered (in-flight -1).
  virtual void CallFinished(const CallRecord& record) = 0;
  // An EncodeStream call opened / ended (once each per stream).
  virtual void StreamOpened() = 0;
  virtual void StreamClosed() = 0;
  // An open EncodeStream was cancelled: by its client, its deadline, or the end of a shutdown's grace
  // period. At most once per stream, between StreamOpened and StreamClosed.
  virtual void StreamCancelled() = 0;
};

// An observer that records nothing. Never null; lives forever.
CallObserver* NoopCallObserver();

}  // namespace qkv

#endif  // QKV_SERVER_OBSERVABILITY_CALL_OBSERVER_H_
