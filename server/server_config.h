// ServerConfig: every setting of qkv-server, with its default, in one struct. main.cc fills it from flags
// (each flag has the same name as the field); tests build it directly. Validate() names the flag at fault.
#ifndef QKV_SERVER_SERVER_CONFIG_H_
#define QKV_SERVER_SERVER_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace qkv {

struct ServerConfig {
  // --- What to serve, where ---
  // A Hugging Face model directory, or a .safetensors / .onnx file beside config.json and vocab.txt.
  std::string model;
  // host:port to listen on; port 0 picks a free port (Server::port() reports it).
  std::string listen = "0.0.0.0:50051";

  // --- Parameters that affect performance ---
  // Worker threads that run batches; each owns a Workspace. 0 = derive from the CPU count (DefaultThreading).
  int workers = 0;
  // OpenMP threads each worker's oneDNN calls use. 0 = derive from the CPU count (DefaultThreading).
  int threads_per_worker = 0;
  // Most tokens (sum of T) in one batch. A single sequence longer than this still runs, alone.
  int64_t max_batch_tokens = 8192;
  // Most sequences in one batch, and in one EncodeRequest.
  int max_batch_sequences = 64;
  // How long the oldest queued request waits for batch-mates before its batch starts anyway.
  absl::Duration max_queue_delay = absl::Microseconds(500);
  // Most tokens waiting in the queue; a request that would exceed it gets RESOURCE_EXHAUSTED at once.
  int64_t max_queued_tokens = 262144;
  // Requests one EncodeStream call may have in flight before the server stops reading from it.
  int max_stream_in_flight = 16;
  // Number format of the encoder's projection and feed-forward matmuls: "fp32" (exact), "bf16" or "int8"
  // (core/precision.h). bf16 needs a CPU with native bf16 unless allow_emulated_bf16.
  std::string precision = "fp32";
  // Serve bf16 on a CPU without native bf16 (oneDNN emulates it, several times slower than fp32).
  bool allow_emulated_bf16 = false;
  // Threads that parse, validate and tokenize requests (never gRPC's threads, never the batch workers).
  int prep_threads = 2;
  // Requests waiting for a preparation thread; more get RESOURCE_EXHAUSTED at once.
  int max_prep_queue = 256;

  // --- Limits that protect the server (docs/SECURITY.md lists them all) ---
  // Largest response message (and the largest Encode response), in bytes.
  int64_t max_message_bytes = 64 << 20;
  // Largest request message gRPC accepts, in bytes (RESOURCE_EXHAUSTED from gRPC beyond it).
  int64_t max_receive_message_bytes = 16 << 20;
  // Largest string field of a request (a text, text_pair, id or request_id), in bytes; checked on the
  // wire before the request is parsed.
  int64_t max_text_bytes = 1 << 20;
  // Server-wide budget of bytes held by requests in flight: received requests (counted 4x for their
  // parsed form), the responses being built (2x their estimate) and serialized responses the client has
  // not read yet. A request that does not fit gets RESOURCE_EXHAUSTED.
  int64_t max_inflight_bytes = 256 << 20;
  // Concurrent EncodeStream calls, server-wide and per connection (peer address and port).
  int max_streams = 64;
  int max_streams_per_connection = 4;
  // The most of --max_queued_tokens one client (ClientKey: its address without port) may hold queued,
  // in (0, 1]; 1 = no per-client bound.
  double max_client_queue_share = 0.5;
  // Largest attention output of one request, in bytes (4 bytes per probability).
  int64_t max_attention_bytes = 16 << 20;

  // --- Transport ---
  // PEM files. tls_cert and tls_key together turn TLS on; tls_client_ca additionally requires and verifies
  // client certificates (mTLS). All empty = plaintext.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // The three files are re-read when they change (checked every second), so a rotated certificate
  // (cert-manager) is served to new connections without a restart.

  // --- Access control ---
  // A file of bearer tokens (server/token_set.h, docs/SECURITY.md); when set, every RPC but grpc.health.v1
  // needs `authorization: Bearer <token>` metadata with one of them, and the file is re-read when it
  // changes. Empty = no authentication.
  std::string auth_token_file;

  // HTTP/2 keepalive pings to idle clients, and how long to wait for the ack.
  absl::Duration keepalive_time = absl::Seconds(60);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // On SIGTERM/SIGINT: how long in-flight calls may take to finish before they are cancelled.
  absl::Duration grace_period = absl::Seconds(30);
  // The first part of the grace period (at most all of it): health already says NOT_SERVING and new calls
  // get UNAVAILABLE (retryable), but connections stay open, so that clients that watch health (gRPC
  // client-side health checking, as the qkv client does) stop sending here before GOAWAY. A call that
  // reaches gRPC after GOAWAY is sent is cancelled by gRPC itself (CANCELLED, which clients do not retry).
  absl::Duration drain_notice = absl::Seconds(1);

  // --- Operations: HTTP listener, logs, connection lifetime (server/observability, server/http) ---
  // host:port of the HTTP listener (/metrics, /healthz, /readyz); port 0 picks a free one
  // (Server::http_port()). Empty = no listener: the default here, so embedded and test servers open no
  // second port; qkv-server's --http_listen defaults to 0.0.0.0:8080.
  std::string http_listen;
  // Log line format, "text" or "json", and the lowest level written (trace ... critical, off). Applied by
  // main.cc (InitLogging); validated here.
  std::string log_format = "text";
  std::string log_level = "info";
  // One access log line per request (EncodeStream: per message).
  bool access_log = false;
  // A connection older than this is sent GOAWAY, so that long-lived clients reconnect (and re-resolve)
  // and reach replicas added since; 0 = never. Calls running on it get max_connection_age_grace to finish
  // before it is closed. gRPC adds +-10% jitter to the age.
  absl::Duration max_connection_age = absl::Minutes(5);
  absl::Duration max_connection_age_grace = absl::Seconds(30);

  // OK when every value is usable; otherwise InvalidArgument naming the flag, e.g.
  // "--max_batch_tokens must be >= 1 (got 0)". Runs after ResolveDefaults (workers etc. are positive then).
  absl::Status Validate() const;
  // The operations block's part of Validate().
  absl::Status ValidateOperations() const;

  // Replaces 0 for workers / threads_per_worker: both 0 -> DefaultThreading(AvailableCpus()); one 0 -> as
  // many as fill the CPUs given the other.
  void ResolveDefaults();
};

// CPUs this process may use: the affinity mask (sched_getaffinity, i.e. cpusets), further bounded by a
// cgroup CPU quota (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us), rounded up. >= 1.
int AvailableCpus();

// The CPU quota in cgroup files' text, as CPUs rounded up; 0 when there is no quota ("max", -1, or
// unreadable). Exposed for tests. `cpu_max` is cgroup v2's "QUOTA PERIOD"; quota_us / period_us are v1's.
int CpusFromCgroupV2(const std::string& cpu_max);
int CpusFromCgroupV1(const std::string& quota_us, const std::string& period_us);

struct Threading {
  int workers = 1;
  int threads_per_worker = 1;
};

// The default split of `cpus` between workers and their threads: up to 4 threads per worker (one
// sequence batch scales well to a few cores; beyond that more workers overlap batches better), and as many
// workers as fill the CPUs: 1 -> 1x1, 2 -> 1x2, 4 -> 1x4, 8 -> 2x4, 6 -> 2x3.
Threading DefaultThreading(int cpus);

}  // namespace qkv

#endif  // QKV_SERVER_SERVER_CONFIG_H_
