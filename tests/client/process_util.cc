#include "tests/client/process_util.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "client/encoder_client.h"
#include "gtest/gtest.h"

namespace qkv {
namespace testing_util {
namespace {

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

[[noreturn]] void ExecChild(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  for (const std::string& e : env) putenv(strdup(e.c_str()));
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

// Waits for `pid` until `deadline`; kills it (SIGKILL) after that. Returns the exit code.
int WaitWithDeadline(pid_t pid, absl::Time deadline) {
  int status = 0;
  while (true) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return ExitCodeOf(status);
    if (r < 0) return -1;
    if (absl::Now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return ExitCodeOf(status);
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& input,
                         const std::vector<std::string>& env, absl::Duration timeout) {
  ProcessResult result;
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0 || pipe(err_pipe) != 0) {
    result.err = "pipe failed";
    return result;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    ExecChild(argv, env);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  const absl::Time deadline = absl::Now() + timeout;
  int in_fd = in_pipe[1];
  fcntl(in_fd, F_SETFL, O_NONBLOCK);
  size_t written = 0;
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  char buf[65536];
  while (out_fd >= 0 || err_fd >= 0) {
    pollfd fds[3];
    int n = 0;
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    const int ms = static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now())));
    if (ms == 0) break;
    if (poll(fds, n, ms) < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_fd) {
        const ssize_t w = write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) written = input.size();
        if (written == input.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      const ssize_t r = read(fds[i].fd, buf, sizeof(buf));
      if (r > 0) {
        (fds[i].fd == out_fd ? result.out : result.err).append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        close(fds[i].fd);
        (fds[i].fd == out_fd ? out_fd : err_fd) = -1;
      }
    }
  }
  for (int fd : {in_fd, out_fd, err_fd}) {
    if (fd >= 0) close(fd);
  }
  result.exit_code = WaitWithDeadline(pid, deadline);
  return result;
}

// True when something accepts TCP connections on 127.0.0.1:`port`.
bool PortAccepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

int PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string QkvBinary() { return std::string(QKV_BINARY_DIR) + "/client/qkv"; }
std::string ServerBinary() { return std::string(QKV_BINARY_DIR) + "/server/qkv-server"; }
std::string BundledModelDir() { return std::string(QKV_SOURCE_DIR) + "/models/bert-tiny-random"; }

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(const std::string& binary,
                                                                    const std::vector<std::string>& args,
                                                                    int port, absl::Duration startup_timeout,
                                                                    const TlsOptions& probe_tls) {
  static std::atomic<int> counter{0};
  const std::string log_path =
      absl::StrCat(::testing::TempDir(), "/qkv-server-", getpid(), "-", counter.fetch_add(1), ".log");
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  // The HTTP listener's default port (8080) would clash between servers; off unless a test asks for it.
  if (std::none_of(args.begin(), args.end(),
                   [](const std::string& a) { return a.rfind("--http_listen", 0) == 0; }))
    argv.push_back("--http_listen=");
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // no orphaned server when the test binary dies
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null_in = open("/dev/null", O_RDONLY);
    dup2(null_in, STDIN_FILENO);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    ExecChild(argv, {});
  }
  std::unique_ptr<ServerProcess> server(new ServerProcess(pid, port, log_path));

  const absl::Time deadline = absl::Now() + startup_timeout;
  auto exited = [&]() -> absl::Status {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) != pid) return absl::OkStatus();
    server->pid_ = -1;
    return absl::FailedPreconditionError(absl::StrCat("qkv-server exited with ", ExitCodeOf(status),
                                                      " during startup; log:\n", server->Log()));
  };
  // Wait for the port to accept before the first gRPC attempt: a channel whose first attempt was refused
  // took ~5 s to recover in gRPC 1.51 even with a short reconnect backoff.
  while (!PortAccepts(port) && absl::Now() < deadline) {
    if (absl::Status s = exited(); !s.ok()) return s;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ClientOptions options;
  options.target = server->target();
  options.timeout = absl::Milliseconds(500);
  options.max_attempts = 1;
  options.tls = probe_tls;
  options.max_reconnect_backoff = absl::Milliseconds(100);
  options.lb_policy = "pick_first";  // one address
  absl::StatusOr<std::unique_ptr<EncoderClient>> client = EncoderClient::Create(options);
  if (!client.ok()) return client.status();
  while (absl::Now() < deadline) {
    if (absl::Status s = exited(); !s.ok()) return s;
    grpc::health::v1::HealthCheckResponse response;
    if ((*client)->CheckHealth("", &response).ok() &&
        response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return server;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat("qkv-server not SERVING on port ", port, " after ",
                                                  absl::FormatDuration(startup_timeout), "; log:\n",
                                                  server->Log()));
}

absl::Status MakeTestCertificates(const std::string& dir) {
  const std::string script = R"SH(
set -e
mkdir -p "$1" && cd "$1"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key; key server.key; key client.key
openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=qkv-test-ca
openssl req -new -key server.key -out server.csr -subj /CN=qkv.test
printf 'subjectAltName=DNS:qkv.test\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
  -extfile server.ext 2>/dev/null
openssl req -new -key client.key -out client.csr -subj /CN=qkv-client
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 2>/dev/null
)SH";
  ProcessResult r = RunProcess({"/bin/sh", "-c", script, "sh", dir});
  if (r.exit_code != 0)
    return absl::InternalError(absl::StrCat("openssl failed (", r.exit_code, "): ", r.err));
  return absl::OkStatus();
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string ServerProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const int code = WaitWithDeadline(pid_, absl::Now() + absl::Seconds(20));
  pid_ = -1;
  return code;
}

void ServerProcess::BeginStop() const {
  if (pid_ > 0) kill(pid_, SIGTERM);
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  WaitWithDeadline(pid_, absl::Now() + absl::Seconds(20));
  pid_ = -1;
}

ServerProcess::~ServerProcess() { Stop(); }

}  // namespace testing_util
}  // namespace qkv
