// Server: qkv-server's gRPC server: the EncoderService, grpc.health.v1, server reflection, message size
// limits (receive: --max_receive_message_bytes, send: --max_message_bytes), keepalive, TLS/mTLS
// (certificate files re-read when they change) and bearer-token access control (auth.h), plus the model
// and the BatchScheduler behind the service.
//
//   QKV_ASSIGN_OR_RETURN(std::unique_ptr<Server> server, Server::Start(config));   // listening, NOT_SERVING
//   QKV_RETURN_IF_ERROR(server->LoadModel());      // load, warm up, start workers: SERVING
//   ...                                            // SIGTERM:
//   server->Shutdown();                            // NOT_SERVING, finish in-flight calls, stop
//
// Health: the overall service ("") and "qkv.v1.EncoderService" are NOT_SERVING from Start until the model
// is loaded and a warm-up Run has passed, SERVING after, and NOT_SERVING again once draining begins. The
// HTTP listener (config.http_listen, when set) starts with gRPC and stops last: /readyz follows the same
// states (503 loading, 200 serving, 503 draining), /healthz is 200 throughout, /metrics is always there.
//
// Thread safety: LoadModel/Serve, BeginDrain and Shutdown may be called from different threads, but each
// at most once and Shutdown last.
#ifndef QKV_SERVER_SERVER_H_
#define QKV_SERVER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/auth.h"
#include "server/batch_scheduler.h"
#include "server/encoder_service.h"
#include "server/http/http_server.h"
#include "server/observability/metrics.h"
#include "server/observability/server_observer.h"
#include "server/served_model.h"
#include "server/server_config.h"

namespace qkv {

class Server {
 public:
  // The service name under which health reports the encoder's status.
  static constexpr char kServiceName[] = "qkv.v1.EncoderService";

  // Validates `config` (after resolving worker defaults), binds config.listen and starts gRPC with every
  // RPC answering UNAVAILABLE until the model is ready. Errors: the Validate() message, the TLS files or
  // the token file that can't be read (or parsed), or "cannot listen on ..." when the address is taken or
  // invalid.
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerConfig config);

  ~Server();

  // The bound port (the real one when config.listen asked for port 0).
  int port() const { return port_; }
  // The HTTP listener's bound port; 0 when config.http_listen is empty.
  int http_port() const { return http_ == nullptr ? 0 : http_->port(); }
  // The metrics every request feeds (what /metrics serves).
  ServerMetrics* metrics() const { return metrics_.get(); }
  const ServerConfig& config() const { return config_; }
  // The bearer-token checker, or null when config.auth_token_file is empty.
  const TokenAuthenticator* authenticator() const { return auth_.get(); }

  // Loads config.model, warms up, starts the workers and turns health to SERVING.
  absl::Status LoadModel();
  // Serves an already loaded model, through `runner` (null: the model's encoder). Tests use this for
  // fake runners. REQUIRES: model->encoder or runner.
  absl::Status Serve(std::unique_ptr<ServedModel> model, std::unique_ptr<BatchRunner> runner = nullptr);

  // Health NOT_SERVING and new calls UNAVAILABLE; calls in flight continue.
  void BeginDrain();
  // BeginDrain; after config.drain_notice (none if no model was ever served), GOAWAY; waits until config.grace_period (counted from the call)
  // for calls in flight (cancelling what remains after); stops the workers and the gRPC server. Blocks for
  // at least the drain notice. Idempotent.
  void Shutdown();

  // The model being served, or null before LoadModel/Serve.
  const ServedModel* model() const;
  // The scheduler (for its queue figures), or null before LoadModel/Serve.
  const BatchScheduler* scheduler() const;
  // The pool that parses and tokenizes requests (tests hold it to order events). Never null.
  PreparationPool* preparation_pool() const { return service_->pool(); }

  // host:port a client on this machine can dial: the listen host with the bound port, and 127.0.0.1 for
  // a wildcard host (0.0.0.0, [::]).
  std::string address() const;

 private:
  enum class Phase { kLoading, kServing, kDraining };

  explicit Server(ServerConfig config);
  void SetHealth(bool serving);
  // OK while serving; Unavailable saying "loading" or "draining" otherwise (/readyz).
  absl::Status Readiness() const;

  const ServerConfig config_;
  int port_ = 0;
  // Declared before the service and the listener that report to them.
  const std::unique_ptr<ServerMetrics> metrics_;
  const std::unique_ptr<ServerObserver> observer_;
  std::atomic<Phase> phase_{Phase::kLoading};
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<TokenAuthenticator> auth_;  // outlives grpc_server_ (declared before it)
  std::unique_ptr<EncoderService> service_;
  std::unique_ptr<grpc::Server> grpc_server_;

  mutable absl::Mutex mu_;
  std::unique_ptr<ServedModel> model_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<BatchRunner> runner_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<BatchScheduler> scheduler_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

// The text of a file, or NotFound/PermissionDenied naming `flag` and the path.
absl::StatusOr<std::string> ReadPemFile(const std::string& path, const char* flag);

}  // namespace qkv

#endif  // QKV_SERVER_SERVER_H_
