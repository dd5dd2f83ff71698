// EncoderClient: the C++ client of qkv.v1.EncoderService (and grpc.health.v1.Health) over one channel.
//
//   ClientOptions options;
//   options.target = "ipv4:127.0.0.1:5001,127.0.0.1:5002";   // several replicas: round_robin
//   QKV_ASSIGN_OR_RETURN(std::unique_ptr<EncoderClient> client, EncoderClient::Create(options));
//   v1::EncodeResponse response;
//   absl::Status s = client->Encode(request, &response);   // the gRPC status, as an absl::Status
//
// Every call carries a deadline (options.timeout from the moment it starts). UNAVAILABLE is retried by gRPC
// itself (retryPolicy in the channel's default service config, exponential backoff), and the channel
// balances calls round_robin over every address the target resolves to (an ipv4:/ipv6: list or a dns:
// name with several records), skipping replicas whose health for qkv.v1.EncoderService is not SERVING
// (loading or draining: gRPC client-side health checking). TLS is on when any TLS option is set: the server is verified against
// tls.ca_file (or the system roots), and tls.cert_file + tls.key_file present a client certificate (mTLS).
// options.auth_token, when set, goes with every call as `authorization: Bearer <token>`.
//
// Thread safety: all methods are const and safe to call from any number of threads at once.
#ifndef QKV_CLIENT_ENCODER_CLIENT_H_
#define QKV_CLIENT_ENCODER_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "qkv/v1/encoder.grpc.pb.h"

namespace qkv {

struct TlsOptions {
  bool enabled = false;     // also implied by any of the fields below
  std::string ca_file;      // PEM roots that sign the server's certificate; empty = system roots
  std::string cert_file;    // PEM client certificate chain (mTLS); requires key_file
  std::string key_file;     // PEM private key of cert_file
  std::string server_name;  // expected name in the server certificate (when dialling an IP, say)
};

struct ClientOptions {
  // A gRPC target: "host:port", "dns:///host:port", "ipv4:10.0.0.1:5001,10.0.0.2:5001", "unix:/path".
  std::string target = "localhost:50051";
  // Deadline of each unary call; for EncodeStream, the longest wait for the next response.
  absl::Duration timeout = absl::Seconds(30);
  TlsOptions tls;
  // Attempts per call (first try included) when the server answers UNAVAILABLE; 1 disables retries.
  // gRPC caps this at 5.
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
  // Largest response accepted (attention outputs can be large).
  int max_receive_message_bytes = 256 << 20;
  // The load-balancing policy of the default service config: "round_robin" (spread calls over every
  // address the target resolves to) or "pick_first" (one connection to the first address that works).
  std::string lb_policy = "round_robin";
  // With round_robin: send no call to a replica whose grpc.health.v1 status for qkv.v1.EncoderService is
  // not SERVING (loading or draining); a server without a health service counts as healthy, one whose
  // health service does not know that name as unhealthy. Off for callers that ask health themselves.
  bool health_check = true;
  // Longest pause between attempts to (re)connect to a server that was unreachable; zero = gRPC's default
  // (1 s, growing to 120 s). A short value makes a client notice a restarted replica sooner.
  absl::Duration max_reconnect_backoff = absl::ZeroDuration();
  // Wait for the channel to connect (up to the deadline) instead of failing fast when no server is up.
  bool wait_for_ready = false;
  // Bearer token sent as `authorization: Bearer <auth_token>` metadata on every call (health included);
  // empty = none. Printable ASCII without blanks. Without TLS the token crosses the network in clear.
  std::string auth_token;

  // InvalidArgument for an empty target, a non-positive timeout, max_attempts outside [1, 5], an unknown
  // lb_policy, a client certificate without its key (or the reverse), or an auth_token with blanks or
  // non-printable characters.
  absl::Status Validate() const;
};

// The channel's default service config: options.lb_policy (round_robin by default; with it and
// options.health_check, a healthCheckConfig on qkv.v1.EncoderService) and a retryPolicy for UNAVAILABLE on every method of
// qkv.v1.EncoderService and grpc.health.v1.Health.
std::string DefaultServiceConfigJson(const ClientOptions& options);

// The bearer token in the file at `path`: its whole text without surrounding whitespace (a trailing
// newline is fine). NotFound when it cannot be read; InvalidArgument when it is empty or holds blanks,
// line breaks or non-printable characters (the token itself is never part of the message).
absl::StatusOr<std::string> ReadAuthTokenFile(const std::string& path);

// The gRPC status of a call as an absl::Status: the same code (the numbering is shared) and message.
absl::Status FromGrpcStatus(const grpc::Status& status);
// "CODE: message" (just "CODE" when the message is empty), CODE being the gRPC code name ("UNAVAILABLE").
std::string FormatStatus(const absl::Status& status);

class EncoderClient {
 public:
  // Reads the TLS files and builds the channel (connecting lazily). InvalidArgument for bad options,
  // NotFound / PermissionDenied when a TLS file cannot be read.
  static absl::StatusOr<std::unique_ptr<EncoderClient>> Create(const ClientOptions& options);

  absl::Status Encode(const v1::EncodeRequest& request, v1::EncodeResponse* response) const;
  absl::Status Tokenize(const v1::TokenizeRequest& request, v1::TokenizeResponse* response) const;
  absl::Status GetModelInfo(v1::GetModelInfoResponse* response) const;
  // grpc.health.v1.Health/Check for `service` ("" = the whole server).
  absl::Status CheckHealth(const std::string& service, grpc::health::v1::HealthCheckResponse* response) const;

  // Runs one EncodeStream call. `next` fills the next request and returns false when there are no more;
  // at most `window` requests are unanswered at any time. `on_response` runs on the calling thread for every
  // response, in order. The call is cancelled (DEADLINE_EXCEEDED) when no response arrives within
  // options.timeout while requests are outstanding. Returns the stream's final status (DATA_LOSS when it
  // ended OK with requests unanswered); per-request errors are in the responses (code, message). `next`
  // runs on an internal writer thread.
  absl::Status EncodeStream(const std::function<bool(v1::EncodeStreamRequest*)>& next,
                            const std::function<void(const v1::EncodeStreamResponse&)>& on_response,
                            int window) const;

  const ClientOptions& options() const { return options_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  EncoderClient(ClientOptions options, std::shared_ptr<grpc::Channel> channel);
  void PrepareContext(grpc::ClientContext* context) const;

  const ClientOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::EncoderService::Stub> stub_;
  const std::unique_ptr<grpc::health::v1::Health::Stub> health_stub_;
};

}  // namespace qkv

#endif  // QKV_CLIENT_ENCODER_CLIENT_H_
