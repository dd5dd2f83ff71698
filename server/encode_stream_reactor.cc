#include "server/encode_stream_reactor.h"

#include <google/protobuf/arena.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/message_codec.h"
#include "server/observability/request_id.h"
#include "server/status_mapping.h"

namespace qkv {

EncodeStreamReactor::EncodeStreamReactor(EncoderService* service, absl::Time deadline, std::string client,
                                         const absl::Status& refuse, std::string peer, std::string stream_id)
    : service_(service),
      deadline_(deadline),
      client_(std::move(client)),
      window_(service->config().max_stream_in_flight),
      byte_cap_(service->config().max_inflight_bytes / 8),
      observer_(service->observer()),
      peer_(std::move(peer)),
      stream_id_(std::move(stream_id)) {
  observer_->StreamOpened();
  absl::MutexLock lock(&mu_);
  if (!refuse.ok()) {
    draining_ = true;
    finished_ = true;
    Finish(ToGrpcStatus(refuse));  // gRPC holds it until the method returns the reactor
    return;
  }
  reading_ = true;
  StartRead(&incoming_);
}

bool EncodeStreamReactor::PinForDrain() {
  absl::MutexLock lock(&mu_);
  if (finished_) return false;  // OnDone may be waiting for the service's lock to forget the stream
  draining_ = true;
  ++pins_;
  return true;
}

void EncodeStreamReactor::OnReadDone(bool ok) {
  Slot* slot = nullptr;
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (!ok || cancelled_ || finished_) {  // finished (drained) with this read outstanding: drop it
      reads_done_ = true;
    } else {
      auto owned = std::make_unique<Slot>();
      owned->request.Swap(&incoming_);
      owned->request_bytes = static_cast<int64_t>(owned->request.Length());
      owned->index = messages_read_++;
      // The wire request, and room for its parsed form.
      absl::StatusOr<ByteBudget::Reservation> reserved = service_->budget()->Reserve(4 * owned->request_bytes);
      if (reserved.ok()) {
        owned->reservation = std::move(*reserved);
        owned->held = owned->reservation.bytes();
        ++preparing_;
      } else {
        refused = reserved.status();
      }
      slot = owned.get();
      slots_.push_back(std::move(owned));
    }
  }
  if (slot != nullptr) {
    if (refused.ok()) {
      refused = service_->pool()->Submit(client_, [this, slot] { Prepare(slot); });
      if (!refused.ok()) {
        PrepareFailed(slot, refused);
      }
    } else {
      slot->request.Clear();
      SlotDone(slot, refused);  // the slot is not done, so the stream cannot finish meanwhile
    }
  }
  Advance();
}

void EncodeStreamReactor::PrepareFailed(Slot* slot, const absl::Status& status) {
  slot->request.Clear();
  {
    absl::MutexLock lock(&mu_);
    --preparing_;
  }
  SlotDone(slot, status);
}

void EncodeStreamReactor::Prepare(Slot* slot) {
  // Until the slot is done it stays in slots_ and the stream cannot finish: `this` and `slot` are valid.
  google::protobuf::Arena arena;
  auto* request = google::protobuf::Arena::CreateMessage<v1::EncodeStreamRequest>(&arena);
  std::string request_id;
  absl::Status status = ParseRequest(slot->request, RequestParseLimits(service_->config()), request,
                                     "request_id", &request_id);
  slot->response.set_request_id(status.ok() ? request->request_id() : request_id);
  const std::string& message_id = slot->response.request_id();
  slot->tracker = std::make_unique<CallTracker>(
      observer_, "EncodeStream", peer_,
      absl::StrCat(stream_id_, "/",
                   IsUsableRequestId(message_id) ? message_id : absl::StrCat("#", slot->index)));
  if (!status.ok()) {
    PrepareFailed(slot, status);
    return;
  }
  // The request was read, so it is answered even if the drain has begun since.
  absl::StatusOr<EncoderService::Backend> backend = service_->AcquireAccepted();
  if (!backend.ok()) {
    PrepareFailed(slot, backend.status());
    return;
  }
  // SlotDone touches `slot` only under mu_ and before marking it done; the slot is dropped only after.
  auto call = std::make_shared<EncodeCall>(*backend, deadline_, client_, slot->response.mutable_response(),
                                           &slot->reservation,
                                           [this, slot](const absl::Status& s) { SlotDone(slot, s); });
  status = call->Prepare(request->request(), slot->request_bytes);
  if (!status.ok()) {
    PrepareFailed(slot, status);
    return;
  }
  slot->request.Clear();  // the arena's parsed request goes when this returns
  {
    absl::MutexLock lock(&mu_);
    --preparing_;
    slot->held = slot->reservation.bytes();  // the response's share is known now
    // OnCancel cancels the calls it finds in the slots; a call it could not see yet starts cancelled.
    if (cancelled_) call->Cancel();
    slot->call = call;
  }
  Advance();  // a read may be due; the slot is not done, so this cannot finish the stream
  call->Submit();  // may run SlotDone (and let the stream finish): touch nothing after
}

void EncodeStreamReactor::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    slots_.pop_front();  // releases the answer's bytes
    if (!ok) BreakLocked();  // the client is gone
  }
  Advance();
}

void EncodeStreamReactor::OnCancel() {
  std::vector<std::shared_ptr<EncodeCall>> calls;
  {
    absl::MutexLock lock(&mu_);
    BreakLocked();
    for (auto& slot : slots_) {
      if (!slot->done && slot->call != nullptr) calls.push_back(slot->call);
    }
  }
  // After cancelled_ is set: whoever sees the count sees the stream cancelled. gRPC calls OnCancel at most
  // once, before OnDone.
  observer_->StreamCancelled();
  // Outside mu_: a cancelled job's done callback runs inside Cancel and takes mu_ (SlotDone). The
  // references keep the calls alive even if their slots are dropped meanwhile; Cancel touches no slot.
  for (const auto& call : calls) call->Cancel();
  Advance();
}

void EncodeStreamReactor::OnDone() {
  service_->RemoveStream(this);
  observer_->StreamClosed();
  delete this;
}

void EncodeStreamReactor::SlotDone(Slot* slot, const absl::Status& status) {
  // Until the slot is marked done only this thread touches its response, and nothing drops it.
  if (slot->tracker == nullptr) {  // refused before it was parsed
    slot->tracker = std::make_unique<CallTracker>(observer_, "EncodeStream", peer_,
                                                  absl::StrCat(stream_id_, "/#", slot->index));
  }
  if (slot->call != nullptr) slot->tracker->SetExecution(slot->call->stats());
  slot->tracker->Finish(status);
  slot->tracker.reset();
  SetOutcome(status, &slot->response);
  absl::Status serialized = SerializeResponse(slot->response, &slot->wire);
  if (!serialized.ok()) {
    SetOutcome(serialized, &slot->response);  // an error answer is small and always serializes
    SerializeResponse(slot->response, &slot->wire).IgnoreError();
  }
  v1::EncodeStreamResponse().Swap(&slot->response);  // frees the message; the answer is in `wire`
  std::shared_ptr<EncodeCall> call;
  {
    absl::MutexLock lock(&mu_);
    // Shrinking never fails: the slot now holds its answer's bytes until the client reads them. Under mu_,
    // where Prepare reads the reservation.
    slot->reservation.Resize(static_cast<int64_t>(slot->wire.Length())).IgnoreError();
    slot->held = slot->reservation.bytes();
    call = std::move(slot->call);  // released below, outside mu_
    slot->done = true;
    // SlotDone may run outside any gRPC reaction, so nothing stops OnDone from deleting the reactor once
    // Finish is called; the pin keeps others from finishing until this thread's Advance is over.
    ++pins_;
  }
  call.reset();
  Advance(/*unpin=*/true);
}

void EncodeStreamReactor::SetOutcome(const absl::Status& status, v1::EncodeStreamResponse* response) {
  const grpc::Status g = ToGrpcStatus(status);
  response->set_code(static_cast<int32_t>(g.error_code()));
  response->set_message(g.error_message());
  if (!status.ok()) response->clear_response();
}

grpc::Status EncodeStreamReactor::DrainStatus() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "server is shutting down; reconnect to another replica (every request this stream "
                      "read has been answered; resend the others)");
}

void EncodeStreamReactor::BreakLocked() {
  cancelled_ = true;
  reads_done_ = true;
}

bool EncodeStreamReactor::MayReadLocked() const {
  if (reading_ || reads_done_ || draining_ || finished_ || preparing_ > 0 ||
      static_cast<int>(slots_.size()) >= window_) {
    return false;
  }
  int64_t held = 0;
  for (const auto& slot : slots_) held += slot->held;
  return held < byte_cap_;
}

void EncodeStreamReactor::Advance(bool unpin) {
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
      } else if (MayReadLocked()) {
        reading_ = true;
        action = kRead;
      } else {
        if (unpin) {
          --pins_;
          unpin = false;
        }
        // Reads are over when the client half-closed (or the stream broke) and the last read is back,
        // or when draining stopped them (a read still outstanding is dropped when it completes).
        const bool reads_over = (reads_done_ && !reading_) || (draining_ && !reads_done_);
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

}  // namespace qkv
