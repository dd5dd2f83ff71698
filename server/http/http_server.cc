#include "server/http/http_server.h"

#include <sys/socket.h>

#include <exception>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "httplib.h"
#include "server/observability/request_id.h"

namespace qkv {
namespace {

constexpr char kUnmatchedRoute[] = "unmatched";

HttpRequest Convert(const httplib::Request& in) {
  HttpRequest out;
  out.method = in.method;
  out.path = in.path;
  out.body = in.body;
  out.peer = absl::StrCat(in.remote_addr.find(':') == std::string::npos ? "ipv4:" : "ipv6:", in.remote_addr,
                          ":", in.remote_port);
  for (const auto& [name, value] : in.headers) out.headers.emplace(absl::AsciiStrToLower(name), value);
  out.request_id = RequestIdOrNew(out.Header(kRequestIdKey));
  return out;
}

void Apply(const HttpResponse& in, const std::string& request_id, httplib::Response* out) {
  out->status = in.status;
  for (const auto& [name, value] : in.headers) out->set_header(name, value);
  out->set_header(kRequestIdKey, request_id);
  out->set_content(in.body, in.content_type.c_str());
}

}  // namespace

HttpResponse TextResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

std::string HttpRequest::Header(absl::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? "" : it->second;
}

absl::Status SplitHostPort(const std::string& address, const char* flag, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  const auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, " must be host:port or [v6]:port with a port in [0, 65535] (got \"", address, "\")"));
  };
  if (colon == std::string::npos || colon == 0) return bad();
  std::string h = address.substr(0, colon);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return bad();
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string::npos) {
    return bad();  // an IPv6 address needs brackets
  }
  int p = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &p) || p < 0 || p > 65535) return bad();
  *host = h;
  *port = p;
  return absl::OkStatus();
}

HttpServer::HttpServer(ServerMetrics* metrics, HttpServerOptions options)
    : metrics_(metrics), options_(options), server_(std::make_unique<httplib::Server>()) {
  const int threads = options_.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // cpp-httplib sets SO_REUSEPORT by default, which would let a second server share the port silently.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_->set_payload_max_length(options_.max_body_bytes);
  server_->set_read_timeout(options_.io_timeout_seconds, 0);
  server_->set_write_timeout(options_.io_timeout_seconds, 0);
  server_->set_keep_alive_timeout(options_.io_timeout_seconds);
  // cpp-httplib calls this for every status >= 400, also those a route handler chose; those already carry
  // the request id header and are left alone. The rest were answered by cpp-httplib itself: unknown path,
  // bad request, body too large.
  server_->set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) -> httplib::Server::HandlerResponse {
        if (res.has_header(kRequestIdKey)) return httplib::Server::HandlerResponse::Unhandled;
        const std::string message =
            res.status == 404   ? absl::StrCat("no such route: ", req.method, " ", req.path)
            : res.status == 413 ? absl::StrCat("the request body is larger than the limit of ",
                                               options_.max_body_bytes, " bytes")
                                : absl::StrCat("request failed: ", req.method, " ", req.path, " (", res.status, ")");
        HttpResponse response;
        if (error_body_) {
          response = error_body_(req.path, res.status, message);
        } else {
          response.body = message + "\n";
        }
        response.status = res.status;
        Apply(response, RequestIdOrNew(req.get_header_value(kRequestIdKey)), &res);
        if (metrics_ != nullptr) metrics_->HttpAnswered(kUnmatchedRoute, res.status);
        return httplib::Server::HandlerResponse::Handled;
      }));
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(absl::string_view method, const std::string& route, HttpHandler handler) {
  auto wrapped = [this, route, handler = std::move(handler)](const httplib::Request& req,
                                                             httplib::Response& res) {
    const HttpRequest request = Convert(req);
    HttpResponse response;
    try {
      response = handler(request);
    } catch (const std::exception& e) {
      response = TextResponse(500, absl::StrCat("internal error: ", e.what(), "\n"));
    }
    Apply(response, request.request_id, &res);
    if (metrics_ != nullptr) metrics_->HttpAnswered(route, response.status);
  };
  if (method == "GET") {
    server_->Get(route, std::move(wrapped));
  } else {
    server_->Post(route, std::move(wrapped));
  }
}

absl::Status HttpServer::Start(const std::string& listen) {
  std::string host;
  int port = 0;
  if (absl::Status s = SplitHostPort(listen, "http_listen", &host, &port); !s.ok()) return s;
  const bool bound =
      port == 0 ? (port = server_->bind_to_any_port(host)) > 0 : server_->bind_to_port(host, port);
  if (!bound) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", listen, " (address in use, not local, or malformed; see --http_listen)"));
  }
  port_ = port;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs: wait for it so that Stop cannot be lost.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!server_->is_running() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
  if (!server_->is_running()) {
    Stop();
    return absl::InternalError(absl::StrCat("the HTTP listener on ", listen, " did not start"));
  }
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace qkv
