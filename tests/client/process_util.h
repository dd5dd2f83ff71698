// Test helpers: run a binary and capture its exit code / stdout / stderr, start qkv-server on a free port
// and wait until it is SERVING, locate the built binaries (QKV_BINARY_DIR).
#ifndef QKV_TESTS_CLIENT_PROCESS_UTIL_H_
#define QKV_TESTS_CLIENT_PROCESS_UTIL_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/encoder_client.h"

namespace qkv {
namespace testing_util {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with `args`, feeding `input` on stdin. `env` entries ("NAME=value") are added to the
// environment. The process is killed after `timeout`.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& input = "",
                         const std::vector<std::string>& env = {},
                         absl::Duration timeout = absl::Seconds(120));

// A port nobody listens on right now (bind to port 0, read it, close).
int PickFreePort();

// QKV_BINARY_DIR "/client/qkv" and "/server/qkv-server".
std::string QkvBinary();
std::string ServerBinary();
// QKV_SOURCE_DIR "/models/bert-tiny-random".
std::string BundledModelDir();
bool FileExists(const std::string& path);

// Writes a test PKI into `dir` with openssl: ca.pem/ca.key, server.pem/server.key (SAN DNS:qkv.test) and
// client.pem/client.key, both signed by the CA. Internal error with openssl's stderr on failure.
absl::Status MakeTestCertificates(const std::string& dir);
std::string ReadFileOrDie(const std::string& path);

// A child qkv-server, sent SIGTERM (then SIGKILL) and reaped on destruction.
class ServerProcess {
 public:
  // Starts `binary` with `args` (which must make it listen on `port`) and waits until grpc.health.v1 reports
  // SERVING on 127.0.0.1:`port` (probing with `probe_tls`, plaintext by default), or the process exits, or
  // `startup_timeout` passes.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args, int port,
      absl::Duration startup_timeout = absl::Seconds(60), const TlsOptions& probe_tls = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  // Everything the server wrote to stderr/stdout so far (a log file in the test temp dir).
  std::string Log() const;
  // Sends SIGTERM and waits for the exit; returns the exit status.
  int Stop();
  // Sends SIGTERM and returns at once (the server drains; Stop or the destructor reaps it).
  void BeginStop() const;
  // Sends SIGKILL and reaps the process (for a test done with a server that is still draining).
  void Kill();

 private:
  ServerProcess(pid_t pid, int port, std::string log_path)
      : pid_(pid), port_(port), log_path_(std::move(log_path)) {}
  pid_t pid_;
  int port_;
  std::string log_path_;
};

}  // namespace testing_util
}  // namespace qkv

#endif  // QKV_TESTS_CLIENT_PROCESS_UTIL_H_
