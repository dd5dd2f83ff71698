// ServerConfig validation (each refusal names its flag), CPU-count parsing of cgroup files, the default
// worker/thread split, and the absl -> gRPC status mapping.
#include "server/server_config.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/status_mapping.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;

ServerConfig Valid() {
  ServerConfig c;
  c.workers = 1;
  c.threads_per_worker = 1;
  return c;
}

TEST(ServerConfigTest, DefaultsAreValidOnceResolved) {
  ServerConfig c;
  c.ResolveDefaults();
  EXPECT_GE(c.workers, 1);
  EXPECT_GE(c.threads_per_worker, 1);
  EXPECT_LE(c.workers * c.threads_per_worker, AvailableCpus());
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
}

TEST(ServerConfigTest, BadValuesNameTheFlag) {
  struct Case {
    void (*mutate)(ServerConfig*);
    const char* message;
  };
  const Case cases[] = {
      {[](ServerConfig* c) { c->workers = -1; }, "--workers must be >= 1 (got -1)"},
      {[](ServerConfig* c) { c->threads_per_worker = 0; }, "--threads_per_worker must be >= 1"},
      {[](ServerConfig* c) { c->max_batch_tokens = 0; }, "--max_batch_tokens must be >= 1"},
      {[](ServerConfig* c) { c->max_batch_sequences = 0; }, "--max_batch_sequences must be >= 1"},
      {[](ServerConfig* c) { c->max_queued_tokens = 100; },
       "--max_queued_tokens (100) must be >= --max_batch_tokens"},
      {[](ServerConfig* c) { c->max_stream_in_flight = 0; }, "--max_stream_in_flight must be >= 1"},
      {[](ServerConfig* c) { c->max_attention_bytes = 0; }, "--max_attention_bytes must be >= 1"},
      {[](ServerConfig* c) { c->max_message_bytes = 10; }, "--max_message_bytes must be in [1024, "},
      {[](ServerConfig* c) { c->max_message_bytes = int64_t{1} << 40; }, "--max_message_bytes"},
      {[](ServerConfig* c) { c->max_queue_delay = absl::Milliseconds(-1); },
       "--max_queue_delay must be >= 0"},
      {[](ServerConfig* c) { c->grace_period = absl::Seconds(-1); }, "--grace_period must be >= 0"},
      {[](ServerConfig* c) { c->drain_notice = absl::Seconds(-1); }, "--drain_notice must be >= 0"},
      {[](ServerConfig* c) { c->keepalive_time = absl::ZeroDuration(); }, "--keepalive_time must be > 0"},
      {[](ServerConfig* c) { c->listen = "nowhere"; }, "--listen must be host:port"},
      {[](ServerConfig* c) { c->tls_cert = "cert.pem"; }, "--tls_cert and --tls_key must be given together"},
      {[](ServerConfig* c) { c->tls_client_ca = "ca.pem"; }, "--tls_client_ca needs --tls_cert"},
      {[](ServerConfig* c) { c->precision = "fp16"; },
       "--precision must be one of fp32, bf16, int8 (got \"fp16\")"},
      {[](ServerConfig* c) { c->precision = ""; }, "--precision must be one of fp32, bf16, int8"},
  };
  for (const Case& k : cases) {
    ServerConfig c = Valid();
    k.mutate(&c);
    absl::Status s = c.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << k.message;
    EXPECT_THAT(std::string(s.message()), HasSubstr(k.message));
  }
}

TEST(ServerConfigTest, ResolveDefaultsFillsOnlyZeroes) {
  ServerConfig c;
  c.workers = 3;
  c.threads_per_worker = 5;
  c.ResolveDefaults();
  EXPECT_EQ(c.workers, 3);
  EXPECT_EQ(c.threads_per_worker, 5);
  c.workers = -2;
  c.threads_per_worker = 0;
  c.ResolveDefaults();  // a negative value stays for Validate to refuse
  EXPECT_EQ(c.workers, -2);
  EXPECT_FALSE(c.Validate().ok());
}

TEST(ServerConfigTest, CgroupQuotaParsing) {
  EXPECT_EQ(CpusFromCgroupV2("max 100000\n"), 0);
  EXPECT_EQ(CpusFromCgroupV2("200000 100000\n"), 2);
  EXPECT_EQ(CpusFromCgroupV2("150000 100000"), 2);  // 1.5 CPUs rounds up
  EXPECT_EQ(CpusFromCgroupV2("50000 100000"), 1);
  EXPECT_EQ(CpusFromCgroupV2(""), 0);
  EXPECT_EQ(CpusFromCgroupV2("garbage"), 0);
  EXPECT_EQ(CpusFromCgroupV1("-1\n", "100000\n"), 0);
  EXPECT_EQ(CpusFromCgroupV1("400000\n", "100000\n"), 4);
  EXPECT_EQ(CpusFromCgroupV1("", ""), 0);
  EXPECT_GE(AvailableCpus(), 1);
}

TEST(ServerConfigTest, DefaultThreadingSplitsCpus) {
  auto split = [](int cpus) {
    Threading t = DefaultThreading(cpus);
    return std::make_pair(t.workers, t.threads_per_worker);
  };
  EXPECT_EQ(split(1), std::make_pair(1, 1));
  EXPECT_EQ(split(2), std::make_pair(1, 2));
  EXPECT_EQ(split(4), std::make_pair(1, 4));
  EXPECT_EQ(split(6), std::make_pair(2, 3));
  EXPECT_EQ(split(8), std::make_pair(2, 4));
  EXPECT_EQ(split(16), std::make_pair(4, 4));
  EXPECT_EQ(split(0), std::make_pair(1, 1));
}

TEST(StatusMappingTest, CodesCarryOverAndLongMessagesAreCut) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("x")).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcStatus(absl::ResourceExhaustedError("x")).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ToGrpcStatus(absl::DeadlineExceededError("x")).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(ToGrpcStatus(absl::CancelledError("x")).error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("x")).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ToGrpcStatus(absl::InternalError("boom")).error_message(), "boom");

  const std::string long_message(5000, 'a');
  const grpc::Status cut = ToGrpcStatus(absl::InternalError(long_message));
  EXPECT_EQ(cut.error_message(), std::string(kMaxStatusMessageBytes, 'a') + "...[truncated]");
  // Never inside a UTF-8 sequence: "é" is 2 bytes; a cut at an odd byte backs up one.
  std::string accents;
  for (int i = 0; i < 600; ++i) accents += "\xc3\xa9";
  const std::string t = TruncateStatusMessage(accents, 11);
  EXPECT_EQ(t, accents.substr(0, 10) + "...[truncated]");
}

}  // namespace
}  // namespace qkv
