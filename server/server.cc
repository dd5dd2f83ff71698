#include "server/server.h"

#include <algorithm>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "core/precision.h"
#include "grpc/health/v1/health.pb.h"
#include "server/http/api_routes.h"
#include "server/http/ops_routes.h"
#include "server/tls_check.h"
#include "spdlog/spdlog.h"

namespace qkv {

absl::StatusOr<std::string> ReadPemFile(const std::string& path, const char* flag) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return absl::NotFoundError(absl::StrCat("--", flag, ": cannot read ", path));
  if (text->empty()) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", path, " is empty"));
  return text;
}

namespace {

// How often the TLS files are checked for changes (FileWatcherCertificateProvider re-reads them and
// swaps the certificate in for new handshakes when their contents changed).
constexpr unsigned int kTlsRefreshSeconds = 1;

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerConfig& config) {
  if (config.tls_cert.empty()) return grpc::InsecureServerCredentials();
  // Read and checked once here so that a missing, empty or mismatched file fails the start with the
  // flag's name (the provider would only log and fail every handshake).
  QKV_ASSIGN_OR_RETURN(std::string cert, ReadPemFile(config.tls_cert, "tls_cert"));
  QKV_ASSIGN_OR_RETURN(std::string key, ReadPemFile(config.tls_key, "tls_key"));
  std::string ca;
  if (!config.tls_client_ca.empty()) {
    QKV_ASSIGN_OR_RETURN(ca, ReadPemFile(config.tls_client_ca, "tls_client_ca"));
  }
  QKV_RETURN_IF_ERROR(CheckTlsFiles(cert, key, ca));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      config.tls_key, config.tls_cert, config.tls_client_ca, kTlsRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (config.tls_client_ca.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace

Server::Server(ServerConfig config)
    : config_(std::move(config)),
      metrics_(std::make_unique<ServerMetrics>()),
      observer_(std::make_unique<ServerObserver>(metrics_.get())) {}

Server::~Server() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerConfig config) {
  config.ResolveDefaults();
  QKV_RETURN_IF_ERROR(config.Validate());
  QKV_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials, Credentials(config));

  std::unique_ptr<Server> server(new Server(std::move(config)));
  const ServerConfig& c = server->config_;
  if (!c.auth_token_file.empty()) {
    QKV_ASSIGN_OR_RETURN(server->auth_, TokenAuthenticator::Create(c.auth_token_file));
  }
  server->service_ = std::make_unique<EncoderService>(c, server->observer_.get(), server->auth_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  // The built-in health service registers no descriptors; linking the vendored health.proto's lets
  // reflection describe grpc.health.v1.Health.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(c.listen, credentials, &server->port_);
  builder.RegisterService(server->service_.get());
  // Every method but grpc.health.v1 (reflection included) behind the tokens.
  if (server->auth_ != nullptr)
    builder.experimental().SetInterceptorCreators(AuthInterceptorCreators(server->auth_.get()));
  builder.SetMaxReceiveMessageSize(static_cast<int>(c.max_receive_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(c.max_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(c.keepalive_time)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(c.keepalive_timeout)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Clients may ping idle connections every 10 s without being told to go away.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // A second server on a port already in use must fail, not share it (gRPC sets SO_REUSEPORT by default).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Connection age: GOAWAY after max_connection_age, so clients re-resolve and spread over new replicas.
  if (c.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               static_cast<int>(absl::ToInt64Milliseconds(c.max_connection_age)));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               static_cast<int>(absl::ToInt64Milliseconds(c.max_connection_age_grace)));
  }
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr || server->port_ == 0) {
    server->grpc_server_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", c.listen,
                                               " (address in use, not local, or malformed; see --listen)"));
  }
  server->SetHealth(false);
  if (!c.http_listen.empty()) {
    Server* s = server.get();
    HttpServerOptions http_options;
    // JSON API calls hold a listener thread while they run; leave threads for probes and scrapes.
    http_options.threads = 16;
    http_options.max_body_bytes = static_cast<size_t>(c.max_receive_message_bytes);
    server->http_ = std::make_unique<HttpServer>(server->metrics_.get(), http_options);
    AddOpsRoutes(server->http_.get(), server->metrics_.get(), [s] { return s->Readiness(); });
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(static_cast<int>(c.max_message_bytes));
    args.SetMaxSendMessageSize(static_cast<int>(c.max_receive_message_bytes));
    AddApiRoutes(server->http_.get(), server->grpc_server_->InProcessChannel(args), server->auth_.get());
    QKV_RETURN_IF_ERROR(server->http_->Start(c.http_listen));
  }
  return server;
}

void Server::SetHealth(bool serving) {
  grpc::HealthCheckServiceInterface* health = grpc_server_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus("", serving);
  health->SetServingStatus(kServiceName, serving);
}

absl::Status Server::LoadModel() {
  QKV_ASSIGN_OR_RETURN(const Precision precision, ParsePrecision(config_.precision));
  QKV_ASSIGN_OR_RETURN(std::unique_ptr<ServedModel> model,
                       LoadServedModel(config_.model, config_.max_batch_tokens, precision,
                                       config_.allow_emulated_bf16));
  QKV_RETURN_IF_ERROR(WarmUp(*model));
  return Serve(std::move(model));
}

absl::Status Server::Serve(std::unique_ptr<ServedModel> model, std::unique_ptr<BatchRunner> runner) {
  if (runner == nullptr) {
    if (model->encoder == nullptr) return absl::InvalidArgumentError("Serve: no encoder and no runner");
    runner = std::make_unique<EncoderRunner>(model->encoder.get());
  }
  SchedulerOptions options;
  options.workers = config_.workers;
  options.threads_per_worker = config_.threads_per_worker;
  options.max_batch_tokens = config_.max_batch_tokens;
  options.max_batch_sequences = config_.max_batch_sequences;
  options.max_queue_delay = config_.max_queue_delay;
  options.max_queued_tokens = config_.max_queued_tokens;
  ServerMetrics* metrics = metrics_.get();
  options.on_batch = [metrics](int sequences, int64_t tokens) { metrics->BatchRan(sequences, tokens); };
  options.max_client_queue_share = config_.max_client_queue_share;
  absl::MutexLock lock(&mu_);
  if (shut_down_) return absl::UnavailableError("the server is shutting down");
  if (model_ != nullptr) return absl::FailedPreconditionError("a model is already being served");
  model_ = std::move(model);
  runner_ = std::move(runner);
  scheduler_ = std::make_unique<BatchScheduler>(options, runner_.get());
  const BatchScheduler* scheduler = scheduler_.get();
  // The scheduler lives until the Server is destroyed, after the listener has stopped.
  metrics_->SetQueueSource([scheduler] {
    return QueueDepth{scheduler->queued_tokens(), scheduler->queued_jobs()};
  });
  metrics_->SetModel(model_->name, model_->format, PrecisionName(model_->precision));
  service_->SetReady(model_.get(), scheduler_.get());
  SetHealth(true);
  phase_.store(Phase::kServing);
  return absl::OkStatus();
}

absl::Status Server::Readiness() const {
  switch (phase_.load()) {
    case Phase::kLoading:
      return absl::UnavailableError("loading the model");
    case Phase::kDraining:
      return absl::UnavailableError("draining (shutting down)");
    case Phase::kServing:
      break;
  }
  return absl::OkStatus();
}

void Server::BeginDrain() {
  phase_.store(Phase::kDraining);
  service_->StartDraining();
  SetHealth(false);
}

void Server::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  if (grpc_server_ == nullptr) {  // Start failed
    if (http_ != nullptr) http_->Stop();
    return;
  }
  const absl::Time deadline = absl::Now() + config_.grace_period;
  const bool served = phase_.load() != Phase::kLoading;
  BeginDrain();
  // Calls in flight go on meanwhile. gRPC's Shutdown sends GOAWAY and cancels every call that reaches it
  // afterwards (until the client has read the GOAWAY): the notice lets health-checking clients leave first.
  // A server that never served has no client to send away.
  if (served) absl::SleepFor(std::min(config_.drain_notice, config_.grace_period));
  // Waits for calls in flight until the deadline, then cancels the rest (their queued jobs are dropped).
  grpc_server_->Shutdown(absl::ToChronoTime(deadline));
  grpc_server_->Wait();
  service_->StopPreparation();  // every call is over; submits nothing after this
  {
    absl::MutexLock lock(&mu_);
    if (scheduler_ != nullptr) scheduler_->Shutdown();
  }
  // Last: probes and scrapes see the drain until the process is about to exit.
  if (http_ != nullptr) http_->Stop();
}

const ServedModel* Server::model() const {
  absl::MutexLock lock(&mu_);
  return model_.get();
}

const BatchScheduler* Server::scheduler() const {
  absl::MutexLock lock(&mu_);
  return scheduler_.get();
}

std::string Server::address() const {
  std::string host = config_.listen.substr(0, config_.listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") host = "127.0.0.1";
  return absl::StrCat(host, ":", port_);
}

}  // namespace qkv
