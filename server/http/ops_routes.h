// The operations routes of the HTTP listener:
//   GET /metrics   the Prometheus text exposition (ServerMetrics::Scrape)
//   GET /healthz   200 "ok" while the process runs (liveness: it never checks the model)
//   GET /readyz    200 "ready" only while the model is served; 503 with the reason while loading or
//                  draining (readiness: take the replica out of load balancing)
#ifndef QKV_SERVER_HTTP_OPS_ROUTES_H_
#define QKV_SERVER_HTTP_OPS_ROUTES_H_

#include <functional>

#include "absl/status/status.h"
#include "server/http/http_server.h"
#include "server/observability/metrics.h"

namespace qkv {

// `readiness` returns OK when ready, otherwise a status whose message says why not. `metrics` and
// `readiness` must outlive `http`'s serving.
void AddOpsRoutes(HttpServer* http, ServerMetrics* metrics, std::function<absl::Status()> readiness);

}  // namespace qkv

#endif  // QKV_SERVER_HTTP_OPS_ROUTES_H_
