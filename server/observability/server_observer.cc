#include "server/observability/server_observer.h"

#include "server/observability/logging.h"

namespace qkv {

void ServerObserver::CallStarted(absl::string_view method) { metrics_->CallStarted(method); }

void ServerObserver::CallFinished(const CallRecord& record) {
  metrics_->CallFinished(record);
  LogAccess(record);
  if (record.code == absl::StatusCode::kInternal) {
    spdlog::error("{} request_id={} peer={} failed: INTERNAL: {}", record.method, record.request_id,
                  record.peer, record.message);
  }
}

void ServerObserver::StreamOpened() { metrics_->StreamOpened(); }

void ServerObserver::StreamClosed() { metrics_->StreamClosed(); }

void ServerObserver::StreamCancelled() { metrics_->StreamCancelled(); }

}  // namespace qkv
