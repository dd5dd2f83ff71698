// The real qkv-server binary, started by the test on a free port: SIGTERM with 50 requests in flight
// answers all 50 and exits 0; SIGTERM with an idle open EncodeStream ends the stream UNAVAILABLE and exits
// 0 in seconds, not after the grace period; bad flags, bad environment values, a missing model and a taken
// port are refused with a message naming the cause and a non-zero exit.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "qkv/v1/encoder.grpc.pb.h"
#include "server_test_util.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;
using namespace testing_util;  // NOLINT(build/namespaces): test helpers

constexpr char kBinary[] = QKV_BINARY_DIR "/server/qkv-server";

// A qkv-server child process with its stdout and stderr captured.
class ServerProcess {
 public:
  // Starts the binary with `args` and extra environment `env` ("NAME=value"). Without an --http_listen in
  // `args` the HTTP listener is off (its default port 8080 would clash between tests).
  ServerProcess(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    if (std::none_of(args.begin(), args.end(),
                     [](const std::string& a) { return a.rfind("--http_listen", 0) == 0; })) {
      args.push_back("--http_listen=");
    }
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) return;
    // Everything the child needs is built before fork: after it, only async-signal-safe calls.
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kBinary));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string(*e).rfind("QKV_", 0) != 0) envp.push_back(*e);  // only the test's own QKV_ settings
    }
    for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      close(out[0]);
      close(err[0]);
      execve(kBinary, argv.data(), envp.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~ServerProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
    if (err_ >= 0) close(err_);
  }

  // The first stdout line (the startup line), or "" if the process printed none within `timeout`.
  std::string ReadStartupLine(absl::Duration timeout) {
    std::string line;
    const absl::Time end = absl::Now() + timeout;
    while (absl::Now() < end) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char c;
      if (read(out_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line += c;
    }
    return "";
  }

  // Waits for exit; returns the exit code (or 128 + signal), and the stderr text.
  int Wait(absl::Duration timeout, std::string* stderr_text = nullptr, std::string* stdout_text = nullptr) {
    const absl::Time end = absl::Now() + timeout;
    int status = 0;
    std::string err;
    for (;;) {
      pollfd p{err_, POLLIN, 0};
      if (poll(&p, 1, 20) > 0) {
        char buf[4096];
        const ssize_t n = read(err_, buf, sizeof(buf));
        if (n > 0) err.append(buf, static_cast<size_t>(n));
      }
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (absl::Now() > end) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
    }
    exited_ = true;
    char buf[4096];
    fcntl(err_, F_SETFL, O_NONBLOCK);
    for (ssize_t n; (n = read(err_, buf, sizeof(buf))) > 0;) err.append(buf, static_cast<size_t>(n));
    if (stderr_text != nullptr) *stderr_text = err;
    if (stdout_text != nullptr) {
      // After the startup line: the rest of the log (the pipe holds it; the process has exited).
      fcntl(out_, F_SETFL, O_NONBLOCK);
      stdout_text->clear();
      for (ssize_t n; (n = read(out_, buf, sizeof(buf))) > 0;)
        stdout_text->append(buf, static_cast<size_t>(n));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  bool exited_ = false;
};

// "qkv-server listening on 127.0.0.1:40123 (plaintext); ..." -> "127.0.0.1:40123".
std::string AddressFrom(const std::string& startup_line) {
  const std::string marker = "listening on ";
  const size_t at = startup_line.find(marker);
  if (at == std::string::npos) return "";
  const size_t begin = at + marker.size();
  return startup_line.substr(begin, startup_line.find(' ', begin) - begin);
}

class BinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kBinary, X_OK) != 0) GTEST_SKIP() << kBinary << " is not built";
  }
};

TEST_F(BinaryTest, SigtermDrainsFiftyRequestsInFlightAndExitsZero) {
  ServerProcess server({"--listen=127.0.0.1:0", absl::StrCat("--model=", kModelDir), "--grace_period=60s",
                        "--max_queued_tokens=10000000", "--max_batch_tokens=4096"});
  const std::string line = server.ReadStartupLine(absl::Seconds(60));
  ASSERT_THAT(line, HasSubstr("listening on 127.0.0.1:"));
  EXPECT_THAT(line, HasSubstr("model bert-tiny-random"));
  const std::string address = AddressFrom(line);
  auto stub = v1::EncoderService::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));

  // Each request: 16 sequences of 256 tokens, so that 50 take a good while to compute.
  std::vector<std::vector<int32_t>> sequences(16, std::vector<int32_t>(256, 2000));
  const v1::EncodeRequest request = IdsRequest(sequences);
  constexpr int kCalls = 50;
  struct Call {
    grpc::ClientContext context;
    v1::EncodeResponse response;
    grpc::Status status;
  };
  std::vector<Call> calls(kCalls);
  absl::Mutex mu;
  int done = 0;
  absl::Notification first;
  for (Call& call : calls) {
    call.context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
    stub->async()->Encode(&call.context, &request, &call.response, [&, c = &call](grpc::Status s) {
      c->status = s;
      absl::MutexLock lock(&mu);
      ++done;
      if (!first.HasBeenNotified()) first.Notify();
    });
  }
  ASSERT_TRUE(first.WaitForNotificationWithTimeout(absl::Seconds(120)));
  {
    absl::MutexLock lock(&mu);
    EXPECT_LT(done, kCalls) << "too fast: the requests were no longer in flight at SIGTERM";
  }
  ASSERT_EQ(kill(server.pid(), SIGTERM), 0);
  std::string err, out;
  EXPECT_EQ(server.Wait(absl::Seconds(90), &err, &out), 0) << err;
  EXPECT_THAT(out, HasSubstr("drained"));
  {
    absl::MutexLock lock(&mu);
    auto all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return done == kCalls; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(30)));
  }
  int ok = 0;
  for (const Call& call : calls) {
    EXPECT_TRUE(call.status.ok()) << call.status.error_code() << " " << call.status.error_message();
    ok += call.status.ok() && call.response.outputs_size() == 16;
  }
  EXPECT_EQ(ok, kCalls);
}

TEST_F(BinaryTest, SigtermWithAnIdleStreamOpenExitsZeroWithoutWaitingForTheGracePeriod) {
  ServerProcess server({"--listen=127.0.0.1:0", absl::StrCat("--model=", kModelDir), "--grace_period=30s"});
  const std::string line = server.ReadStartupLine(absl::Seconds(60));
  ASSERT_THAT(line, HasSubstr("listening on 127.0.0.1:"));
  auto stub =
      v1::EncoderService::NewStub(grpc::CreateChannel(AddressFrom(line), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
  auto stream = stub->EncodeStream(&context);
  v1::EncodeStreamRequest request;
  request.set_request_id("first");
  *request.mutable_request() = IdsRequest({{101, 2000, 102}});
  ASSERT_TRUE(stream->Write(request));
  v1::EncodeStreamResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.code(), 0) << response.message();

  // The stream stays open and idle (no WritesDone).
  const absl::Time sigterm = absl::Now();
  ASSERT_EQ(kill(server.pid(), SIGTERM), 0);
  std::string err, out;
  EXPECT_EQ(server.Wait(absl::Seconds(60), &err, &out), 0) << err;
  // The stream ends at once; what remains is gRPC closing the connection, which waits for this client to
  // answer the server's GOAWAY ping: an idle C++ client does so from its backup poller, every 5 s.
  EXPECT_LT(absl::Now() - sigterm, absl::Seconds(10)) << "the drain waited for the grace period\n" << err;
  EXPECT_THAT(out, HasSubstr("drained"));
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("server is shutting down; reconnect to another replica"));
}

TEST_F(BinaryTest, BadFlagIsRefusedNamingIt) {
  ServerProcess server({"--workers=-3", absl::StrCat("--model=", kModelDir)});
  std::string err;
  EXPECT_EQ(server.Wait(absl::Seconds(30), &err), 2);
  EXPECT_THAT(err, HasSubstr("--workers must be >= 1 (got -3)"));

  ServerProcess delay({"--max_queue_delay=soon"});
  EXPECT_NE(delay.Wait(absl::Seconds(30), &err), 0);
  EXPECT_THAT(err, HasSubstr("max_queue_delay"));
}

TEST_F(BinaryTest, EnvironmentSetsDefaultsAndFlagsWin) {
  ServerProcess bad_env({}, {"QKV_MAX_BATCH_TOKENS=lots"});
  std::string err;
  EXPECT_EQ(bad_env.Wait(absl::Seconds(30), &err), 2);
  EXPECT_THAT(err, HasSubstr("QKV_MAX_BATCH_TOKENS=\"lots\" is not a valid value for --max_batch_tokens"));

  ServerProcess env_value({absl::StrCat("--model=", kModelDir)}, {"QKV_MAX_BATCH_SEQUENCES=0"});
  EXPECT_EQ(env_value.Wait(absl::Seconds(30), &err), 2);
  EXPECT_THAT(err, HasSubstr("--max_batch_sequences must be >= 1 (got 0)"));

  // The explicit flag overrides the environment.
  ServerProcess flag_wins(
      {"--listen=127.0.0.1:0", absl::StrCat("--model=", kModelDir), "--max_batch_sequences=7"},
      {"QKV_MAX_BATCH_SEQUENCES=0", "QKV_MAX_QUEUE_DELAY=5ms"});
  const std::string line = flag_wins.ReadStartupLine(absl::Seconds(60));
  EXPECT_THAT(line, HasSubstr("max_batch_sequences=7 "));
  EXPECT_THAT(line, HasSubstr("max_queue_delay=5ms "));
  kill(flag_wins.pid(), SIGTERM);
  EXPECT_EQ(flag_wins.Wait(absl::Seconds(30)), 0);
}

// The environment variable `name` of a running process, or "" when unset.
std::string ProcessEnv(pid_t pid, const std::string& name) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/environ"), std::ios::binary);
  std::string entry;
  while (std::getline(in, entry, '\0')) {
    if (entry.rfind(name + "=", 0) == 0) return entry.substr(name.size() + 1);
  }
  return "";
}

// The server runs with a short OpenMP spin (openmp_env.h) unless the user chose a wait policy.
TEST_F(BinaryTest, RunsWithShortOpenMpSpinUnlessTheUserSetOne) {
  if (std::getenv("GOMP_SPINCOUNT") == nullptr && std::getenv("OMP_WAIT_POLICY") == nullptr) {
    ServerProcess server({"--listen=127.0.0.1:0", absl::StrCat("--model=", kModelDir)});
    ASSERT_THAT(server.ReadStartupLine(absl::Seconds(60)), HasSubstr("listening on"));
    EXPECT_EQ(ProcessEnv(server.pid(), "GOMP_SPINCOUNT"), "1000");
    kill(server.pid(), SIGTERM);
    EXPECT_EQ(server.Wait(absl::Seconds(30)), 0);
  }
  ServerProcess passive({"--listen=127.0.0.1:0", absl::StrCat("--model=", kModelDir)},
                        {"OMP_WAIT_POLICY=passive"});
  ASSERT_THAT(passive.ReadStartupLine(absl::Seconds(60)), HasSubstr("listening on"));
  EXPECT_EQ(ProcessEnv(passive.pid(), "OMP_WAIT_POLICY"), "passive");
  if (std::getenv("GOMP_SPINCOUNT") == nullptr) {
    EXPECT_EQ(ProcessEnv(passive.pid(), "GOMP_SPINCOUNT"), "");
  }
  kill(passive.pid(), SIGTERM);
  EXPECT_EQ(passive.Wait(absl::Seconds(30)), 0);
}

TEST_F(BinaryTest, MissingModelAndTakenPortExitNonZeroWithAMessage) {
  ServerProcess missing({"--listen=127.0.0.1:0", "--model=/nonexistent/model-dir"});
  std::string err;
  EXPECT_EQ(missing.Wait(absl::Seconds(30), &err), 1);
  EXPECT_THAT(err, HasSubstr("cannot serve model /nonexistent/model-dir"));

  ServerProcess first({"--listen=127.0.0.1:0", absl::StrCat("--model=", kModelDir)});
  const std::string address = AddressFrom(first.ReadStartupLine(absl::Seconds(60)));
  ASSERT_FALSE(address.empty());
  ServerProcess second({absl::StrCat("--listen=", address), absl::StrCat("--model=", kModelDir)});
  EXPECT_EQ(second.Wait(absl::Seconds(30), &err), 1);
  EXPECT_THAT(err, HasSubstr("cannot listen on " + address));
  kill(first.pid(), SIGINT);
  EXPECT_EQ(first.Wait(absl::Seconds(30)), 0);
}

}  // namespace
}  // namespace qkv
