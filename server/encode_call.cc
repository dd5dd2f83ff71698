#include "server/encode_call.h"

#include <utility>

namespace qkv {

EncodeCall::EncodeCall(EncoderService::Backend backend, absl::Time deadline, std::string client,
                       v1::EncodeResponse* response, ByteBudget::Reservation* reservation, Finish finish)
    : backend_(backend),
      deadline_(deadline),
      client_(std::move(client)),
      response_(response),
      reservation_(reservation),
      finish_(std::move(finish)) {}

void EncodeCall::Start(const v1::EncodeRequest& request, int64_t wire_bytes) {
  if (absl::Status s = Prepare(request, wire_bytes); !s.ok()) {
    finish_(s);
    return;
  }
  Submit();
}

absl::Status EncodeCall::Prepare(const v1::EncodeRequest& request, int64_t wire_bytes) {
  if (cancelled()) return absl::CancelledError("cancelled by the caller");
  absl::StatusOr<PreparedEncode> prepared = PrepareEncode(request, *backend_.model, *backend_.config);
  if (!prepared.ok()) return prepared.status();
  prepared_ = std::move(*prepared);
  stats_.sequences = static_cast<int64_t>(prepared_.sequences.size());
  stats_.tokens = prepared_.input_tokens;
  return reservation_->Resize(wire_bytes + 2 * prepared_.response_bytes);
}

void EncodeCall::Submit() {
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) {
      refused = absl::CancelledError("cancelled by the caller");
    } else {
      // OnDone takes mu_ first, so it cannot finish the call while this block runs.
      EncodeJob job = MakeEncodeJob(prepared_, deadline_);
      job.client = client_;
      absl::StatusOr<JobId> id = backend_.scheduler->Submit(
          std::move(job),
          [self = shared_from_this()](absl::StatusOr<JobResult> result) { self->OnDone(std::move(result)); });
      if (id.ok()) {
        job_ = *id;
      } else {
        refused = id.status();
      }
    }
  }
  if (!refused.ok()) finish_(refused);
}

void EncodeCall::Cancel() {
  JobId job = 0;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    job = job_;
  }
  if (job != 0) backend_.scheduler->Cancel(job);
}

bool EncodeCall::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

void EncodeCall::OnDone(absl::StatusOr<JobResult> result) {
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
  prepared_ = PreparedEncode();  // the tokens are no longer needed
  finish_(status);
}

}  // namespace qkv
