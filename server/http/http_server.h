// HttpServer: qkv-server's one HTTP/1.1 listener (cpp-httplib). It serves the operations routes
// (ops_routes.h: /metrics, /healthz, /readyz) and is where JSON API adapters register theirs: every route
// gets the same request id handling (x-request-id honoured or made, and echoed), is counted in
// qkv_http_requests_total{route,code} under its registered pattern, and goes through the same handler
// signature, which keeps cpp-httplib out of the adapters.
//
//   HttpServer http(&metrics);
//   http.Handle("GET", "/healthz", [](const HttpRequest&) { return TextResponse(200, "ok\n"); });
//   QKV_RETURN_IF_ERROR(http.Start("0.0.0.0:8080"));   // serving on its own threads
//   ...
//   http.Stop();
//
// A request no handler takes (unknown path, or a known path with another method) answers 404 and is
// counted under route "unmatched"; so are requests cpp-httplib refuses itself (400, 413). A handler that
// throws is answered 500.
//
// Thread safety: Handle only before Start; Start once; handlers run on the listener's threads, several at
// once; Stop from any thread, idempotent, and also run by the destructor.
#ifndef QKV_SERVER_HTTP_HTTP_SERVER_H_
#define QKV_SERVER_HTTP_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/observability/metrics.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace qkv {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query
  std::string body;
  std::string peer;  // "ipv4:127.0.0.1:50312" style, like gRPC's peer
  std::string request_id;
  // Header names in lower case.
  std::multimap<std::string, std::string> headers;
  // The first value of `name` (lower case), or "".
  std::string Header(absl::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// A text/plain response.
HttpResponse TextResponse(int status, std::string body);

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  // Threads serving requests (each holds one connection at a time).
  int threads = 4;
  // Largest request body; larger requests get 413.
  size_t max_body_bytes = 1 << 20;
  // Idle or slow connections are closed after this many seconds without progress.
  int io_timeout_seconds = 10;
};

class HttpServer {
 public:
  // `metrics` (may be null) is not owned and must outlive the server.
  explicit HttpServer(ServerMetrics* metrics, HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers `handler` for `method` ("GET" or "POST") on the exact path `route`.
  void Handle(absl::string_view method, const std::string& route, HttpHandler handler);

  // The body of the errors the listener answers itself (no such route, body too large, unreadable request),
  // given the request's path, the status and a message; plain text when unset. Only before Start.
  using ErrorBody = std::function<HttpResponse(const std::string& path, int status, const std::string& message)>;
  void SetErrorBody(ErrorBody error_body) { error_body_ = std::move(error_body); }

  // Binds `listen` ("host:port", "[v6]:port"; port 0 picks a free one) and serves on new threads.
  // InvalidArgument for a malformed address (naming --http_listen); Unavailable when it cannot bind.
  absl::Status Start(const std::string& listen);
  // The bound port; 0 before Start.
  int port() const { return port_; }
  // Stops accepting, finishes the requests being served, and joins the threads.
  void Stop();

 private:
  ServerMetrics* const metrics_;
  const HttpServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  ErrorBody error_body_;
  std::thread thread_;
  int port_ = 0;
};

// Splits "host:port" / "[v6]:port" into host (brackets removed) and port. InvalidArgument naming `flag`.
absl::Status SplitHostPort(const std::string& address, const char* flag, std::string* host, int* port);

}  // namespace qkv

#endif  // QKV_SERVER_HTTP_HTTP_SERVER_H_
