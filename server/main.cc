// qkv-server: serves a BERT-family encoder over gRPC (qkv.v1.EncoderService, grpc.health.v1, reflection).
//
// Every flag has an environment twin: QKV_ plus the flag name in upper case (--max_batch_tokens ->
// QKV_MAX_BATCH_TOKENS). The environment sets the default; a flag given on the command line wins.
// Exit codes: 0 after a clean drain (SIGTERM/SIGINT) and for --help / --version, 1 when the server can't
// start (model, port, TLS files, token file), 2 for a bad flag or environment value. Every line it writes
// goes through the logger (server/observability/logging.h): info to stdout, warnings and errors to stderr.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "core/precision.h"
#include "qkv_version.h"
#include "server/flag_table.h"
#include "server/observability/logging.h"
#include "server/openmp_env.h"
#include "server/server.h"
#include "server/server_config.h"

ABSL_FLAG(
    std::string, model, "",
    "Model to serve: a Hugging Face model directory (config.json, vocab.txt, model.safetensors or "
    "model.onnx) or a .safetensors/.onnx file beside them. Default: the bundled bert-tiny-random, looked "
    "up as models/bert-tiny-random or share/qkv/models/bert-tiny-random in the binary's directory and up "
    "to four parents, then in the source tree the binary was built from, then "
    "/usr/share/qkv/models/bert-tiny-random.");
ABSL_FLAG(std::string, listen, qkv::ServerConfig().listen,
          "host:port to listen on; port 0 picks a free one.");
ABSL_FLAG(int, workers, 0,
          "Worker threads running batches; 0 = derive from the usable CPUs (cgroup quota "
          "and affinity aware).");
ABSL_FLAG(int, threads_per_worker, 0, "OpenMP threads per worker for oneDNN; 0 = derive from the CPUs.");
ABSL_FLAG(int64_t, max_batch_tokens, qkv::ServerConfig().max_batch_tokens,
          "Most tokens (sum of sequence lengths) in one batch.");
ABSL_FLAG(int, max_batch_sequences, qkv::ServerConfig().max_batch_sequences,
          "Most sequences in one batch and in one request.");
ABSL_FLAG(absl::Duration, max_queue_delay, qkv::ServerConfig().max_queue_delay,
          "Longest time the oldest queued request waits for batch-mates, e.g. 500us or 2ms; 0 = never wait.");
ABSL_FLAG(int64_t, max_queued_tokens, qkv::ServerConfig().max_queued_tokens,
          "Most tokens waiting in the queue; more is refused at once with RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, max_stream_in_flight, qkv::ServerConfig().max_stream_in_flight,
          "Requests one EncodeStream may have in flight before the server stops reading it.");
ABSL_FLAG(std::string, precision, qkv::ServerConfig().precision,
          "Number format of the encoder's projection and feed-forward matmuls: fp32 (exact), bf16 (needs a "
          "CPU with native bf16) or int8 (dynamic quantization at load). Attention, softmax, LayerNorm and "
          "GELU stay fp32.");
ABSL_FLAG(bool, allow_emulated_bf16, qkv::ServerConfig().allow_emulated_bf16,
          "Start with --precision=bf16 on a CPU without native bf16 (oneDNN emulates it, slower than fp32).");
ABSL_FLAG(int, prep_threads, qkv::ServerConfig().prep_threads,
          "Threads that parse, validate and tokenize requests (off gRPC's threads).");
ABSL_FLAG(int, max_prep_queue, qkv::ServerConfig().max_prep_queue,
          "Requests waiting for a preparation thread; more get RESOURCE_EXHAUSTED.");
ABSL_FLAG(int64_t, max_message_bytes, qkv::ServerConfig().max_message_bytes,
          "Largest response message in bytes.");
ABSL_FLAG(int64_t, max_receive_message_bytes, qkv::ServerConfig().max_receive_message_bytes,
          "Largest request message in bytes.");
ABSL_FLAG(int64_t, max_text_bytes, qkv::ServerConfig().max_text_bytes,
          "Largest string field (text, text_pair, id) of a request in bytes; checked before parsing.");
ABSL_FLAG(int64_t, max_inflight_bytes, qkv::ServerConfig().max_inflight_bytes,
          "Server-wide bytes held by requests in flight (requests, responses being built, unread "
          "responses); beyond it calls get RESOURCE_EXHAUSTED. Must be >= 2 x --max_message_bytes.");
ABSL_FLAG(int, max_streams, qkv::ServerConfig().max_streams, "Concurrent EncodeStream calls, server-wide.");
ABSL_FLAG(int, max_streams_per_connection, qkv::ServerConfig().max_streams_per_connection,
          "Concurrent EncodeStream calls per connection.");
ABSL_FLAG(double, max_client_queue_share, qkv::ServerConfig().max_client_queue_share,
          "The most of --max_queued_tokens one client (its address) may hold queued, in (0, 1].");
ABSL_FLAG(int64_t, max_attention_bytes, qkv::ServerConfig().max_attention_bytes,
          "Largest attention output of one request in bytes.");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate (chain); with --tls_key turns TLS on.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle; when set, clients must present a certificate it "
          "signed (mTLS).");
ABSL_FLAG(std::string, auth_token_file, "",
          "File of bearer tokens, one per line as NAME:TOKEN or TOKEN ('#' comments; see docs/SECURITY.md). "
          "When set, every RPC but grpc.health.v1 needs 'authorization: Bearer <token>' metadata; the file "
          "is re-read when it changes.");
ABSL_FLAG(absl::Duration, keepalive_time, qkv::ServerConfig().keepalive_time,
          "Interval of HTTP/2 keepalive pings to clients.");
ABSL_FLAG(absl::Duration, keepalive_timeout, qkv::ServerConfig().keepalive_timeout,
          "How long to wait for a keepalive ping's ack before closing the connection.");
ABSL_FLAG(absl::Duration, grace_period, qkv::ServerConfig().grace_period,
          "On SIGTERM/SIGINT: how long in-flight calls may take to finish before they are cancelled.");
ABSL_FLAG(absl::Duration, drain_notice, qkv::ServerConfig().drain_notice,
          "On SIGTERM/SIGINT: how much of the grace period health says NOT_SERVING and new calls get "
          "UNAVAILABLE before GOAWAY is sent, so that health-checking clients move away first.");
// --- Operations (HTTP listener, logs, connection age) ---
ABSL_FLAG(std::string, http_listen, "0.0.0.0:8080",
          "host:port of the HTTP listener serving /metrics (Prometheus), /healthz and /readyz; port 0 picks "
          "a free one; empty = no listener.");
ABSL_FLAG(std::string, log_format, qkv::ServerConfig().log_format,
          "Log line format: text or json (one JSON object per line).");
ABSL_FLAG(std::string, log_level, qkv::ServerConfig().log_level,
          "Lowest log level written: trace, debug, info, warn, error, critical or off.");
ABSL_FLAG(bool, access_log, qkv::ServerConfig().access_log,
          "Write one access log line per request (EncodeStream: per message): method, peer, request id, "
          "code, sequences, tokens, queue/compute/total ms.");
ABSL_FLAG(absl::Duration, max_connection_age, qkv::ServerConfig().max_connection_age,
          "Send GOAWAY to connections older than this (+-10% jitter) so clients reconnect and reach new "
          "replicas; 0 = never.");
ABSL_FLAG(absl::Duration, max_connection_age_grace, qkv::ServerConfig().max_connection_age_grace,
          "How long calls on a connection past --max_connection_age may still run before it is closed.");

namespace qkv {
namespace {

constexpr const char* kEnvFlags[] = {
    "model",
    "listen",
    "workers",
    "threads_per_worker",
    "max_batch_tokens",
    "max_batch_sequences",
    "max_queue_delay",
    "max_queued_tokens",
    "max_stream_in_flight",
    "precision",
    "allow_emulated_bf16",
    "prep_threads",
    "max_prep_queue",
    "max_message_bytes",
    "max_receive_message_bytes",
    "max_text_bytes",
    "max_inflight_bytes",
    "max_streams",
    "max_streams_per_connection",
    "max_client_queue_share",
    "max_attention_bytes",
    "tls_cert",
    "tls_key",
    "tls_client_ca",
    "auth_token_file",
    "keepalive_time",
    "keepalive_timeout",
    "grace_period",
    "drain_notice",
    "http_listen",
    "log_format",
    "log_level",
    "access_log",
    "max_connection_age",
    "max_connection_age_grace",
};

constexpr char kUsage[] =
    "qkv-server: serves a BERT-family encoder over gRPC (qkv.v1.EncoderService, grpc.health.v1, "
    "reflection),\nand /metrics, /healthz, /readyz over HTTP.\n\n"
    "Usage: qkv-server [--flag=value ...]\n\n"
    "Every flag also reads its environment twin QKV_<FLAG> (an explicit flag wins). Flags:\n";

// True when argv asks for help (absl's --help would list no flag: see flag_table.h).
bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    for (const char* help : {"--help", "-help", "-h", "--helpshort", "-helpshort"}) {
      if (std::strcmp(argv[i], help) == 0) return true;
    }
  }
  return false;
}

// Applies QKV_<FLAG> environment variables as flag values; called before the command line is parsed, so
// explicit flags override them.
bool ApplyEnvironment() {
  for (const char* name : kEnvFlags) {
    const std::string env = absl::StrCat("QKV_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(env.c_str());
    if (value == nullptr) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string error;
    if (flag == nullptr || !flag->ParseFrom(value, &error)) {
      spdlog::error("qkv-server: {}=\"{}\" is not a valid value for --{}: {}", env, value, name, error);
      return false;
    }
  }
  return true;
}

bool IsFile(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

// See the --model help text.
std::string DefaultModelPath() {
  const std::string relative = "models/bert-tiny-random";
  std::vector<std::string> candidates;
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    std::string dir(exe, static_cast<size_t>(n));
    for (int up = 0; up <= 4; ++up) {
      const size_t slash = dir.rfind('/');
      if (slash == std::string::npos || slash == 0) break;
      dir = dir.substr(0, slash);
      candidates.push_back(absl::StrCat(dir, "/", relative));
      candidates.push_back(absl::StrCat(dir, "/share/qkv/", relative));
    }
  }
#ifdef QKV_SOURCE_DIR
  candidates.push_back(absl::StrCat(QKV_SOURCE_DIR, "/", relative));
#endif
  candidates.push_back("/usr/share/qkv/" + relative);
  for (const std::string& c : candidates) {
    if (IsFile(c + "/config.json")) return c;
  }
  return candidates.back();
}

ServerConfig ConfigFromFlags() {
  ServerConfig c;
  c.model = absl::GetFlag(FLAGS_model);
  if (c.model.empty()) c.model = DefaultModelPath();
  c.listen = absl::GetFlag(FLAGS_listen);
  c.workers = absl::GetFlag(FLAGS_workers);
  c.threads_per_worker = absl::GetFlag(FLAGS_threads_per_worker);
  c.max_batch_tokens = absl::GetFlag(FLAGS_max_batch_tokens);
  c.max_batch_sequences = absl::GetFlag(FLAGS_max_batch_sequences);
  c.max_queue_delay = absl::GetFlag(FLAGS_max_queue_delay);
  c.max_queued_tokens = absl::GetFlag(FLAGS_max_queued_tokens);
  c.max_stream_in_flight = absl::GetFlag(FLAGS_max_stream_in_flight);
  c.precision = absl::GetFlag(FLAGS_precision);
  c.allow_emulated_bf16 = absl::GetFlag(FLAGS_allow_emulated_bf16);
  c.prep_threads = absl::GetFlag(FLAGS_prep_threads);
  c.max_prep_queue = absl::GetFlag(FLAGS_max_prep_queue);
  c.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  c.max_receive_message_bytes = absl::GetFlag(FLAGS_max_receive_message_bytes);
  c.max_text_bytes = absl::GetFlag(FLAGS_max_text_bytes);
  c.max_inflight_bytes = absl::GetFlag(FLAGS_max_inflight_bytes);
  c.max_streams = absl::GetFlag(FLAGS_max_streams);
  c.max_streams_per_connection = absl::GetFlag(FLAGS_max_streams_per_connection);
  c.max_client_queue_share = absl::GetFlag(FLAGS_max_client_queue_share);
  c.max_attention_bytes = absl::GetFlag(FLAGS_max_attention_bytes);
  c.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  c.tls_key = absl::GetFlag(FLAGS_tls_key);
  c.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  c.auth_token_file = absl::GetFlag(FLAGS_auth_token_file);
  c.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  c.keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  c.grace_period = absl::GetFlag(FLAGS_grace_period);
  c.drain_notice = absl::GetFlag(FLAGS_drain_notice);
  c.http_listen = absl::GetFlag(FLAGS_http_listen);
  c.log_format = absl::GetFlag(FLAGS_log_format);
  c.log_level = absl::GetFlag(FLAGS_log_level);
  c.access_log = absl::GetFlag(FLAGS_access_log);
  c.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  c.max_connection_age_grace = absl::GetFlag(FLAGS_max_connection_age_grace);
  return c;
}

std::string StartupLine(const Server& server) {
  const ServerConfig& c = server.config();
  const ServedModel& m = *server.model();
  const ModelConfig& mc = m.config;
  const char* security = c.tls_cert.empty() ? "plaintext" : (c.tls_client_ca.empty() ? "TLS" : "mTLS");
  const std::string host = c.listen.substr(0, c.listen.rfind(':'));
  const std::string auth = server.authenticator() == nullptr
                               ? "no auth"
                               : absl::StrCat("bearer tokens: ", server.authenticator()->token_count());
  const std::string http =
      server.http_port() == 0
          ? "off"
          : absl::StrCat(c.http_listen.substr(0, c.http_listen.rfind(':')), ":", server.http_port());
  return absl::StrCat(
      "qkv-server ", kQkvVersion, " listening on ", host, ":", server.port(), " (", security, ", ", auth,
      "); http ", http, "; model ", m.name, " (", m.format, " ", m.weights_path, "; L=", mc.num_hidden_layers,
      " D=", mc.hidden_size, " H=", mc.num_attention_heads, " F=", mc.intermediate_size, " V=", mc.vocab_size,
      " P=", mc.max_position_embeddings, ", pooler=", m.has_pooler ? "yes" : "no",
      ", ", PrecisionName(m.precision), " on ", EffectiveCpuIsaName(), "); workers=", c.workers,
      " threads_per_worker=", c.threads_per_worker,
      " (cpus=", AvailableCpus(), "); max_batch_tokens=", c.max_batch_tokens,
      " max_batch_sequences=", c.max_batch_sequences,
      " max_queue_delay=", absl::FormatDuration(c.max_queue_delay),
      " max_queued_tokens=", c.max_queued_tokens, " max_message_bytes=", c.max_message_bytes,
      " max_receive_message_bytes=", c.max_receive_message_bytes, " max_text_bytes=", c.max_text_bytes,
      " max_inflight_bytes=", c.max_inflight_bytes, " max_streams=", c.max_streams, "/",
      c.max_streams_per_connection, " per connection, max_client_queue_share=", c.max_client_queue_share,
      " prep_threads=", c.prep_threads, " max_attention_bytes=", c.max_attention_bytes, "; kernels: ", absl::StrJoin(m.kernels, ", "));
}

int Main(int argc, char** argv) {
  // Block the shutdown signals in every thread (gRPC's and OpenMP's are created later and inherit the
  // mask); one thread takes them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  InitLogging(LogFormat::kText, spdlog::level::info, /*access_log=*/false);  // until the flags are read
  absl::SetProgramUsageMessage(kUsage);
  absl::FlagsUsageConfig usage;
  usage.version_string = [] { return absl::StrCat("qkv-server ", kQkvVersion, "\n"); };
  absl::SetFlagsUsageConfig(usage);
  if (WantsHelp(argc, argv)) {
    std::cout << kUsage << FlagTable("server/main.cc", kEnvFlags) << std::flush;
    return 0;
  }
  if (!ApplyEnvironment()) return 2;
  absl::ParseCommandLine(argc, argv);  // --version prints the version and exits 0 here
  ServerConfig config = ConfigFromFlags();
  config.ResolveDefaults();
  if (absl::Status s = config.Validate(); !s.ok()) {
    spdlog::error("qkv-server: {}", std::string(s.message()));
    return 2;
  }
  InitLogging(*ParseLogFormat(config.log_format), *ParseLogLevel(config.log_level), config.access_log);

  absl::Notification stop;
  int received = 0;
  std::thread signal_thread([&] {
    sigwait(&signals, &received);
    stop.Notify();
  });
  auto finish = [&](int code) {
    if (!stop.HasBeenNotified()) pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
    return code;
  };

  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(config);
  if (!server.ok()) {
    spdlog::error("qkv-server: {}", std::string(server.status().message()));
    return finish(1);
  }
  if (absl::Status s = (*server)->LoadModel(); !s.ok()) {
    spdlog::error("qkv-server: cannot serve model {}: {}", config.model, std::string(s.message()));
    (*server)->Shutdown();
    return finish(1);
  }
  spdlog::info("{}", StartupLine(**server));

  stop.WaitForNotification();
  spdlog::info("qkv-server: {}: draining (grace period {}, GOAWAY after {})",
               received == SIGINT ? "SIGINT" : "SIGTERM", absl::FormatDuration(config.grace_period),
               absl::FormatDuration(std::min(config.drain_notice, config.grace_period)));
  (*server)->Shutdown();
  spdlog::info("qkv-server: drained, exiting");
  return finish(0);
}

}  // namespace
}  // namespace qkv

int main(int argc, char** argv) {
  qkv::ReexecWithOpenMpDefaults(argv);
  return qkv::Main(argc, argv);
}
