// EncodeCall: one Encode request's life after parsing, shared by the unary Encode reactor and each
// EncodeStream slot: validate and tokenize (on a preparation thread), reserve the response's bytes, submit
// to the BatchScheduler, and on completion fill the response and call `finish` exactly once.
//
//   auto call = std::make_shared<EncodeCall>(backend, deadline, client, &response, &reservation, finish);
//   call->Start(request, wire_bytes);   // on a PreparationPool thread; may call finish before returning
//                                       // (or Prepare, then Submit, to act in between)
//   call->Cancel();                     // any time, any thread (e.g. from OnCancel)
//
// Owned by shared_ptr: the scheduler's done callback holds a reference, so the object outlives `finish`
// even when its owner lets go inside it.
//
// Thread safety: Start (or Prepare and Submit) once, from one thread; Cancel from any thread; `finish` runs on the Start thread
// (refused or invalid requests), on a scheduler worker, or on the thread that cancels a queued job.
#ifndef QKV_SERVER_ENCODE_CALL_H_
#define QKV_SERVER_ENCODE_CALL_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "qkv/v1/encoder.pb.h"
#include "server/batch_scheduler.h"
#include "server/byte_budget.h"
#include "server/encoder_service.h"
#include "server/observability/call_tracker.h"
#include "server/proto_convert.h"

namespace qkv {

class EncodeCall : public std::enable_shared_from_this<EncodeCall> {
 public:
  using Finish = std::function<void(const absl::Status&)>;

  // `response` and `reservation` are not owned and must stay valid until `finish` has run; `reservation`
  // holds the request's bytes on backend.budget and is resized by Start to the request plus twice the
  // response's estimated size (so that the response and its serialized copy fit).
  EncodeCall(EncoderService::Backend backend, absl::Time deadline, std::string client,
             v1::EncodeResponse* response, ByteBudget::Reservation* reservation, Finish finish);

  // Start = Prepare, then Submit (or `finish` with Prepare's error).
  void Start(const v1::EncodeRequest& request, int64_t wire_bytes);

  // Validates and tokenizes `request` (only read before Prepare returns) and resizes the reservation for
  // the response. `wire_bytes`: the serialized request's size, still held by the caller while the call
  // runs. On error nothing was submitted and `finish` has not run: the caller answers.
  absl::Status Prepare(const v1::EncodeRequest& request, int64_t wire_bytes);
  // Submits the prepared job; `finish` runs exactly once from here on (refusals, CANCELLED when Cancel
  // came first, or the job's outcome). REQUIRES: Prepare returned OK.
  void Submit();

  // Cancels the queued job, or makes a later Start refuse with CANCELLED.
  void Cancel();
  bool cancelled() const;

  // What the observer reports; complete when `finish` runs.
  const ExecutionStats& stats() const { return stats_; }

 private:
  void OnDone(absl::StatusOr<JobResult> result);

  const EncoderService::Backend backend_;
  const absl::Time deadline_;
  const std::string client_;
  const absl::Time arrival_ = absl::Now();
  v1::EncodeResponse* const response_;
  ByteBudget::Reservation* const reservation_;
  const Finish finish_;
  PreparedEncode prepared_;  // the job's spans point into it
  ExecutionStats stats_;     // written before each call of finish_ only

  mutable absl::Mutex mu_;
  JobId job_ ABSL_GUARDED_BY(mu_) = 0;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace qkv

#endif  // QKV_SERVER_ENCODE_CALL_H_
