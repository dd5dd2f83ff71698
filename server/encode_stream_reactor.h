// EncodeStreamReactor: the ServerBidiReactor behind EncoderService.EncodeStream.
//
// Each request read becomes a slot; slots are answered in request order. A slot's request is parsed,
// validated and tokenized on the PreparationPool and computed by the BatchScheduler (EncodeCall); what a
// slot no longer needs is freed as it goes: the wire request once parsed, the parsed request once
// submitted, the response message once serialized, the serialized answer once written. Each slot holds its
// bytes on the server-wide ByteBudget (request, then response); a slot that cannot reserve is answered
// RESOURCE_EXHAUSTED in its place.
//
// State machine, all under mu_:
//   reading_  a StartRead is outstanding (at most one);  writing_  a StartWrite is outstanding (at most one);
//   slots_    requests read and not yet written, in order; the head is written once its call is done;
//   reads_done_ the client half-closed (or the stream broke); Finish (OK) when nothing is left;
//   draining_ the server is shutting down: no new read starts, and once every slot is written the stream
//             finishes UNAVAILABLE, even with a read outstanding (it then completes without effect).
// The next read starts only while fewer than max_stream_in_flight slots are open, none is still being
// prepared, and the slots hold less than an eighth of --max_inflight_bytes (each slot holds its request,
// then twice its response's estimate, then its serialized answer until written): a client that does not
// read its answers stops being read.
//
// Thread safety: gRPC's reactions, the preparation tasks, the scheduler's done callbacks and the service's
// drain may all run at once; the lock order is the service's lock, then mu_.
#ifndef QKV_SERVER_ENCODE_STREAM_REACTOR_H_
#define QKV_SERVER_ENCODE_STREAM_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "qkv/v1/encoder.pb.h"
#include "server/byte_budget.h"
#include "server/encode_call.h"
#include "server/encoder_service.h"
#include "server/observability/call_tracker.h"

namespace qkv {

class EncodeStreamReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                                  public EncoderService::Stream {
 public:
  // Created under the service's lock. A non-OK `refuse` (draining, too many streams) finishes the stream
  // at once with that status. `client` is the caller's ClientKey. `stream_id` is the call's request id;
  // each message is reported to the service's observer as
  // "<stream_id>/<its request_id, or #index when that is empty or unusable>".
  EncodeStreamReactor(EncoderService* service, absl::Time deadline, std::string client,
                      const absl::Status& refuse, std::string peer, std::string stream_id);

  bool PinForDrain() override;
  void DrainPinned() override { Advance(/*unpin=*/true); }

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  struct Slot {
    grpc::ByteBuffer request;  // the wire request until it is parsed
    int64_t request_bytes = 0;
    int64_t index = 0;  // the message's position in the stream
    v1::EncodeStreamResponse response;
    grpc::ByteBuffer wire;                // `response` serialized, once done
    ByteBudget::Reservation reservation;  // this slot's bytes on the budget
    int64_t held = 0;                     // reservation.bytes(), as last seen under mu_
    std::shared_ptr<EncodeCall> call;     // while computing
    std::unique_ptr<CallTracker> tracker;  // reports the message when it is done
    bool done = false;
  };

  // On a preparation thread: parses the slot's request and starts its call (or answers it).
  void Prepare(Slot* slot);
  // Ends the slot's preparation (preparing_) and answers it with `status`.
  void PrepareFailed(Slot* slot, const absl::Status& status);
  void SlotDone(Slot* slot, const absl::Status& status);
  static void SetOutcome(const absl::Status& status, v1::EncodeStreamResponse* response);
  static grpc::Status DrainStatus();
  void BreakLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool MayReadLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts whatever the state allows: the next write, the next read, or Finish. Called without mu_, from a
  // gRPC reaction (gRPC runs OnDone only after it returns) or, with `unpin`, by a pinned SlotDone or
  // DrainPinned: the pin is released under mu_ in the same step that decides whether to Finish, so Finish
  // is called only by the last thread that may touch the reactor.
  void Advance(bool unpin = false);

  EncoderService* const service_;
  const absl::Time deadline_;
  const std::string client_;
  const int window_;
  const int64_t byte_cap_;     // the slots' bytes beyond which no read starts
  grpc::ByteBuffer incoming_;  // written by the one outstanding read
  CallObserver* const observer_;
  const std::string peer_;
  const std::string stream_id_;
  int64_t messages_read_ = 0;  // touched only in OnReadDone (one read at a time)

  absl::Mutex mu_;
  std::deque<std::unique_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // Slots handed to the pool and not yet prepared: their size on the budget is not known yet, so no read
  // starts meanwhile.
  int preparing_ ABSL_GUARDED_BY(mu_) = 0;
  int pins_ ABSL_GUARDED_BY(mu_) = 0;  // threads between marking a slot done (or a drain) and their Advance's end
};

}  // namespace qkv

#endif  // QKV_SERVER_ENCODE_STREAM_REACTOR_H_
