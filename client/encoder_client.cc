#include "client/encoder_client.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "client/json_dump.h"
#include "common/file_util.h"

namespace qkv {
namespace {

// A stream's overall deadline; progress is policed separately (ClientOptions::timeout between responses).
constexpr absl::Duration kStreamMaxDuration = absl::Hours(24);

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  absl::StatusOr<std::string> contents = ReadFileToString(path);
  if (absl::IsNotFound(contents.status())) {
    return absl::NotFoundError(absl::StrCat("cannot open ", what, " file ", path));
  }
  if (!contents.ok()) return absl::DataLossError(absl::StrCat("error reading ", what, " file ", path));
  return contents;
}

std::string ProtoDuration(absl::Duration d) { return absl::StrFormat("%.9fs", absl::ToDoubleSeconds(d)); }

constexpr size_t kMaxAuthTokenLength = 4096;

// Printable ASCII (what HTTP/2 metadata may carry) without blanks, as a bearer token is.
bool IsSendableToken(absl::string_view token) {
  if (token.size() > kMaxAuthTokenLength) return false;
  for (char c : token) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> ReadAuthTokenFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path, "auth token");
  if (!text.ok()) return text.status();
  const std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat("auth token file ", path, " is empty"));
  if (!IsSendableToken(token)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "auth token file ", path,
        " must hold one token: printable ASCII without blanks or line breaks, at most 4096 characters"));
  }
  return token;
}

absl::Status ClientOptions::Validate() const {
  if (target.empty()) return absl::InvalidArgumentError("empty target");
  if (timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("timeout must be positive");
  if (max_attempts < 1 || max_attempts > 5) {
    return absl::InvalidArgumentError(absl::StrCat("max_attempts must be in [1, 5], got ", max_attempts));
  }
  if (initial_backoff <= absl::ZeroDuration() || max_backoff < initial_backoff) {
    return absl::InvalidArgumentError("backoff must satisfy 0 < initial_backoff <= max_backoff");
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError("a TLS client certificate needs its key, and a key its certificate");
  }
  if (lb_policy != "round_robin" && lb_policy != "pick_first") {
    return absl::InvalidArgumentError(
        absl::StrCat("lb_policy must be round_robin or pick_first, got \"", lb_policy, "\""));
  }
  if (max_reconnect_backoff < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max_reconnect_backoff must be >= 0");
  }
  if (!IsSendableToken(auth_token)) {
    return absl::InvalidArgumentError(
        "the auth token (QKV_AUTH_TOKEN) must be printable ASCII without blanks, at most 4096 characters");
  }
  if (max_receive_message_bytes <= 0)
    return absl::InvalidArgumentError("max_receive_message_bytes must be > 0");
  return absl::OkStatus();
}

std::string DefaultServiceConfigJson(const ClientOptions& options) {
  OrderedJson method = {
      {"name",
       OrderedJson::array({{{"service", "qkv.v1.EncoderService"}}, {{"service", "grpc.health.v1.Health"}}})},
  };
  if (options.max_attempts > 1) {  // gRPC rejects a retryPolicy with maxAttempts < 2
    method["retryPolicy"] = {
        {"maxAttempts", options.max_attempts},
        {"initialBackoff", ProtoDuration(options.initial_backoff)},
        {"maxBackoff", ProtoDuration(options.max_backoff)},
        {"backoffMultiplier", 2.0},
        {"retryableStatusCodes", OrderedJson::array({"UNAVAILABLE"})},
    };
  }
  OrderedJson config = {
      {"loadBalancingConfig",
       OrderedJson::array({OrderedJson::object({{options.lb_policy, OrderedJson::object()}})})},
      {"methodConfig", OrderedJson::array({method})},
  };
  // round_robin skips a replica whose health says NOT_SERVING (it is draining: --drain_notice) before
  // its GOAWAY, after which gRPC would cancel calls still on their way to it.
  if (options.lb_policy == "round_robin" && options.health_check) {
    config["healthCheckConfig"] = {{"serviceName", "qkv.v1.EncoderService"}};
  }
  return config.dump();
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::string FormatStatus(const absl::Status& status) {
  std::string out = absl::StatusCodeToString(status.code());
  if (!status.message().empty()) absl::StrAppend(&out, ": ", status.message());
  return out;
}

absl::StatusOr<std::unique_ptr<EncoderClient>> EncoderClient::Create(const ClientOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(DefaultServiceConfigJson(options));
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  args.SetMaxSendMessageSize(-1);
  if (options.max_reconnect_backoff > absl::ZeroDuration()) {
    const int ms =
        static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(options.max_reconnect_backoff)));
    // Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: that is also the connect timeout, and a short one breaks slow
    // (TLS) handshakes.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(ms, 1000));
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, ms);
  }

  const TlsOptions& tls = options.tls;
  const bool use_tls =
      tls.enabled || !tls.ca_file.empty() || !tls.cert_file.empty() || !tls.server_name.empty();
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (use_tls) {
    grpc::SslCredentialsOptions ssl;
    if (!tls.ca_file.empty()) {
      absl::StatusOr<std::string> pem = ReadFile(tls.ca_file, "TLS CA");
      if (!pem.ok()) return pem.status();
      ssl.pem_root_certs = *std::move(pem);
    }
    if (!tls.cert_file.empty()) {
      absl::StatusOr<std::string> cert = ReadFile(tls.cert_file, "TLS certificate");
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadFile(tls.key_file, "TLS key");
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *std::move(cert);
      ssl.pem_private_key = *std::move(key);
    }
    if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(options.target, credentials, args);
  if (channel == nullptr) return absl::InternalError("gRPC returned no channel");
  return std::unique_ptr<EncoderClient>(new EncoderClient(options, std::move(channel)));
}

EncoderClient::EncoderClient(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::EncoderService::NewStub(channel_)),
      health_stub_(grpc::health::v1::Health::NewStub(channel_)) {}

void EncoderClient::PrepareContext(grpc::ClientContext* context) const {
  context->set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  if (options_.wait_for_ready) context->set_wait_for_ready(true);
  if (!options_.auth_token.empty()) context->AddMetadata("authorization", "Bearer " + options_.auth_token);
}

absl::Status EncoderClient::Encode(const v1::EncodeRequest& request, v1::EncodeResponse* response) const {
  grpc::ClientContext context;
  PrepareContext(&context);
  return FromGrpcStatus(stub_->Encode(&context, request, response));
}

absl::Status EncoderClient::Tokenize(const v1::TokenizeRequest& request,
                                     v1::TokenizeResponse* response) const {
  grpc::ClientContext context;
  PrepareContext(&context);
  return FromGrpcStatus(stub_->Tokenize(&context, request, response));
}

absl::Status EncoderClient::GetModelInfo(v1::GetModelInfoResponse* response) const {
  grpc::ClientContext context;
  PrepareContext(&context);
  return FromGrpcStatus(stub_->GetModelInfo(&context, v1::GetModelInfoRequest(), response));
}

absl::Status EncoderClient::CheckHealth(const std::string& service,
                                        grpc::health::v1::HealthCheckResponse* response) const {
  grpc::ClientContext context;
  PrepareContext(&context);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  return FromGrpcStatus(health_stub_->Check(&context, request, response));
}

absl::Status EncoderClient::EncodeStream(
    const std::function<bool(v1::EncodeStreamRequest*)>& next,
    const std::function<void(const v1::EncodeStreamResponse&)>& on_response, int window) const {
  if (window < 1) window = 1;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kStreamMaxDuration));
  if (options_.wait_for_ready) context.set_wait_for_ready(true);
  std::unique_ptr<grpc::ClientReaderWriter<v1::EncodeStreamRequest, v1::EncodeStreamResponse>> stream =
      stub_->EncodeStream(&context);

  absl::Mutex mu;
  int64_t outstanding = 0;  // written, not yet answered
  absl::Time last_progress = absl::Now();
  bool done_reading = false;  // the response stream ended
  bool timed_out = false;

  // The writer: sends requests while the window has room.
  std::thread sender([&] {
    v1::EncodeStreamRequest request;
    while (true) {
      {
        absl::MutexLock lock(&mu);
        auto room = [&] { return done_reading || outstanding < window; };
        mu.Await(absl::Condition(&room));
        if (done_reading) break;
      }
      request.Clear();
      if (!next(&request)) break;
      {
        absl::MutexLock lock(&mu);
        if (outstanding == 0) last_progress = absl::Now();
        ++outstanding;
      }
      if (!stream->Write(request)) break;
    }
    stream->WritesDone();
  });

  // The watchdog: cancels the call when responses stall for longer than the timeout.
  std::thread watchdog([&] {
    absl::MutexLock lock(&mu);
    while (!mu.AwaitWithTimeout(absl::Condition(&done_reading), absl::Milliseconds(50))) {
      if (outstanding > 0 && absl::Now() - last_progress > options_.timeout) {
        timed_out = true;
        context.TryCancel();
        break;
      }
    }
  });

  v1::EncodeStreamResponse response;
  while (stream->Read(&response)) {
    {
      absl::MutexLock lock(&mu);
      last_progress = absl::Now();
    }
    on_response(response);
    absl::MutexLock lock(&mu);
    --outstanding;  // after on_response: the window counts requests not yet handled by the caller
  }
  {
    absl::MutexLock lock(&mu);
    done_reading = true;
  }
  sender.join();
  watchdog.join();
  grpc::Status status = stream->Finish();
  absl::MutexLock lock(&mu);
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(
        "no response for ", absl::FormatDuration(options_.timeout), " while requests were outstanding"));
  }
  if (status.ok() && outstanding != 0) {
    return absl::DataLossError(
        absl::StrCat("the server ended the stream with ", outstanding, " requests unanswered"));
  }
  return FromGrpcStatus(status);
}

}  // namespace qkv
