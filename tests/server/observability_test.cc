// Observability pieces on their own and inside an in-process server: request ids, /proc parsing, access
// log fields, log option parsing, the metrics exposition, the HTTP listener's routes and readiness states,
// and the x-request-id round trip with the in-flight and queue gauges while a batch is held.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "client/encoder_client.h"
#include "server/http/http_server.h"
#include "server/observability/logging.h"
#include "server/observability/metrics.h"
#include "server/observability/process_stats.h"
#include "server/observability/request_id.h"
#include "server/server_config.h"
#include "server_test_util.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using testing_util::Context;
using testing_util::IdsRequest;

TEST(RequestIdTest, KeepsUsableIdsAndReplacesOthers) {
  EXPECT_EQ(RequestIdOrNew("abc-123_x.y/z"), "abc-123_x.y/z");
  for (const std::string& bad :
       {std::string(""), std::string("has space"), std::string("quote\""), std::string("back\\slash"),
        std::string("nl\n"), std::string(129, 'a'), std::string("\xc3\xa9")}) {
    EXPECT_FALSE(IsUsableRequestId(bad)) << bad;
    EXPECT_THAT(RequestIdOrNew(bad), MatchesRegex("[0-9a-f]{32}"));
  }
  EXPECT_TRUE(IsUsableRequestId(std::string(128, 'a')));
  EXPECT_NE(NewRequestId(), NewRequestId());
}

TEST(ProcessStatsTest, ParsesProcTextAndRefusesGarbage) {
  // Field 2 holds a space and a ')'; utime = 250 ticks, stime = 50 ticks.
  const std::string stat =
      "42 (qkv serv)er) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 1000 200 "
      "18446744073709551615";
  absl::StatusOr<ProcessStats> s = ParseProcessStats(stat, "5000 1200 300 10 0 900 0", 100, 4096);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_DOUBLE_EQ(s->cpu_seconds, 3.0);
  EXPECT_EQ(s->resident_bytes, 1200 * 4096);
  EXPECT_FALSE(ParseProcessStats("no parenthesis", "1 2", 100, 4096).ok());
  EXPECT_FALSE(ParseProcessStats("1 (x) S 1 2", "1 2", 100, 4096).ok());
  EXPECT_FALSE(ParseProcessStats(stat, "1", 100, 4096).ok());
  absl::StatusOr<ProcessStats> live = ReadProcessStats();
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_GT(live->resident_bytes, 1 << 20);
}

CallRecord SampleRecord() {
  CallRecord r;
  r.method = "Encode";
  r.peer = "ipv4:127.0.0.1:5000";
  r.request_id = "req-1";
  r.code = absl::StatusCode::kResourceExhausted;
  r.sequences = 2;
  r.tokens = 14;
  r.queue = absl::Microseconds(410);
  r.compute = absl::Microseconds(1200);
  r.total = absl::Microseconds(1950);
  return r;
}

TEST(LoggingTest, AccessFieldsInTextAndJson) {
  EXPECT_EQ(FormatAccessFields(SampleRecord(), LogFormat::kText),
            "method=Encode peer=ipv4:127.0.0.1:5000 request_id=req-1 code=RESOURCE_EXHAUSTED sequences=2 "
            "tokens=14 queue_ms=0.410 compute_ms=1.200 total_ms=1.950");
  const nlohmann::json j =
      nlohmann::json::parse("{" + FormatAccessFields(SampleRecord(), LogFormat::kJson) + "}");
  EXPECT_EQ(j["method"], "Encode");
  EXPECT_EQ(j["request_id"], "req-1");
  EXPECT_EQ(j["code"], "RESOURCE_EXHAUSTED");
  EXPECT_EQ(j["tokens"], 14);
  EXPECT_DOUBLE_EQ(j["compute_ms"].get<double>(), 1.2);
}

TEST(LoggingTest, JsonEscapeAndOptionParsing) {
  EXPECT_EQ(JsonEscape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(JsonEscape("bad \xff byte"), "bad \xef\xbf\xbd byte");
  EXPECT_TRUE(ParseLogFormat("json").ok());
  EXPECT_THAT(std::string(ParseLogFormat("xml").status().message()), HasSubstr("--log_format"));
  EXPECT_EQ(*ParseLogLevel("warn"), spdlog::level::warn);
  EXPECT_THAT(std::string(ParseLogLevel("loud").status().message()), HasSubstr("--log_level"));
}

TEST(ServerConfigOpsTest, ValidateNamesTheFlag) {
  auto message = [](void (*edit)(ServerConfig*)) {
    ServerConfig c;
    c.ResolveDefaults();
    edit(&c);
    return std::string(c.Validate().message());
  };
  EXPECT_EQ(message([](ServerConfig*) {}), "");
  EXPECT_THAT(message([](ServerConfig* c) { c->http_listen = "8080"; }), HasSubstr("--http_listen"));
  EXPECT_THAT(message([](ServerConfig* c) { c->http_listen = "::1:8080"; }), HasSubstr("--http_listen"));
  EXPECT_THAT(message([](ServerConfig* c) { c->http_listen = "h:70000"; }), HasSubstr("--http_listen"));
  EXPECT_EQ(message([](ServerConfig* c) { c->http_listen = "[::1]:0"; }), "");
  EXPECT_THAT(message([](ServerConfig* c) { c->log_format = "xml"; }), HasSubstr("--log_format"));
  EXPECT_THAT(message([](ServerConfig* c) { c->log_level = "loud"; }), HasSubstr("--log_level"));
  EXPECT_THAT(message([](ServerConfig* c) { c->max_connection_age = absl::Seconds(-1); }),
              HasSubstr("--max_connection_age must be >= 0"));
  EXPECT_THAT(message([](ServerConfig* c) { c->max_connection_age_grace = absl::Hours(24 * 30); }),
              HasSubstr("--max_connection_age_grace must be at most"));
}

TEST(ServerMetricsTest, CountsCallsAndRejectionsInTheExposition) {
  ServerMetrics metrics;
  CallRecord ok = SampleRecord();
  ok.code = absl::StatusCode::kOk;
  ok.computed = true;
  metrics.CallStarted("Encode");
  metrics.CallStarted("Encode");
  metrics.CallFinished(ok);
  CallRecord refused = SampleRecord();  // RESOURCE_EXHAUSTED, never ran
  metrics.CallFinished(refused);
  metrics.BatchRan(3, 40);
  metrics.SetModel("m1", "onnx", "fp32");
  metrics.SetModel("m2", "safetensors", "fp32");
  metrics.SetQueueSource([] { return QueueDepth{123, 4}; });
  const std::string text = metrics.Scrape();
  for (const char* line : {
           "qkv_requests_total{code=\"OK\",method=\"Encode\"} 1",
           "qkv_requests_total{code=\"RESOURCE_EXHAUSTED\",method=\"Encode\"} 1",
           "qkv_rejected_requests_total{reason=\"resource_exhausted\"} 1",
           "qkv_input_tokens_total{method=\"Encode\"} 14",
           "qkv_request_duration_seconds_count{method=\"Encode\"} 2",
           "qkv_request_compute_seconds_count{method=\"Encode\"} 1",
           "qkv_request_compute_seconds_bucket{method=\"Encode\",le=\"0.0025\"} 1",
           "qkv_request_compute_seconds_bucket{method=\"Encode\",le=\"0.001\"} 0",
           "qkv_inflight_requests{method=\"Encode\"} 0",
           "qkv_batch_sequences_sum 3",
           "qkv_batch_tokens_sum 40",
           "qkv_queue_tokens 123",
           "qkv_queue_requests 4",
           "qkv_model_info{format=\"safetensors\",model=\"m2\",precision=\"fp32\"} 1",
       }) {
    EXPECT_THAT(text, HasSubstr(line));
  }
  EXPECT_THAT(text, Not(HasSubstr("model=\"m1\"")));
  EXPECT_THAT(text, HasSubstr("qkv_build_info{version="));
  EXPECT_THAT(text, HasSubstr("qkv_process_resident_memory_bytes "));
}

TEST(HttpServerTest, RoutesRequestIdsUnknownPathsAndTakenPorts) {
  ServerMetrics metrics;
  HttpServer http(&metrics);
  http.Handle("POST", "/echo", [](const HttpRequest& r) {
    return TextResponse(201, absl::StrCat(r.method, " ", r.body, " ", r.Header("x-custom"), " ", r.peer));
  });
  http.Handle("GET", "/throws", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
  ASSERT_TRUE(http.Start("127.0.0.1:0").ok());
  ASSERT_GT(http.port(), 0);
  httplib::Client client("127.0.0.1", http.port());
  auto r = client.Post("/echo", {{"X-Custom", "v"}, {"x-request-id", "rid-9"}}, "body", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_THAT(r->body, MatchesRegex("POST body v ipv4:127\\.0\\.0\\.1:[0-9]+"));
  EXPECT_EQ(r->get_header_value("x-request-id"), "rid-9");
  r = client.Get("/nowhere");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_THAT(r->get_header_value("x-request-id"), MatchesRegex("[0-9a-f]{32}"));
  r = client.Get("/throws");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "internal error: boom\n");
  const std::string text = metrics.Scrape();
  EXPECT_THAT(text, HasSubstr("qkv_http_requests_total{code=\"201\",route=\"/echo\"} 1"));
  EXPECT_THAT(text, HasSubstr("qkv_http_requests_total{code=\"404\",route=\"unmatched\"} 1"));
  EXPECT_THAT(text, HasSubstr("qkv_http_requests_total{code=\"500\",route=\"/throws\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("code=\"500\",route=\"unmatched\"")));

  HttpServer second(nullptr);
  const absl::Status taken = second.Start(absl::StrCat("127.0.0.1:", http.port()));
  EXPECT_EQ(taken.code(), absl::StatusCode::kUnavailable) << taken;
  EXPECT_THAT(std::string(taken.message()), HasSubstr("--http_listen"));
  http.Stop();
  http.Stop();  // idempotent
}

int HttpStatus(int port, const char* path, std::string* body = nullptr) {
  httplib::Client client("127.0.0.1", port);
  auto r = client.Get(path);
  if (!r) return -1;
  if (body != nullptr) *body = r->body;
  return r->status;
}

TEST(ServerOpsTest, ReadinessFollowsLoadingServingDraining) {
  ServerConfig config = testing_util::TestConfig();
  config.http_listen = "127.0.0.1:0";
  testing_util::TestServer t = testing_util::StartOnly(config);
  const int port = t.server->http_port();
  ASSERT_GT(port, 0);
  std::string body;
  EXPECT_EQ(HttpStatus(port, "/readyz", &body), 503);
  EXPECT_THAT(body, HasSubstr("loading"));
  EXPECT_EQ(HttpStatus(port, "/healthz"), 200);
  ASSERT_TRUE(t.server->Serve(testing_util::LoadTinyModel()).ok());
  EXPECT_EQ(HttpStatus(port, "/readyz"), 200);
  t.server->BeginDrain();
  EXPECT_EQ(HttpStatus(port, "/readyz", &body), 503);
  EXPECT_THAT(body, HasSubstr("draining"));
  EXPECT_EQ(HttpStatus(port, "/healthz"), 200);
  EXPECT_EQ(HttpStatus(port, "/metrics"), 200);
  t.server->Shutdown();
  EXPECT_EQ(HttpStatus(port, "/healthz"), -1);  // the listener stops last, with the server
}

TEST(ServerOpsTest, RequestIdRoundTripAndGaugesWhileABatchIsHeld) {
  std::unique_ptr<ServedModel> model = testing_util::LoadTinyModel();
  auto runner = std::make_unique<testing_util::ControlledRunner>(model->encoder.get());
  testing_util::ControlledRunner* control = runner.get();
  ServerConfig config = testing_util::TestConfig();
  config.workers = 1;
  testing_util::TestServer t = testing_util::StartServing(config, std::move(model), std::move(runner));
  control->Close();

  std::unique_ptr<grpc::ClientContext> held = Context();
  held->AddMetadata("x-request-id", "held-1");
  v1::EncodeResponse held_response;
  grpc::Status held_status;
  absl::Notification held_done;
  const v1::EncodeRequest held_request = IdsRequest({{101, 2000, 102}});
  t.stub->async()->Encode(held.get(), &held_request, &held_response, [&](grpc::Status s) {
    held_status = s;
    held_done.Notify();
  });
  control->AwaitEntered(1);
  // The second call queues behind the held batch.
  std::unique_ptr<grpc::ClientContext> queued = Context();
  v1::EncodeResponse queued_response;
  absl::Notification queued_done;
  const v1::EncodeRequest queued_request = IdsRequest({{101, 7, 8, 9, 102}});
  t.stub->async()->Encode(queued.get(), &queued_request, &queued_response,
                          [&](grpc::Status) { queued_done.Notify(); });
  const absl::Time give_up = absl::Now() + testing_util::kWait;
  std::string text;
  while (absl::Now() < give_up) {
    text = t.server->metrics()->Scrape();
    if (absl::StrContains(text, "qkv_queue_tokens 5")) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_THAT(text, HasSubstr("qkv_queue_tokens 5"));
  EXPECT_THAT(text, HasSubstr("qkv_queue_requests 1"));
  EXPECT_THAT(text, HasSubstr("qkv_inflight_requests{method=\"Encode\"} 2"));
  control->Open();
  ASSERT_TRUE(held_done.WaitForNotificationWithTimeout(testing_util::kWait));
  ASSERT_TRUE(queued_done.WaitForNotificationWithTimeout(testing_util::kWait));
  EXPECT_TRUE(held_status.ok()) << held_status.error_message();
  const auto& metadata = held->GetServerInitialMetadata();
  auto it = metadata.find("x-request-id");
  ASSERT_NE(it, metadata.end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), "held-1");
  it = queued->GetServerInitialMetadata().find("x-request-id");
  ASSERT_NE(it, queued->GetServerInitialMetadata().end());
  EXPECT_THAT(std::string(it->second.data(), it->second.size()), MatchesRegex("[0-9a-f]{32}"));
  text = t.server->metrics()->Scrape();
  EXPECT_THAT(text, HasSubstr("qkv_inflight_requests{method=\"Encode\"} 0"));
  EXPECT_THAT(text, HasSubstr("qkv_requests_total{code=\"OK\",method=\"Encode\"} 2"));
  EXPECT_THAT(text, HasSubstr("qkv_input_tokens_total{method=\"Encode\"} 8"));
  EXPECT_THAT(text, HasSubstr("qkv_batch_tokens_sum 8"));
}

// An error answer carries the request id in its trailing metadata only: initial metadata would make the
// client commit the call, and gRPC's retry policy would then not retry UNAVAILABLE (loading, draining).
TEST(RequestIdTest, ErrorsReturnTheIdInTrailersAndStayRetryable) {
  testing_util::TestServer t = testing_util::StartOnly(testing_util::TestConfig());  // loading
  std::unique_ptr<grpc::ClientContext> refused = Context();
  refused->AddMetadata("x-request-id", "refused-1");
  v1::EncodeResponse response;
  grpc::Status s = t.stub->Encode(refused.get(), IdsRequest({{101, 102}}), &response);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(refused->GetServerInitialMetadata().count("x-request-id"), 0u);
  auto it = refused->GetServerTrailingMetadata().find("x-request-id");
  ASSERT_NE(it, refused->GetServerTrailingMetadata().end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), "refused-1");

  // A client with a retry policy calls while the server is still loading; the model is served once the
  // first attempt was refused, and a retry gets the answer.
  ClientOptions options;
  options.target = t.server->address();
  options.lb_policy = "pick_first";  // round_robin would not send before health says SERVING
  options.max_attempts = 5;
  options.initial_backoff = absl::Milliseconds(200);
  options.max_backoff = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<EncoderClient>> client = EncoderClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  std::unique_ptr<ServedModel> model = testing_util::LoadTinyModel();  // only Serve races the retries
  std::thread serve([&] {
    const bool refused_once = testing_util::WaitUntil([&] {
      return testing_util::MetricValue(t.server->metrics(),
                                       "qkv_requests_total{code=\"UNAVAILABLE\",method=\"Encode\"}") >= 2;
    });
    EXPECT_TRUE(refused_once) << "the client's first attempt never arrived";
    EXPECT_TRUE(t.server->Serve(std::move(model)).ok());
  });
  absl::Status retried = (*client)->Encode(IdsRequest({{101, 2000, 102}}), &response);
  serve.join();
  EXPECT_TRUE(retried.ok()) << retried << " (UNAVAILABLE while loading was not retried)";
}

}  // namespace
}  // namespace qkv
