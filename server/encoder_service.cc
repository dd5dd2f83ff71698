#include "server/encoder_service.h"

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/message_codec.h"
#include "server/observability/call_tracker.h"
#include "server/observability/request_id.h"
#include "server/proto_convert.h"
#include "server/status_mapping.h"

namespace qkv {
namespace {

// The call's deadline as absl::Time; InfiniteFuture when the caller set none.
absl::Time Deadline(const grpc::CallbackServerContext* context) {
  const std::chrono::system_clock::time_point deadline = context->deadline();
  if (deadline >= std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

// One Encode: prepare, submit, and on completion fill `response` and call `finish` exactly once (possibly
// before Start returns, on this thread, when the request is invalid or refused). Cancel() may be called at
// any time from any thread. Owned by shared_ptr: the scheduler's done callback holds a reference, so the
// object outlives `finish` even when its owner lets go inside it.
class EncodeCall : public std::enable_shared_from_this<EncodeCall> {
 public:
  using Finish = std::function<void(const absl::Status&)>;

  EncodeCall(EncoderService::Backend backend, absl::Time deadline, v1::EncodeResponse* response,
             Finish finish)
      : backend_(backend), deadline_(deadline), response_(response), finish_(std::move(finish)) {}

  // `request` is only read before Start returns.
  void Start(const v1::EncodeRequest& request) {
    absl::StatusOr<PreparedEncode> prepared = PrepareEncode(request, *backend_.model, *backend_.config);
    if (!prepared.ok()) {
      finish_(prepared.status());
      return;
    }
    prepared_ = std::move(*prepared);
    stats_.sequences = static_cast<int64_t>(prepared_.sequences.size());
    stats_.tokens = prepared_.input_tokens;
    absl::Status refused;
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) {
        refused = absl::CancelledError("cancelled by the caller");
      } else {
        // OnDone takes mu_ first, so it cannot finish the call while this block runs.
        absl::StatusOr<JobId> id =
            backend_.scheduler->Submit(MakeEncodeJob(prepared_, deadline_),
                                       [self = shared_from_this()](absl::StatusOr<JobResult> result) {
                                         self->OnDone(std::move(result));
                                       });
        if (id.ok()) {
          job_ = *id;
        } else {
          refused = id.status();
        }
      }
    }
    if (!refused.ok()) finish_(refused);
  }

  void Cancel() {
    JobId job = 0;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      job = job_;
    }
    if (job != 0) backend_.scheduler->Cancel(job);
  }

  // What the observer reports; complete when `finish` runs.
  const ExecutionStats& stats() const { return stats_; }

 private:
  void OnDone(absl::StatusOr<JobResult> result) {
    {
      absl::MutexLock lock(&mu_);
      job_ = 0;
    }
    absl::Status status = result.status();
    if (status.ok()) {
      stats_.computed = true;
      stats_.queue = result->queue_time;
      stats_.compute = result->compute_time;
      status = FillEncodeResponse(prepared_, std::move(*result), absl::Now() - arrival_, *backend_.model,
                                  *backend_.config, response_);
    }
    if (!status.ok()) response_->Clear();
    finish_(status);
  }

  const EncoderService::Backend backend_;
  const absl::Time deadline_;
  const absl::Time arrival_ = absl::Now();
  v1::EncodeResponse* const response_;
  const Finish finish_;
  PreparedEncode prepared_;  // the job's spans point into it
  ExecutionStats stats_;     // written before each call of finish_ only

  absl::Mutex mu_;
  JobId job_ ABSL_GUARDED_BY(mu_) = 0;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

class EncodeReactor final : public grpc::ServerUnaryReactor {
 public:
  // `wire_response` (gRPC's, valid until OnDone) gets the serialized response.
  EncodeReactor(EncoderService::Backend backend, absl::Time deadline, grpc::ByteBuffer* wire_response,
                std::unique_ptr<CallTracker> tracker)
      : wire_response_(wire_response),
        tracker_(std::move(tracker)),
        call_(std::make_shared<EncodeCall>(backend, deadline, &response_,
                                           [this](const absl::Status& s) { Done(s); })) {}

  // gRPC defers a Finish issued before the method returns the reactor, so `this` stays valid here.
  void Start(const v1::EncodeRequest& request) { call_->Start(request); }
  void OnCancel() override { call_->Cancel(); }
  void OnDone() override { delete this; }

 private:
  void Done(absl::Status status) {
    if (status.ok()) status = SerializeResponse(response_, wire_response_);
    tracker_->SetExecution(call_->stats());
    tracker_->Finish(status);
    Finish(ToGrpcStatus(status));
  }

  v1::EncodeResponse response_;  // filled by call_ before it calls Done
  grpc::ByteBuffer* const wire_response_;
  const std::unique_ptr<CallTracker> tracker_;
  const std::shared_ptr<EncodeCall> call_;
};

// A unary reactor that only finishes with an error (UNAVAILABLE before the model is ready).
class ErrorReactor final : public grpc::ServerUnaryReactor {
 public:
  ErrorReactor(const absl::Status& status, std::unique_ptr<CallTracker> tracker) {
    tracker->Finish(status);
    Finish(ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

// An EncodeStream that only finishes with an error (UNAUTHENTICATED): it reads nothing.
class StreamErrorReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit StreamErrorReactor(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

// EncodeStream. State machine, all under mu_:
//   reading_  a StartRead is outstanding (at most one);  writing_  a StartWrite is outstanding (at most one);
//   parsing_  a read request is being turned into a slot (reading_ stays set meanwhile);
//   slots_    requests read and not yet written, in order; the head is written once its call is done;
//   reads_done_ the client half-closed (or the stream broke); Finish (OK) when nothing is left;
//   draining_ the server is shutting down: no new read starts, and once every slot is written the stream
//             finishes UNAVAILABLE, even with a read outstanding (it then completes without effect).
//
// Requests arrive as bytes (v1::EncodeStreamRequest) and answers leave as bytes (v1::EncodeStreamResponse);
// a request that cannot be parsed is answered INVALID_ARGUMENT in its place like any other failed request.
class EncodeStreamReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                                  public EncoderService::Stream {
 public:
  // Created under the service's lock; `draining`: the service is already draining (finish at once).
  // `stream_id` is the call's request id; each message is reported to `observer` as
  // "<stream_id>/<its request_id, or #index when that is empty or unusable>".
  EncodeStreamReactor(EncoderService* service, absl::Time deadline, int window, bool draining,
                      CallObserver* observer, std::string peer, std::string stream_id)
      : service_(service),
        deadline_(deadline),
        window_(window),
        observer_(observer),
        peer_(std::move(peer)),
        stream_id_(std::move(stream_id)) {
    observer_->StreamOpened();
    absl::MutexLock lock(&mu_);
    if (draining) {
      draining_ = true;
      finished_ = true;
      Finish(DrainStatus());  // gRPC holds it until the method returns the reactor
      return;
    }
    reading_ = true;
    StartRead(&incoming_);
  }

  bool PinForDrain() override {
    absl::MutexLock lock(&mu_);
    if (finished_) return false;  // OnDone may be waiting for the service's lock to forget the stream
    draining_ = true;
    ++pins_;
    return true;
  }
  void DrainPinned() override { Advance(/*unpin=*/true); }

  void OnReadDone(bool ok) override {
    grpc::ByteBuffer bytes;
    bool got = false;
    {
      absl::MutexLock lock(&mu_);
      got = ok && !cancelled_ && !finished_;  // finished (drained) with this read outstanding: drop it
      if (got) {
        bytes.Swap(&incoming_);  // reading_ stays set until the slot is queued: no read starts meanwhile
        parsing_ = true;
      } else {
        reading_ = false;
        reads_done_ = true;
      }
    }
    Slot* slot = nullptr;
    absl::Status parsed;
    if (got) {
      auto owned = std::make_unique<Slot>();
      v1::EncodeStreamRequest request;
      parsed = ParseRequest(bytes, &request);
      if (parsed.ok()) {
        owned->response.set_request_id(request.request_id());
        owned->request = std::move(*request.mutable_request());
      } else {
        owned->response.set_request_id(
            RecoverStringField(bytes, *v1::EncodeStreamRequest::descriptor(), "request_id"));
      }
      const std::string& message_id = owned->response.request_id();
      owned->tracker = std::make_unique<CallTracker>(
          observer_, "EncodeStream", peer_,
          absl::StrCat(stream_id_, "/",
                       IsUsableRequestId(message_id) ? message_id : absl::StrCat("#", messages_read_)));
      ++messages_read_;  // only this reaction touches it: reads never overlap
      absl::MutexLock lock(&mu_);
      reading_ = false;
      parsing_ = false;
      if (cancelled_) {
        reads_done_ = true;
      } else {
        slot = owned.get();
        slots_.push_back(std::move(owned));
      }
    }
    if (slot != nullptr) {
      if (parsed.ok()) {
        StartSlot(slot);
      } else {
        SlotDone(slot, parsed);
      }
    }
    Advance();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      slots_.pop_front();
      if (!ok) BreakLocked();  // the client is gone
    }
    Advance();
  }

  void OnCancel() override {
    std::vector<std::shared_ptr<EncodeCall>> calls;
    {
      absl::MutexLock lock(&mu_);
      BreakLocked();
      for (auto& slot : slots_) {
        if (!slot->done && slot->call != nullptr) calls.push_back(slot->call);
      }
    }
    // Outside mu_: a cancelled job's done callback runs inside Cancel and takes mu_ (SlotDone). The
    // references keep the calls alive even if their slots are dropped meanwhile; Cancel touches no slot.
    for (const auto& call : calls) call->Cancel();
    Advance();
  }

  void OnDone() override {
    service_->RemoveStream(this);
    observer_->StreamClosed();
    delete this;
  }

 private:
  struct Slot {
    v1::EncodeRequest request;
    v1::EncodeStreamResponse response;
    grpc::ByteBuffer wire;  // `response` serialized, once done
    std::shared_ptr<EncodeCall> call;
    std::unique_ptr<CallTracker> tracker;  // reports the message when it is done
    bool done = false;
  };

  void StartSlot(Slot* slot) {
    // The request was read, so it is answered even if the drain has begun since.
    absl::StatusOr<EncoderService::Backend> backend = service_->AcquireAccepted();
    if (!backend.ok()) {
      SlotDone(slot, backend.status());
      return;
    }
    // SlotDone touches `slot` only under mu_ and before marking it done; the slot is dropped only after.
    auto call = std::make_shared<EncodeCall>(*backend, deadline_, slot->response.mutable_response(),
                                             [this, slot](const absl::Status& s) { SlotDone(slot, s); });
    {
      absl::MutexLock lock(&mu_);
      slot->call = call;
    }
    call->Start(slot->request);
  }

  void SlotDone(Slot* slot, const absl::Status& status) {
    // Until the slot is marked done only this thread touches it, and nothing drops it.
    if (slot->call != nullptr) slot->tracker->SetExecution(slot->call->stats());
    slot->tracker->Finish(status);
    SetOutcome(status, &slot->response);
    absl::Status serialized = SerializeResponse(slot->response, &slot->wire);
    if (!serialized.ok()) {
      SetOutcome(serialized, &slot->response);  // an error answer is small and always serializes
      SerializeResponse(slot->response, &slot->wire).IgnoreError();
    }
    {
      absl::MutexLock lock(&mu_);
      slot->done = true;
      // SlotDone may run on a scheduler thread, outside any gRPC reaction, so nothing stops OnDone from
      // deleting the reactor once Finish is called; the pin keeps others from finishing until this
      // thread's Advance is over.
      ++pins_;
    }
    Advance(/*unpin=*/true);
  }

  static void SetOutcome(const absl::Status& status, v1::EncodeStreamResponse* response) {
    const grpc::Status g = ToGrpcStatus(status);
    response->set_code(static_cast<int32_t>(g.error_code()));
    response->set_message(g.error_message());
    if (!status.ok()) response->clear_response();
  }

  static grpc::Status DrainStatus() {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "server is shutting down; reconnect to another replica (every request this stream "
                        "read has been answered; resend the others)");
  }

  void BreakLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    cancelled_ = true;
    reads_done_ = true;
  }

  // Starts whatever the state allows: the next write, the next read, or Finish. Called without mu_, from a
  // gRPC reaction (gRPC runs OnDone only after it returns) or, with `unpin`, by a pinned SlotDone or
  // DrainPinned: the pin is released under mu_ in the same step that decides whether to Finish, so Finish
  // is called only by the last thread that may touch the reactor.
  void Advance(bool unpin = false) {
    enum { kNothing, kWrite, kRead, kFinish } action;
    const grpc::ByteBuffer* to_write = nullptr;
    grpc::Status finish_status;
    for (;;) {
      {
        absl::MutexLock lock(&mu_);
        action = kNothing;
        if (cancelled_) {
          // Drop answers that can no longer be written; keep calls that are still running.
          while (!writing_ && !slots_.empty() && slots_.front()->done) slots_.pop_front();
        }
        if (!cancelled_ && !writing_ && !slots_.empty() && slots_.front()->done) {
          writing_ = true;
          to_write = &slots_.front()->wire;
          action = kWrite;
        } else if (!reading_ && !reads_done_ && !draining_ && !finished_ &&
                   static_cast<int>(slots_.size()) < window_) {
          reading_ = true;
          action = kRead;
        } else {
          if (unpin) {
            --pins_;
            unpin = false;
          }
          // Reads are over when the client half-closed (or the stream broke) and the last read is back,
          // or when draining stopped them (a read still outstanding is dropped when it completes).
          const bool reads_over = (reads_done_ && !reading_) || (draining_ && !reads_done_ && !parsing_);
          if (!finished_ && pins_ == 0 && reads_over && !writing_ && slots_.empty()) {
            finished_ = true;
            if (cancelled_) {
              finish_status = grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled");
            } else if (reads_done_) {
              finish_status = grpc::Status::OK;  // every request the client sent was answered
            } else {
              finish_status = DrainStatus();
            }
            action = kFinish;
          }
        }
      }
      switch (action) {
        case kNothing:
          return;  // touch nothing after releasing the pin
        case kWrite:
          StartWrite(to_write);
          continue;  // a read may also be due; a pin still held keeps the reactor alive
        case kRead:
          StartRead(&incoming_);
          continue;
        case kFinish:
          Finish(finish_status);  // may delete this (OnDone); touch nothing after
          return;
      }
    }
  }

  EncoderService* const service_;
  const absl::Time deadline_;
  const int window_;
  CallObserver* const observer_;
  const std::string peer_;
  const std::string stream_id_;
  grpc::ByteBuffer incoming_;  // written by the one outstanding read
  int64_t messages_read_ = 0;  // touched only in OnReadDone (one read at a time)

  absl::Mutex mu_;
  std::deque<std::unique_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool parsing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  int pins_ ABSL_GUARDED_BY(mu_) = 0;  // SlotDone calls between marking a slot done and their Advance's end
};

}  // namespace

EncoderService::EncoderService(const ServerConfig& config, CallObserver* observer,
                               const TokenAuthenticator* auth)
    : config_(config), observer_(observer != nullptr ? observer : NoopCallObserver()), auth_(auth) {}

// --- Access control hook (auth.h): each method checks the caller first and does nothing else for a
// caller without a valid token. ---
absl::StatusOr<std::string> EncoderService::Caller(const grpc::CallbackServerContext& context) const {
  return CallerIdentity(context, auth_);
}

void EncoderService::SetReady(const ServedModel* model, BatchScheduler* scheduler) {
  absl::MutexLock lock(&mu_);
  model_ = model;
  scheduler_ = scheduler;
  if (state_ == State::kLoading) state_ = State::kServing;
}

void EncoderService::StartDraining() {
  std::vector<Stream*> pinned;
  {
    absl::MutexLock lock(&mu_);
    state_ = State::kDraining;
    for (Stream* stream : streams_) {
      if (stream->PinForDrain()) pinned.push_back(stream);
    }
  }
  // Outside mu_: a stream may finish here, and its OnDone takes mu_ (RemoveStream). A pinned stream
  // stays alive until its DrainPinned.
  for (Stream* stream : pinned) stream->DrainPinned();
}

void EncoderService::RemoveStream(Stream* stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(stream);
}

absl::StatusOr<EncoderService::Backend> EncoderService::Acquire() const { return AcquireImpl(false); }

absl::StatusOr<EncoderService::Backend> EncoderService::AcquireAccepted() const { return AcquireImpl(true); }

absl::StatusOr<EncoderService::Backend> EncoderService::AcquireImpl(bool draining_ok) const {
  absl::MutexLock lock(&mu_);
  switch (state_) {
    case State::kLoading:
      return absl::UnavailableError("the model is still loading; retry shortly");
    case State::kDraining:
      if (draining_ok && model_ != nullptr) break;  // drained before the model was ever ready: no backend
      return absl::UnavailableError("the server is shutting down; retry on another instance");
    case State::kServing:
      break;
  }
  return Backend{model_, scheduler_, &config_};
}

grpc::ServerUnaryReactor* EncoderService::Encode(grpc::CallbackServerContext* context,
                                                 const grpc::ByteBuffer* request,
                                                 grpc::ByteBuffer* response) {
  auto tracker = std::make_unique<CallTracker>(observer_, "Encode", context);
  if (absl::StatusOr<std::string> caller = Caller(*context); !caller.ok()) {
    return new ErrorReactor(caller.status(), std::move(tracker));
  }
  absl::StatusOr<Backend> backend = Acquire();
  if (!backend.ok()) return new ErrorReactor(backend.status(), std::move(tracker));
  v1::EncodeRequest parsed;
  absl::Status status = ParseRequest(*request, &parsed);
  if (!status.ok()) return new ErrorReactor(status, std::move(tracker));
  auto* reactor = new EncodeReactor(*backend, Deadline(context), response, std::move(tracker));
  reactor->Start(parsed);
  return reactor;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* EncoderService::EncodeStream(
    grpc::CallbackServerContext* context) {
  if (absl::StatusOr<std::string> caller = Caller(*context); !caller.ok()) {
    return new StreamErrorReactor(caller.status());
  }
  // Availability is checked per request (a stream may open while loading); the drain is pushed to every
  // open stream by StartDraining.
  const std::string stream_id = SettleRequestId(context);
  absl::MutexLock lock(&mu_);
  auto* reactor = new EncodeStreamReactor(this, Deadline(context), config_.max_stream_in_flight,
                                          state_ == State::kDraining, observer_, context->peer(), stream_id);
  streams_.insert(reactor);
  return reactor;
}

grpc::ServerUnaryReactor* EncoderService::Tokenize(grpc::CallbackServerContext* context,
                                                   const grpc::ByteBuffer* request,
                                                   grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  CallTracker tracker(observer_, "Tokenize", context);
  absl::Status status = Caller(*context).status();  // access control hook
  absl::StatusOr<Backend> backend = Acquire();
  if (status.ok()) status = backend.status();
  v1::TokenizeRequest parsed;
  v1::TokenizeResponse tokens;
  if (status.ok()) status = ParseRequest(*request, &parsed);
  if (status.ok()) status = qkv::Tokenize(parsed, *backend->model, &tokens);
  if (status.ok()) status = SerializeResponse(tokens, response);
  tracker.Finish(status);
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* EncoderService::GetModelInfo(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* request,
                                                       grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  CallTracker tracker(observer_, "GetModelInfo", context);
  absl::Status status = Caller(*context).status();  // access control hook
  absl::StatusOr<Backend> backend = Acquire();
  if (status.ok()) status = backend.status();
  v1::GetModelInfoRequest parsed;
  v1::GetModelInfoResponse info;
  if (status.ok()) status = ParseRequest(*request, &parsed);
  if (status.ok()) {
    FillModelInfo(*backend->model, *backend->config, &info);
    status = SerializeResponse(info, response);
  }
  tracker.Finish(status);
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace qkv
