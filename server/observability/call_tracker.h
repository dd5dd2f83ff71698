// CallTracker: one request as the CallObserver sees it. Construction reports CallStarted and settles the
// request id (for a gRPC call: the client's x-request-id metadata when usable, else a new one); Finish
// sends the id back (ReturnRequestId) and reports CallFinished exactly once (the destructor finishes an
// unfinished tracker as CANCELLED without touching the call, so no request leaves the in-flight gauge
// unbalanced).
//
//   CallTracker tracker(observer, "Tokenize", context);
//   ...
//   tracker.Finish(status);              // before the reactor's Finish
//
// Thread safety: a tracker is used by one thread at a time (the one answering its request).
#ifndef QKV_SERVER_OBSERVABILITY_CALL_TRACKER_H_
#define QKV_SERVER_OBSERVABILITY_CALL_TRACKER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/observability/call_observer.h"

namespace qkv {

// What the scheduler reports about a request that was prepared (and perhaps ran).
struct ExecutionStats {
  int64_t sequences = 0;
  int64_t tokens = 0;
  bool computed = false;
  absl::Duration queue;
  absl::Duration compute;
};

// The call's request id: its x-request-id metadata when usable (request_id.h), else a new one.
std::string SettleRequestId(const grpc::CallbackServerContext* context);

// Sends `id` back to the client as x-request-id: in the initial metadata when `status` is OK, else in the
// trailing metadata. Initial metadata before an error would turn a Trailers-Only answer into headers +
// trailers, and gRPC clients commit a call (stop retrying it) once they see headers: UNAVAILABLE while
// loading or draining must stay retryable. Call once per call, before its first write or its Finish.
void ReturnRequestId(grpc::CallbackServerContext* context, const std::string& id, const absl::Status& status);

class CallTracker {
 public:
  // A gRPC call: the request id comes from (and goes back in) `context`'s metadata. `method` is a literal.
  // `observer` and `context` are not owned; the observer must outlive the tracker, the context must be
  // alive when Finish is called.
  CallTracker(CallObserver* observer, const char* method, grpc::CallbackServerContext* context);
  // A request inside a call (an EncodeStream message) whose id and peer the caller settled.
  CallTracker(CallObserver* observer, const char* method, std::string peer, std::string request_id);
  ~CallTracker();
  CallTracker(const CallTracker&) = delete;
  CallTracker& operator=(const CallTracker&) = delete;

  const std::string& request_id() const { return record_.request_id; }
  const std::string& peer() const { return record_.peer; }

  // Sets the figures reported with Finish.
  void SetExecution(const ExecutionStats& stats);
  // Sends the request id back (gRPC calls) and reports the request answered with `status`. Call before
  // the reactor's Finish. Later calls do nothing.
  void Finish(const absl::Status& status);

 private:
  CallObserver* const observer_;
  grpc::CallbackServerContext* context_ = nullptr;  // null for a request inside a call
  const absl::Time start_ = absl::Now();
  CallRecord record_;
  bool finished_ = false;
};

}  // namespace qkv

#endif  // QKV_SERVER_OBSERVABILITY_CALL_TRACKER_H_
