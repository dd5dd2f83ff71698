// Access control and certificate rotation against the real qkv-server binary (and the real qkv CLI):
//   - every RPC (Encode, EncodeStream, Tokenize, GetModelInfo, server reflection) answers UNAUTHENTICATED
//     with no token, a wrong token or a malformed authorization value, and OK with a right one;
//   - grpc.health.v1 answers without a token;
//   - a changed token file takes effect without a restart, a broken one keeps the previous tokens;
//   - no token ever appears in the server's output;
//   - the qkv CLI sends the token from --auth-token-file or QKV_AUTH_TOKEN, and exits 5 without one;
//   - certificate and key replaced on disk: new TLS connections are served the new certificate.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "qkv/v1/encoder.grpc.pb.h"
#include "tests/client/process_util.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing_util::ProcessResult;
using testing_util::ServerProcess;

constexpr char kAliceToken[] = "alice-0f3c9b1d7e2a4c6b8d0e1f2a3b4c5d6e";
constexpr char kBobToken[] = "bob-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d";
constexpr char kWrongToken[] = "alice-0f3c9b1d7e2a4c6b8d0e1f2a3b4c5d6f";  // one character off
constexpr char kReflectionMethod[] = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
constexpr absl::Duration kReloadWait = absl::Seconds(30);  // bound for a token/cert change to show

std::string TempPath(const std::string& name) {
  return absl::StrCat(::testing::TempDir(), "/qkv_auth_", getpid(), "_", name);
}

// Replaces `path` atomically (write aside, rename), as a Secret volume update does.
void WriteFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::binary) << text;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& authorization) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  if (!authorization.empty()) context->AddMetadata("authorization", authorization);
  return context;
}

// The outcome of one call of each RPC, as the code name ("OK", "UNAUTHENTICATED", ...).
class Caller {
 public:
  explicit Caller(const std::string& target)
      : channel_(grpc::CreateChannel(target, grpc::InsecureChannelCredentials())),
        stub_(v1::EncoderService::NewStub(channel_)) {}

  std::string Encode(const std::string& auth) {
    v1::EncodeRequest request;
    request.add_inputs()->mutable_text()->set_text("hello world");
    v1::EncodeResponse response;
    grpc::Status s = stub_->Encode(Context(auth).get(), request, &response);
    if (s.ok() && response.outputs_size() != 1) return "OK but no output";
    return Name(s);
  }
  std::string Tokenize(const std::string& auth) {
    v1::TokenizeRequest request;
    request.set_text("hello world");
    v1::TokenizeResponse response;
    return Name(stub_->Tokenize(Context(auth).get(), request, &response));
  }
  std::string GetModelInfo(const std::string& auth) {
    v1::GetModelInfoResponse response;
    grpc::Status s = stub_->GetModelInfo(Context(auth).get(), v1::GetModelInfoRequest(), &response);
    if (s.ok() && response.model().empty()) return "OK but no model name";
    return Name(s);
  }
  // One request on a stream; OK needs its answer too.
  std::string EncodeStream(const std::string& auth) {
    auto context = Context(auth);
    auto stream = stub_->EncodeStream(context.get());
    v1::EncodeStreamRequest request;
    request.set_request_id("r1");
    request.mutable_request()->add_inputs()->mutable_text()->set_text("hello");
    stream->Write(request);
    stream->WritesDone();
    v1::EncodeStreamResponse response;
    const bool answered = stream->Read(&response);
    while (stream->Read(&response)) {
    }
    grpc::Status s = stream->Finish();
    if (s.ok() && !answered) return "OK but no answer";
    if (!s.ok() && answered) return Name(s) + " after an answer";
    return Name(s);
  }
  // ServerReflectionInfo with list_services; OK needs the answer to name qkv.v1.EncoderService.
  std::string Reflection(const std::string& auth) {
    grpc::CompletionQueue cq;
    grpc::GenericStub stub(channel_);
    auto context = Context(auth);
    auto call = stub.PrepareCall(context.get(), kReflectionMethod, &cq);
    auto step = [&cq](int tag) {
      void* got = nullptr;
      bool ok = false;
      EXPECT_TRUE(cq.Next(&got, &ok));
      EXPECT_EQ(got, reinterpret_cast<void*>(static_cast<intptr_t>(tag)));
      return ok;
    };
    auto tag = [](int t) { return reinterpret_cast<void*>(static_cast<intptr_t>(t)); };
    call->StartCall(tag(1));
    step(1);
    // ServerReflectionRequest{list_services: ""}: field 7, length-delimited, empty.
    const std::string wire("\x3a\x00", 2);
    grpc::Slice slice(wire);
    grpc::ByteBuffer request(&slice, 1);
    call->Write(request, tag(2));
    step(2);
    call->WritesDone(tag(3));
    step(3);
    grpc::ByteBuffer response;
    call->Read(&response, tag(4));
    const bool answered = step(4);
    grpc::Status status;
    call->Finish(&status, tag(5));
    step(5);
    cq.Shutdown();
    void* ignored;
    bool ignored_ok;
    while (cq.Next(&ignored, &ignored_ok)) {
    }
    if (status.ok()) {
      std::vector<grpc::Slice> slices;
      std::string bytes;
      if (answered && response.Dump(&slices).ok()) {
        for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      if (bytes.find("qkv.v1.EncoderService") == std::string::npos) return "OK but no service list";
    }
    return Name(status);
  }
  std::string Health() {
    auto stub = grpc::health::v1::Health::NewStub(channel_);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status s = stub->Check(Context("").get(), grpc::health::v1::HealthCheckRequest(), &response);
    if (s.ok() && response.status() != grpc::health::v1::HealthCheckResponse::SERVING) return "NOT SERVING";
    return Name(s);
  }

  // Every RPC but health with `auth`, as "Encode=CODE ..." (one line to compare).
  std::string All(const std::string& auth) {
    return absl::StrCat("Encode=", Encode(auth), " EncodeStream=", EncodeStream(auth),
                        " Tokenize=", Tokenize(auth), " GetModelInfo=", GetModelInfo(auth),
                        " Reflection=", Reflection(auth));
  }
  static std::string Expect(const std::string& code) {
    return absl::StrCat("Encode=", code, " EncodeStream=", code, " Tokenize=", code, " GetModelInfo=", code,
                        " Reflection=", code);
  }

 private:
  static std::string Name(const grpc::Status& s) {
    static const char* const kNames[] = {
        "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
        "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
        "DATA_LOSS", "UNAUTHENTICATED"};
    const int code = static_cast<int>(s.error_code());
    return code >= 0 && code <= 16 ? kNames[code] : absl::StrCat(code);
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EncoderService::Stub> stub_;
};

class AuthBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const std::string& bin : {testing_util::QkvBinary(), testing_util::ServerBinary()}) {
      if (!testing_util::FileExists(bin)) GTEST_SKIP() << bin << " is not built";
    }
    tokens_ = TempPath(::testing::UnitTest::GetInstance()->current_test_info()->name());
    WriteFile(tokens_, absl::StrCat("# test tokens\nalice:", kAliceToken, "\n"));
  }
  void TearDown() override { std::remove(tokens_.c_str()); }

  // Starts qkv-server with --auth_token_file (through the flag or its environment twin).
  std::unique_ptr<ServerProcess> StartServer(std::vector<std::string> extra = {}) {
    const int port = testing_util::PickFreePort();
    std::vector<std::string> args = {"--model",           testing_util::BundledModelDir(),
                                     "--listen",          absl::StrCat("127.0.0.1:", port),
                                     "--auth_token_file", tokens_};
    args.insert(args.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(testing_util::ServerBinary(), args, port);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  std::string tokens_;
};

TEST_F(AuthBinaryTest, EveryRpcNeedsAValidBearerTokenButHealth) {
  std::unique_ptr<ServerProcess> server = StartServer();
  ASSERT_NE(server, nullptr);
  Caller caller(server->target());
  EXPECT_EQ(caller.Health(), "OK");
  EXPECT_EQ(caller.All(""), Caller::Expect("UNAUTHENTICATED"));
  EXPECT_EQ(caller.All(absl::StrCat("Bearer ", kWrongToken)), Caller::Expect("UNAUTHENTICATED"));
  EXPECT_EQ(caller.All(absl::StrCat("Basic ", kAliceToken)), Caller::Expect("UNAUTHENTICATED"));
  EXPECT_EQ(caller.All(kAliceToken), Caller::Expect("UNAUTHENTICATED"));  // no scheme
  EXPECT_EQ(caller.All("Bearer "), Caller::Expect("UNAUTHENTICATED"));
  EXPECT_EQ(caller.All(absl::StrCat("Bearer ", kAliceToken)), Caller::Expect("OK"));
  EXPECT_EQ(caller.All(absl::StrCat("bearer ", kAliceToken)), Caller::Expect("OK"));

  // The message says what is wrong.
  auto stub =
      v1::EncoderService::NewStub(grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials()));
  v1::GetModelInfoResponse info;
  grpc::Status s = stub->GetModelInfo(Context("").get(), v1::GetModelInfoRequest(), &info);
  EXPECT_THAT(s.error_message(), HasSubstr("authorization: Bearer <token>"));
  s = stub->GetModelInfo(Context(absl::StrCat("Bearer ", kWrongToken)).get(), v1::GetModelInfoRequest(),
                         &info);
  EXPECT_THAT(s.error_message(), HasSubstr("not valid"));
  EXPECT_THAT(s.error_message(), Not(HasSubstr(kWrongToken)));

  const std::string log = server->Log();
  EXPECT_THAT(log, HasSubstr("bearer tokens: 1"));
  for (const char* secret : {kAliceToken, kWrongToken, "0f3c9b1d7e2a"})
    EXPECT_THAT(log, Not(HasSubstr(secret)));
}

TEST_F(AuthBinaryTest, AChangedTokenFileTakesEffectWithoutARestart) {
  std::unique_ptr<ServerProcess> server = StartServer();
  ASSERT_NE(server, nullptr);
  Caller caller(server->target());
  const std::string alice = absl::StrCat("Bearer ", kAliceToken);
  const std::string bob = absl::StrCat("Bearer ", kBobToken);
  ASSERT_EQ(caller.GetModelInfo(alice), "OK");
  ASSERT_EQ(caller.GetModelInfo(bob), "UNAUTHENTICATED");

  // Bob replaces Alice.
  WriteFile(tokens_, absl::StrCat("bob:", kBobToken, "\n"));
  const absl::Time deadline = absl::Now() + kReloadWait;
  while (caller.GetModelInfo(bob) != "OK" && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(caller.All(bob), Caller::Expect("OK")) << "not reloaded within " << kReloadWait;
  EXPECT_EQ(caller.GetModelInfo(alice), "UNAUTHENTICATED");

  // A broken file is logged and ignored: Bob's token keeps working.
  WriteFile(tokens_, "bob:too-short\n");
  const absl::Time log_deadline = absl::Now() + kReloadWait;
  while (server->Log().find("still using the previous 1 token") == std::string::npos &&
         absl::Now() < log_deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(server->Log(), HasSubstr("line 1: a token must have 16 to 4096 characters"));
  EXPECT_EQ(caller.GetModelInfo(bob), "OK");
  EXPECT_EQ(caller.Health(), "OK");

  const std::string log = server->Log();
  EXPECT_THAT(log, HasSubstr("reloaded"));
  for (const char* secret : {kAliceToken, kBobToken, "too-short"}) EXPECT_THAT(log, Not(HasSubstr(secret)));
}

TEST_F(AuthBinaryTest, TheTokenFileMayComeFromTheEnvironmentAndABadOneStopsTheStart) {
  // A token file that does not parse: exit 1, the message names the flag and the line, not the token.
  WriteFile(tokens_, "alice:short-secret\n");
  ProcessResult bad = testing_util::RunProcess(
      {testing_util::ServerBinary(), "--model", testing_util::BundledModelDir(), "--listen", "127.0.0.1:0"},
      "", {"QKV_AUTH_TOKEN_FILE=" + tokens_}, absl::Seconds(60));
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("--auth_token_file: " + tokens_ + ": line 1:"));
  EXPECT_THAT(bad.err, Not(HasSubstr("short-secret")));
}

TEST_F(AuthBinaryTest, TheCliSendsTheTokenFromItsFileOrTheEnvironment) {
  std::unique_ptr<ServerProcess> server = StartServer();
  ASSERT_NE(server, nullptr);
  const std::string token_file = tokens_ + ".cli";
  WriteFile(token_file, absl::StrCat(kAliceToken, "\n"));
  const std::vector<std::string> base = {testing_util::QkvBinary(), "info", "--target", server->target()};

  std::vector<std::string> with_file = base;
  with_file.insert(with_file.end(), {"--auth-token-file", token_file});
  ProcessResult r = testing_util::RunProcess(with_file);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("bert-tiny-random"));

  r = testing_util::RunProcess(
      {testing_util::QkvBinary(), "tokenize", "hello world", "--target", server->target()}, "",
      {absl::StrCat("QKV_AUTH_TOKEN=", kAliceToken)});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  r = testing_util::RunProcess(base);
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_THAT(r.err, HasSubstr("UNAUTHENTICATED"));
  EXPECT_THAT(r.err, HasSubstr("--auth-token-file"));

  r = testing_util::RunProcess(base, "", {absl::StrCat("QKV_AUTH_TOKEN=", kWrongToken)});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr(kWrongToken)));

  // The health probe needs no token.
  r = testing_util::RunProcess({testing_util::QkvBinary(), "health", "--target", server->target()});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  // A token file that cannot be read, or holds two lines: a local error (3), nothing sent.
  std::vector<std::string> missing = base;
  missing.insert(missing.end(), {"--auth-token-file", token_file + ".missing"});
  r = testing_util::RunProcess(missing);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--auth-token-file"));
  WriteFile(token_file, absl::StrCat(kAliceToken, "\n", kBobToken, "\n"));
  r = testing_util::RunProcess(with_file);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr(kBobToken)));
  std::remove(token_file.c_str());
}

// SHA-256 fingerprint of the certificate a fresh TLS connection to `port` is served, or "" on failure.
std::string ServedFingerprint(int port) {
  ProcessResult r = testing_util::RunProcess(
      {"/bin/sh", "-c",
       absl::StrCat(
           "openssl s_client -connect 127.0.0.1:", port,
           " -servername qkv.test </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256")},
      "", {}, absl::Seconds(30));
  return std::string(absl::StripAsciiWhitespace(r.out));
}

std::string FileFingerprint(const std::string& pem) {
  ProcessResult r = testing_util::RunProcess(
      {"/bin/sh", "-c", "openssl x509 -noout -fingerprint -sha256 -in \"$1\"", "sh", pem});
  return std::string(absl::StripAsciiWhitespace(r.out));
}

TEST_F(AuthBinaryTest, ARotatedCertificateIsServedToNewConnections) {
  const std::string dir = TempPath("pki");
  const std::string next = TempPath("pki_next");
  ASSERT_TRUE(testing_util::MakeTestCertificates(dir).ok()) << "openssl is needed";
  ASSERT_TRUE(testing_util::MakeTestCertificates(next).ok());
  const std::string cert = dir + "/served.pem", key = dir + "/served.key";
  WriteFile(cert, testing_util::ReadFileOrDie(dir + "/server.pem"));
  WriteFile(key, testing_util::ReadFileOrDie(dir + "/server.key"));

  const int port = testing_util::PickFreePort();
  TlsOptions probe;
  probe.enabled = true;
  probe.ca_file = dir + "/ca.pem";
  probe.server_name = "qkv.test";
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      testing_util::ServerBinary(),
      {"--model", testing_util::BundledModelDir(), "--listen", absl::StrCat("127.0.0.1:", port), "--tls_cert",
       cert, "--tls_key", key, "--auth_token_file", tokens_},
      port, absl::Seconds(60), probe);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string old_fingerprint = FileFingerprint(dir + "/server.pem");
  const std::string new_fingerprint = FileFingerprint(next + "/server.pem");
  ASSERT_THAT(old_fingerprint, HasSubstr("Fingerprint="));
  ASSERT_NE(old_fingerprint, new_fingerprint);
  EXPECT_EQ(ServedFingerprint(port), old_fingerprint);

  // Key first, then certificate (the order a careless rotation uses); each an atomic rename.
  WriteFile(key, testing_util::ReadFileOrDie(next + "/server.key"));
  WriteFile(cert, testing_util::ReadFileOrDie(next + "/server.pem"));
  const absl::Time deadline = absl::Now() + kReloadWait;
  std::string served = ServedFingerprint(port);
  while (served != new_fingerprint && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    served = ServedFingerprint(port);
  }
  EXPECT_EQ(served, new_fingerprint) << "the new certificate was not served within " << kReloadWait;

  // A gRPC client trusting only the new CA gets through (with the token).
  ProcessResult r =
      testing_util::RunProcess({testing_util::QkvBinary(), "info", "--target", (*server)->target(),
                                "--tls-ca", next + "/ca.pem", "--tls-server-name", "qkv.test"},
                               "", {absl::StrCat("QKV_AUTH_TOKEN=", kAliceToken)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  testing_util::RunProcess({"/bin/rm", "-rf", dir, next});
}

}  // namespace
}  // namespace qkv
