// The pieces that bound a request's cost, without a server: ByteBudget accounting, PreparationPool's bound
// and round-robin order, the wire limits of ParseRequest (checked before parsing), and ClientKey's rule.
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "qkv/v1/encoder.pb.h"
#include "server/byte_budget.h"
#include "server/client_identity.h"
#include "server/message_codec.h"
#include "server/prep_pool.h"

namespace qkv {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(30);  // only a safety net against hangs

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

TEST(ByteBudgetTest, ReservesUpToTheLimitAndReleasesOnDestruction) {
  ByteBudget budget(100);
  absl::StatusOr<ByteBudget::Reservation> a = budget.Reserve(60);
  ASSERT_TRUE(a.ok());
  absl::StatusOr<ByteBudget::Reservation> b = budget.Reserve(41);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(b.status().message(), HasSubstr("--max_inflight_bytes=100"));
  EXPECT_EQ(budget.used(), 60);
  {
    absl::StatusOr<ByteBudget::Reservation> c = budget.Reserve(40);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(budget.used(), 100);
    ByteBudget::Reservation moved = std::move(*c);
    EXPECT_EQ(budget.used(), 100);
  }
  EXPECT_EQ(budget.used(), 60);
  EXPECT_EQ(a->Resize(101).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(a->bytes(), 60);
  ASSERT_TRUE(a->Resize(100).ok());
  ASSERT_TRUE(a->Resize(10).ok());
  EXPECT_EQ(budget.used(), 10);
  a->Release();
  EXPECT_EQ(budget.used(), 0);
}

TEST(PreparationPoolTest, BoundsItsQueueAndServesClientsRoundRobin) {
  PreparationPool pool(/*threads=*/1, /*max_queued=*/5);
  absl::Notification entered, release;
  ASSERT_TRUE(pool.Submit("x", [&] {
                    entered.Notify();
                    release.WaitForNotification();
                  })
                  .ok());
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(kWait));  // the one thread is busy from here
  absl::Mutex mu;
  std::vector<std::string> order;
  auto task = [&](std::string name) {
    return [&mu, &order, name] {
      absl::MutexLock lock(&mu);
      order.push_back(name);
    };
  };
  ASSERT_TRUE(pool.Submit("a", task("a1")).ok());
  ASSERT_TRUE(pool.Submit("a", task("a2")).ok());
  ASSERT_TRUE(pool.Submit("a", task("a3")).ok());
  ASSERT_TRUE(pool.Submit("b", task("b1")).ok());
  ASSERT_TRUE(pool.Submit("c", task("c1")).ok());
  absl::Status full = pool.Submit("d", task("d1"));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("--max_prep_queue=5"));
  EXPECT_EQ(pool.queued(), 5);
  release.Notify();
  pool.Shutdown();  // runs what is queued
  EXPECT_THAT(order, ElementsAre("a1", "b1", "c1", "a2", "a3"));
  EXPECT_EQ(pool.Submit("a", task("late")).code(), absl::StatusCode::kUnavailable);
}

TEST(ParseLimitsTest, StringsAndRepeatedMessagesAreBoundedBeforeParsing) {
  ParseLimits limits;
  limits.max_string_bytes = 8;
  limits.max_repeated_messages = 2;
  v1::EncodeRequest request;
  request.add_inputs()->mutable_text()->set_text("short");
  request.add_inputs()->mutable_text()->set_text("much too long");
  v1::EncodeRequest parsed;
  absl::Status s = ParseRequest(ToBuffer(request.SerializeAsString()), limits, &parsed);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "inputs[1].text.text: 13 bytes > --max_text_bytes=8");
  EXPECT_EQ(parsed.inputs_size(), 0);

  request.mutable_inputs(1)->mutable_text()->set_text("ok");
  request.add_inputs()->mutable_ids()->add_ids(101);
  s = ParseRequest(ToBuffer(request.SerializeAsString()), limits, &parsed);
  EXPECT_EQ(s.message(), "inputs: more than 2 elements (--max_batch_sequences=2)");

  // Eight million empty inputs: refused at the third, by the same scan.
  std::string many;
  for (int i = 0; i < 8000000; ++i) many.append("\x0a\x00", 2);
  s = ParseRequest(ToBuffer(many), limits, &parsed);
  EXPECT_EQ(s.message(), "inputs: more than 2 elements (--max_batch_sequences=2)");

  // Inside a stream request, with the request_id recovered for the error answer.
  v1::EncodeStreamRequest stream;
  stream.set_request_id("r1");
  stream.mutable_request()->add_inputs()->mutable_text()->set_text("123456789");
  v1::EncodeStreamRequest parsed_stream;
  std::string id;
  s = ParseRequest(ToBuffer(stream.SerializeAsString()), limits, &parsed_stream, "request_id", &id);
  EXPECT_EQ(s.message(), "request.inputs[0].text.text: 9 bytes > --max_text_bytes=8");
  EXPECT_EQ(id, "r1");

  request.mutable_inputs()->DeleteSubrange(2, 1);
  ASSERT_TRUE(ParseRequest(ToBuffer(request.SerializeAsString()), limits, &parsed).ok());
  EXPECT_EQ(parsed.inputs(1).text().text(), "ok");
}

TEST(ClientIdentityTest, PeerWithoutPort) {
  EXPECT_EQ(PeerWithoutPort("ipv4:10.0.0.7:51234"), "ipv4:10.0.0.7");
  EXPECT_EQ(PeerWithoutPort("ipv6:[::1]:5000"), "ipv6:[::1]");
  EXPECT_EQ(PeerWithoutPort("ipv6:[::1]"), "ipv6:[::1]");
  EXPECT_EQ(PeerWithoutPort("unix:/run/qkv.sock"), "unix:/run/qkv.sock");
  EXPECT_EQ(PeerWithoutPort(""), "");
}

}  // namespace
}  // namespace qkv
