// EncoderClient against in-process fake servers: the service config (round_robin, retryPolicy), retries of
// UNAVAILABLE only, deadlines, round_robin over an ipv4: list, EncodeStream windowing / order / stall
// detection, and TLS + mTLS with certificates made by openssl in the test.
#include "client/encoder_client.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/client/process_util.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;

class FakeEncoderService final : public v1::EncoderService::Service {
 public:
  std::atomic<int> encode_calls{0};
  std::atomic<int> unavailable_left{0};  // the next N Encode calls fail with UNAVAILABLE
  std::atomic<int> fail_code{0};         // when non-zero, every Encode fails with this code
  std::atomic<int64_t> delay_ms{0};      // Encode sleeps this long (checking cancellation)
  std::string name = "fake";

  grpc::Status Encode(grpc::ServerContext* context, const v1::EncodeRequest* request,
                      v1::EncodeResponse* response) override {
    ++encode_calls;
    if (unavailable_left.fetch_sub(1) > 0) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "warming up");
    if (fail_code != 0) return grpc::Status(static_cast<grpc::StatusCode>(fail_code.load()), "told to fail");
    const absl::Time until = absl::Now() + absl::Milliseconds(delay_ms.load());
    while (absl::Now() < until) {
      if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      absl::SleepFor(absl::Milliseconds(5));
    }
    Fill(*request, response);
    return grpc::Status::OK;
  }

  grpc::Status EncodeStream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::EncodeStreamResponse, v1::EncodeStreamRequest>* stream) override {
    v1::EncodeStreamRequest request;
    while (stream->Read(&request)) {
      if (request.request_id() == "end") return grpc::Status::OK;  // ends without answering
      if (request.request_id() == "stall") {
        while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
        return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      }
      v1::EncodeStreamResponse response;
      response.set_request_id(request.request_id());
      if (request.request().inputs_size() == 0) {
        response.set_code(static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
        response.set_message("no inputs");
      } else {
        Fill(request.request(), response.mutable_response());
      }
      if (!stream->Write(response)) break;
    }
    return grpc::Status::OK;
  }

 private:
  void Fill(const v1::EncodeRequest& request, v1::EncodeResponse* response) const {
    response->set_model(name);
    for (const v1::Input& input : request.inputs()) {
      v1::Output* out = response->add_outputs();
      out->set_id(input.id());
      if (input.has_ids()) *out->mutable_ids() = input.ids().ids();
    }
  }
};

// A fake server on 127.0.0.1:<free port>, optionally with TLS.
struct FakeServer {
  FakeEncoderService service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;

  explicit FakeServer(
      std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials()) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials, &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
    SetServing(true);
  }
  // What health reports for qkv.v1.EncoderService (round_robin clients watch it).
  void SetServing(bool serving) {
    server->GetHealthCheckService()->SetServingStatus("qkv.v1.EncoderService", serving);
  }
  ~FakeServer() { server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1))); }
  std::string target() const { return absl::StrCat("127.0.0.1:", port); }
};

std::unique_ptr<EncoderClient> MakeClient(ClientOptions options) {
  absl::StatusOr<std::unique_ptr<EncoderClient>> client = EncoderClient::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

v1::EncodeRequest IdsRequest(std::vector<int32_t> ids) {
  v1::EncodeRequest request;
  v1::Input* input = request.add_inputs();
  input->set_id("0");
  for (int32_t id : ids) input->mutable_ids()->add_ids(id);
  return request;
}

TEST(ClientOptionsTest, ValidateRejectsBadValues) {
  ClientOptions o;
  EXPECT_TRUE(o.Validate().ok());
  o.target = "";
  EXPECT_FALSE(o.Validate().ok());
  o = ClientOptions();
  o.timeout = absl::ZeroDuration();
  EXPECT_FALSE(o.Validate().ok());
  o = ClientOptions();
  o.max_attempts = 6;
  EXPECT_FALSE(o.Validate().ok());
  o = ClientOptions();
  o.lb_policy = "random";
  EXPECT_FALSE(o.Validate().ok());
  o = ClientOptions();
  o.tls.cert_file = "client.pem";
  EXPECT_THAT(std::string(o.Validate().message()), HasSubstr("needs its key"));
}

TEST(ClientOptionsTest, ServiceConfigHasRoundRobinAndRetryPolicy) {
  ClientOptions o;
  o.max_attempts = 3;
  o.initial_backoff = absl::Milliseconds(50);
  const nlohmann::json j = nlohmann::json::parse(DefaultServiceConfigJson(o));
  EXPECT_TRUE(j["loadBalancingConfig"][0].contains("round_robin"));
  EXPECT_EQ(j["healthCheckConfig"]["serviceName"], "qkv.v1.EncoderService");
  const nlohmann::json& method = j["methodConfig"][0];
  EXPECT_EQ(method["name"][0]["service"], "qkv.v1.EncoderService");
  EXPECT_EQ(method["name"][1]["service"], "grpc.health.v1.Health");
  EXPECT_EQ(method["retryPolicy"]["maxAttempts"], 3);
  EXPECT_EQ(method["retryPolicy"]["initialBackoff"], "0.050000000s");
  EXPECT_EQ(method["retryPolicy"]["retryableStatusCodes"], nlohmann::json({"UNAVAILABLE"}));
  o.max_attempts = 1;
  o.lb_policy = "pick_first";
  const nlohmann::json single = nlohmann::json::parse(DefaultServiceConfigJson(o));
  EXPECT_FALSE(single["methodConfig"][0].contains("retryPolicy"));
  EXPECT_TRUE(single["loadBalancingConfig"][0].contains("pick_first"));
  EXPECT_FALSE(single.contains("healthCheckConfig"));  // pick_first ignores health
  o.lb_policy = "round_robin";
  o.health_check = false;
  EXPECT_FALSE(nlohmann::json::parse(DefaultServiceConfigJson(o)).contains("healthCheckConfig"));
}

TEST(ClientOptionsTest, MissingTlsFileIsNotFound) {
  ClientOptions o;
  o.tls.ca_file = "/nonexistent/ca.pem";
  absl::StatusOr<std::unique_ptr<EncoderClient>> client = EncoderClient::Create(o);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("/nonexistent/ca.pem"));
}

TEST(EncoderClientTest, RetriesUnavailableThenSucceeds) {
  FakeServer server;
  server.service.unavailable_left = 2;
  ClientOptions o;
  o.target = server.target();
  o.max_attempts = 4;
  o.initial_backoff = absl::Milliseconds(10);
  std::unique_ptr<EncoderClient> client = MakeClient(o);
  v1::EncodeResponse response;
  absl::Status s = client->Encode(IdsRequest({1, 2, 3}), &response);
  ASSERT_TRUE(s.ok()) << FormatStatus(s);
  EXPECT_EQ(server.service.encode_calls, 3);
  EXPECT_EQ(response.outputs(0).ids_size(), 3);
}

TEST(EncoderClientTest, NoRetryWhenDisabledOrNotUnavailable) {
  FakeServer server;
  ClientOptions o;
  o.target = server.target();
  o.max_attempts = 1;
  server.service.unavailable_left = 1;
  std::unique_ptr<EncoderClient> client = MakeClient(o);
  v1::EncodeResponse response;
  absl::Status s = client->Encode(IdsRequest({1}), &response);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(FormatStatus(s), "UNAVAILABLE: warming up");
  EXPECT_EQ(server.service.encode_calls, 1);

  // INVALID_ARGUMENT is final even with retries on.
  server.service.encode_calls = 0;
  server.service.fail_code = static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT);
  o.max_attempts = 5;
  client = MakeClient(o);
  s = client->Encode(IdsRequest({1}), &response);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.service.encode_calls, 1);
}

TEST(EncoderClientTest, EveryCallHasADeadline) {
  FakeServer server;
  server.service.delay_ms = 2000;
  ClientOptions o;
  o.target = server.target();
  o.timeout = absl::Milliseconds(150);
  std::unique_ptr<EncoderClient> client = MakeClient(o);
  v1::EncodeResponse response;
  const absl::Time start = absl::Now();
  absl::Status s = client->Encode(IdsRequest({1}), &response);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1.5));
}

TEST(EncoderClientTest, UnreachableTargetIsUnavailable) {
  ClientOptions o;
  o.target = absl::StrCat("127.0.0.1:", testing_util::PickFreePort());
  o.initial_backoff = absl::Milliseconds(10);
  std::unique_ptr<EncoderClient> client = MakeClient(o);
  grpc::health::v1::HealthCheckResponse response;
  absl::Status s = client->CheckHealth("", &response);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
}

TEST(EncoderClientTest, RoundRobinSpreadsCallsOverReplicas) {
  FakeServer a, b;
  ClientOptions o;
  o.target = absl::StrCat("ipv4:127.0.0.1:", a.port, ",127.0.0.1:", b.port);
  o.wait_for_ready = true;
  std::unique_ptr<EncoderClient> client = MakeClient(o);
  // Connect both subchannels first: round_robin starts picking as soon as one is READY.
  ASSERT_TRUE(client->channel()->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(5))));
  absl::SleepFor(absl::Milliseconds(200));
  for (int i = 0; i < 40; ++i) {
    v1::EncodeResponse response;
    ASSERT_TRUE(client->Encode(IdsRequest({1}), &response).ok());
  }
  EXPECT_EQ(a.service.encode_calls + b.service.encode_calls, 40);
  EXPECT_GE(a.service.encode_calls, 10);
  EXPECT_GE(b.service.encode_calls, 10);
}

// A draining replica says NOT_SERVING before its GOAWAY (--drain_notice): round_robin stops picking it.
TEST(EncoderClientTest, RoundRobinSkipsAReplicaWhoseHealthIsNotServing) {
  FakeServer a, b;
  ClientOptions o;
  o.target = absl::StrCat("ipv4:127.0.0.1:", a.port, ",127.0.0.1:", b.port);
  o.wait_for_ready = true;
  std::unique_ptr<EncoderClient> client = MakeClient(o);
  v1::EncodeResponse response;
  // Both replicas take calls first.
  const absl::Time limit = absl::Now() + absl::Seconds(30);
  while ((a.service.encode_calls == 0 || b.service.encode_calls == 0) && absl::Now() < limit) {
    ASSERT_TRUE(client->Encode(IdsRequest({1}), &response).ok());
  }
  ASSERT_GT(a.service.encode_calls, 0) << "replica a never got a call";
  ASSERT_GT(b.service.encode_calls, 0) << "replica b never got a call";
  a.SetServing(false);
  // The health watch reaches the client asynchronously: once a's count stops moving for 20 calls in a
  // row, every later call must go to b.
  int quiet = 0;
  while (quiet < 20 && absl::Now() < limit) {
    const int before = a.service.encode_calls;
    ASSERT_TRUE(client->Encode(IdsRequest({1}), &response).ok());
    quiet = a.service.encode_calls == before ? quiet + 1 : 0;
  }
  ASSERT_EQ(quiet, 20) << "round_robin kept picking the NOT_SERVING replica";
  const int a_calls = a.service.encode_calls;
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(client->Encode(IdsRequest({1}), &response).ok());
  EXPECT_EQ(a.service.encode_calls, a_calls) << "a NOT_SERVING replica got calls";
}

TEST(EncoderClientTest, RoundRobinSurvivesAReplicaGoingAway) {
  auto a = std::make_unique<FakeServer>();
  FakeServer b;
  ClientOptions o;
  o.target = absl::StrCat("ipv4:127.0.0.1:", a->port, ",127.0.0.1:", b.port);
  o.initial_backoff = absl::Milliseconds(10);
  std::unique_ptr<EncoderClient> client = MakeClient(o);
  v1::EncodeResponse response;
  ASSERT_TRUE(client->Encode(IdsRequest({1}), &response).ok());
  a.reset();
  int ok = 0;
  for (int i = 0; i < 20; ++i) ok += client->Encode(IdsRequest({1}), &response).ok();
  EXPECT_EQ(ok, 20);  // calls that hit the dead replica are retried on the live one
}

TEST(EncoderClientTest, StreamKeepsOrderAndWindow) {
  FakeServer server;
  ClientOptions o;
  o.target = server.target();
  std::unique_ptr<EncoderClient> client = MakeClient(o);
  constexpr int kRequests = 200;
  constexpr int kWindow = 4;
  std::atomic<int> sent{0}, received{0}, max_outstanding{0};
  std::vector<std::string> ids;
  absl::Status s = client->EncodeStream(
      [&](v1::EncodeStreamRequest* r) {
        if (sent == kRequests) return false;
        const int outstanding = sent - received;
        max_outstanding = std::max(max_outstanding.load(), outstanding + 1);
        r->set_request_id(absl::StrCat(sent.load()));
        *r->mutable_request() = IdsRequest({sent.load() % 7 + 1});
        if (sent == 17) r->mutable_request()->clear_inputs();  // a per-request error
        ++sent;
        return true;
      },
      [&](const v1::EncodeStreamResponse& r) {
        ++received;
        ids.push_back(r.request_id());
        if (r.request_id() == "17") {
          EXPECT_EQ(r.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
        } else {
          EXPECT_EQ(r.code(), 0);
        }
      },
      kWindow);
  ASSERT_TRUE(s.ok()) << FormatStatus(s);
  ASSERT_EQ(ids.size(), static_cast<size_t>(kRequests));
  for (int i = 0; i < kRequests; ++i) EXPECT_EQ(ids[i], absl::StrCat(i));
  EXPECT_LE(max_outstanding, kWindow);
}

TEST(EncoderClientTest, StalledStreamTimesOut) {
  FakeServer server;
  ClientOptions o;
  o.target = server.target();
  o.timeout = absl::Milliseconds(300);
  std::unique_ptr<EncoderClient> client = MakeClient(o);
  int n = 0, received = 0;
  const absl::Time start = absl::Now();
  absl::Status s = client->EncodeStream(
      [&](v1::EncodeStreamRequest* r) {
        if (n == 3) return false;
        r->set_request_id(n == 2 ? "stall" : absl::StrCat(n));
        *r->mutable_request() = IdsRequest({1});
        ++n;
        return true;
      },
      [&](const v1::EncodeStreamResponse&) { ++received; }, 8);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << FormatStatus(s);
  EXPECT_EQ(received, 2);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST(EncoderClientTest, StreamEndedEarlyIsDataLoss) {
  FakeServer server;
  ClientOptions o;
  o.target = server.target();
  std::unique_ptr<EncoderClient> client = MakeClient(o);
  const std::vector<std::string> ids = {"0", "end", "2"};
  size_t n = 0;
  int received = 0;
  absl::Status s = client->EncodeStream(
      [&](v1::EncodeStreamRequest* r) {
        if (n == ids.size()) return false;
        r->set_request_id(ids[n++]);
        *r->mutable_request() = IdsRequest({1});
        return true;
      },
      [&](const v1::EncodeStreamResponse&) { ++received; }, 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << FormatStatus(s);
  EXPECT_THAT(s.message(), HasSubstr("unanswered"));
  EXPECT_EQ(received, 1);
}

// Certificates for TLS tests: a CA, a server certificate for DNS:qkv.test and a client certificate.
class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "/qkv-tls-" + std::to_string(getpid()));
    status_ = new absl::Status(testing_util::MakeTestCertificates(*dir_));
  }
  static std::string Path(const std::string& name) { return *dir_ + "/" + name; }
  static std::string Read(const std::string& name) { return testing_util::ReadFileOrDie(Path(name)); }
  void SetUp() override {
    if (!testing_util::FileExists("/usr/bin/openssl")) GTEST_SKIP() << "openssl not installed";
    ASSERT_TRUE(status_->ok()) << *status_;
  }
  static std::shared_ptr<grpc::ServerCredentials> ServerCredentials(bool require_client_cert) {
    grpc::SslServerCredentialsOptions ssl(require_client_cert
                                              ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                              : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    ssl.pem_key_cert_pairs.push_back({Read("server.key"), Read("server.pem")});
    if (require_client_cert) ssl.pem_root_certs = Read("ca.pem");
    return grpc::SslServerCredentials(ssl);
  }
  static std::string* dir_;
  static absl::Status* status_;
};
std::string* TlsTest::dir_ = nullptr;
absl::Status* TlsTest::status_ = nullptr;

TEST_F(TlsTest, ServerTlsWithCaAndNameOverride) {
  FakeServer server(ServerCredentials(false));
  ClientOptions o;
  o.target = server.target();
  o.timeout = absl::Seconds(5);
  o.max_attempts = 1;
  o.tls.ca_file = Path("ca.pem");
  o.tls.server_name = "qkv.test";
  v1::EncodeResponse response;
  absl::Status s = MakeClient(o)->Encode(IdsRequest({5}), &response);
  EXPECT_TRUE(s.ok()) << FormatStatus(s);

  // The certificate names qkv.test, not 127.0.0.1: without the override the handshake fails.
  o.tls.server_name = "";
  EXPECT_EQ(MakeClient(o)->Encode(IdsRequest({5}), &response).code(), absl::StatusCode::kUnavailable);
  // A plaintext client cannot talk to a TLS server.
  ClientOptions plain;
  plain.target = server.target();
  plain.max_attempts = 1;
  EXPECT_EQ(MakeClient(plain)->Encode(IdsRequest({5}), &response).code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, MutualTlsNeedsTheClientCertificate) {
  FakeServer server(ServerCredentials(true));
  ClientOptions o;
  o.target = server.target();
  o.timeout = absl::Seconds(5);
  o.max_attempts = 1;
  o.tls.ca_file = Path("ca.pem");
  o.tls.server_name = "qkv.test";
  v1::EncodeResponse response;
  EXPECT_NE(MakeClient(o)->Encode(IdsRequest({5}), &response).code(), absl::StatusCode::kOk);
  o.tls.cert_file = Path("client.pem");
  o.tls.key_file = Path("client.key");
  absl::Status s = MakeClient(o)->Encode(IdsRequest({5}), &response);
  EXPECT_TRUE(s.ok()) << FormatStatus(s);
}

}  // namespace
}  // namespace qkv
