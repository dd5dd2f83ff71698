#include "server/http/ops_routes.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace qkv {

void AddOpsRoutes(HttpServer* http, ServerMetrics* metrics, std::function<absl::Status()> readiness) {
  http->Handle("GET", "/metrics", [metrics](const HttpRequest&) {
    HttpResponse response;
    response.body = metrics->Scrape();
    response.content_type = ServerMetrics::kContentType;
    return response;
  });
  http->Handle("GET", "/healthz", [](const HttpRequest&) { return TextResponse(200, "ok\n"); });
  http->Handle("GET", "/readyz", [readiness = std::move(readiness)](const HttpRequest&) {
    const absl::Status ready = readiness();
    if (ready.ok()) return TextResponse(200, "ready\n");
    return TextResponse(503, absl::StrCat("not ready: ", ready.message(), "\n"));
  });
}

}  // namespace qkv
