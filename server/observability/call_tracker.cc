#include "server/observability/call_tracker.h"

#include <utility>

#include "server/observability/request_id.h"

namespace qkv {

std::string SettleRequestId(const grpc::CallbackServerContext* context) {
  const auto& metadata = context->client_metadata();
  const auto it = metadata.find(kRequestIdKey);
  return it == metadata.end() ? NewRequestId()
                              : RequestIdOrNew(absl::string_view(it->second.data(), it->second.size()));
}

void ReturnRequestId(grpc::CallbackServerContext* context, const std::string& id, const absl::Status& status) {
  if (status.ok()) {
    context->AddInitialMetadata(kRequestIdKey, id);
  } else {
    context->AddTrailingMetadata(kRequestIdKey, id);
  }
}

CallTracker::CallTracker(CallObserver* observer, const char* method, grpc::CallbackServerContext* context)
    : observer_(observer), context_(context) {
  record_.method = method;
  record_.peer = context->peer();
  record_.request_id = SettleRequestId(context);
  observer_->CallStarted(record_.method);
}

CallTracker::CallTracker(CallObserver* observer, const char* method, std::string peer, std::string request_id)
    : observer_(observer) {
  record_.method = method;
  record_.peer = std::move(peer);
  record_.request_id = std::move(request_id);
  observer_->CallStarted(record_.method);
}

CallTracker::~CallTracker() {
  context_ = nullptr;  // the call may be gone
  Finish(absl::CancelledError("the request was dropped"));
}

void CallTracker::SetExecution(const ExecutionStats& stats) {
  record_.sequences = stats.sequences;
  record_.tokens = stats.tokens;
  record_.computed = stats.computed;
  record_.queue = stats.queue;
  record_.compute = stats.compute;
}

void CallTracker::Finish(const absl::Status& status) {
  if (finished_) return;
  finished_ = true;
  if (context_ != nullptr) ReturnRequestId(context_, record_.request_id, status);
  record_.code = status.code();
  record_.message = std::string(status.message());
  record_.total = absl::Now() - start_;
  observer_->CallFinished(record_);
}

}  // namespace qkv
