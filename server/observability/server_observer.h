// ServerObserver: the production CallObserver: every event goes to the metrics, and each finished request
// to the access log (when it is on) and, for INTERNAL errors, to the error log.
//
// Thread safety: as CallObserver.
#ifndef QKV_SERVER_OBSERVABILITY_SERVER_OBSERVER_H_
#define QKV_SERVER_OBSERVABILITY_SERVER_OBSERVER_H_

#include "server/observability/call_observer.h"
#include "server/observability/metrics.h"

namespace qkv {

class ServerObserver final : public CallObserver {
 public:
  // `metrics` is not owned and must outlive the observer.
  explicit ServerObserver(ServerMetrics* metrics) : metrics_(metrics) {}

  void CallStarted(absl::string_view method) override;
  void CallFinished(const CallRecord& record) override;
  void StreamOpened() override;
  void StreamClosed() override;
  void StreamCancelled() override;

 private:
  ServerMetrics* const metrics_;
};

}  // namespace qkv

#endif  // QKV_SERVER_OBSERVABILITY_SERVER_OBSERVER_H_
