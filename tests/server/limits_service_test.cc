// The server's limits over gRPC (port 0, the bundled model): texts and input counts refused before
// parsing, the receive limit apart from the send limit, the byte budget, the stream caps per connection
// and server-wide, Tokenize bounded like Encode, and the limits GetModelInfo publishes.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "qkv/v1/encoder.grpc.pb.h"
#include "server_test_util.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;
using namespace testing_util;  // NOLINT(build/namespaces): test helpers

// A channel of its own: a second connection to the same server.
std::unique_ptr<v1::EncoderService::Stub> NewConnection(const TestServer& t) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return v1::EncoderService::NewStub(
      grpc::CreateCustomChannel(t.server->address(), grpc::InsecureChannelCredentials(), args));
}

TEST(LimitsServiceTest, TextsAndInputCountsAreRefusedNamingFieldAndFlag) {
  ServerConfig config = TestConfig();
  config.max_text_bytes = 1000;
  config.max_batch_sequences = 4;
  TestServer t = StartServing(config);

  v1::EncodeRequest request;
  request.add_inputs()->mutable_text()->set_text("fine");
  request.add_inputs()->mutable_text()->set_text(std::string(1001, 'a'));
  v1::EncodeResponse response;
  grpc::Status s = t.stub->Encode(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "inputs[1].text.text: 1001 bytes > --max_text_bytes=1000");

  v1::TokenizeRequest tokenize;
  tokenize.set_text("fine");
  tokenize.set_text_pair(std::string(5000, 'b'));
  v1::TokenizeResponse tokens;
  s = t.stub->Tokenize(Context().get(), tokenize, &tokens);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "text_pair: 5000 bytes > --max_text_bytes=1000");

  request = IdsRequest(std::vector<std::vector<int32_t>>(5, {101, 102}));
  s = t.stub->Encode(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "inputs: more than 4 elements (--max_batch_sequences=4)");

  request = IdsRequest(std::vector<std::vector<int32_t>>(4, {101, 102}));
  EXPECT_TRUE(t.stub->Encode(Context().get(), request, &response).ok());
}

// Tokenize's output is bounded like Encode's: a long text without truncation is refused naming the limit.
TEST(LimitsServiceTest, TokenizeIsBoundedByTheModelsPositions) {
  TestServer t = StartServing(TestConfig());
  std::string text;
  for (int i = 0; i < 600; ++i) text += "word ";
  v1::TokenizeRequest request;
  request.set_text(text);
  v1::TokenizeResponse response;
  grpc::Status s = t.stub->Tokenize(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("text is longer than max_length 512 tokens"));
  request.set_truncation(v1::TRUNCATION_TRUNCATE);
  ASSERT_TRUE(t.stub->Tokenize(Context().get(), request, &response).ok());
  EXPECT_EQ(response.ids_size(), 512);
  EXPECT_TRUE(response.truncated());
}

// The receive limit applies to requests; the send limit (max_message_bytes) to responses only.
TEST(LimitsServiceTest, ReceiveLimitIsSeparateFromTheSendLimit) {
  ServerConfig config = TestConfig();
  config.max_receive_message_bytes = 2048;
  TestServer t = StartServing(config);
  v1::EncodeRequest big = IdsRequest({std::vector<int32_t>(500, 20000)});  // ~1.5 KB of varints
  big.mutable_inputs(0)->set_id(std::string(1000, 'x'));
  v1::EncodeResponse response;
  grpc::Status s = t.stub->Encode(Context().get(), big, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  // A small request may get a response far larger than 2048 bytes.
  v1::EncodeRequest small = IdsRequest({std::vector<int32_t>(20, 1000)});
  small.mutable_options()->set_return_token_vectors(true);
  ASSERT_TRUE(t.stub->Encode(Context().get(), small, &response).ok());
  EXPECT_GT(response.ByteSizeLong(), 2048u);
}

// A request whose bytes (4x the wire size while it is parsed) do not fit the budget is refused at once.
TEST(LimitsServiceTest, ByteBudgetRefusesWhatDoesNotFit) {
  ServerConfig config = TestConfig();
  config.max_message_bytes = 16 << 10;
  config.max_inflight_bytes = 64 << 10;
  TestServer t = StartServing(config);
  v1::EncodeRequest request;
  request.add_inputs()->mutable_text()->set_text(std::string(20000, 'a'));
  request.mutable_options()->set_truncation(v1::TRUNCATION_TRUNCATE);
  v1::EncodeResponse response;
  grpc::Status s = t.stub->Encode(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("--max_inflight_bytes=65536"));
  // What fits still runs, and the refused request left nothing behind.
  request.mutable_inputs(0)->mutable_text()->set_text("hello world");
  EXPECT_TRUE(t.stub->Encode(Context().get(), request, &response).ok()) << s.error_message();
}

// A connection may hold max_streams_per_connection streams; another connection may open its own.
TEST(LimitsServiceTest, StreamsAreCappedPerConnectionAndServerWide) {
  ServerConfig config = TestConfig();
  config.max_streams_per_connection = 1;
  config.max_streams = 2;
  TestServer t = StartServing(config);
  auto open = [](v1::EncoderService::Stub* stub, grpc::ClientContext* context) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + kWait));
    auto stream = stub->EncodeStream(context);
    v1::EncodeStreamRequest request;
    request.set_request_id("x");
    *request.mutable_request() = IdsRequest({{101, 102}});
    stream->Write(request);
    return stream;
  };
  grpc::ClientContext c1, c2, c3, c4;
  auto first = open(t.stub.get(), &c1);
  v1::EncodeStreamResponse response;
  ASSERT_TRUE(first->Read(&response));  // open and counted
  auto second = open(t.stub.get(), &c2);
  EXPECT_FALSE(second->Read(&response));
  grpc::Status s = second->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("--max_streams_per_connection=1"));

  auto other_connection = NewConnection(t);
  auto third = open(other_connection.get(), &c3);
  ASSERT_TRUE(third->Read(&response));
  auto third_connection = NewConnection(t);
  auto fourth = open(third_connection.get(), &c4);
  EXPECT_FALSE(fourth->Read(&response));
  s = fourth->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("--max_streams=2"));

  first->WritesDone();
  EXPECT_TRUE(first->Finish().ok());
  third->WritesDone();
  EXPECT_TRUE(third->Finish().ok());
}

TEST(LimitsServiceTest, GetModelInfoPublishesEveryLimit) {
  ServerConfig config = TestConfig();
  config.max_text_bytes = 12345;
  config.max_client_queue_share = 0.25;
  TestServer t = StartServing(config);
  v1::GetModelInfoResponse info;
  ASSERT_TRUE(t.stub->GetModelInfo(Context().get(), v1::GetModelInfoRequest(), &info).ok());
  const v1::ServerLimits& limits = info.limits();
  EXPECT_EQ(limits.max_text_bytes(), 12345);
  EXPECT_EQ(limits.max_receive_message_bytes(), config.max_receive_message_bytes);
  EXPECT_EQ(limits.max_inflight_bytes(), config.max_inflight_bytes);
  EXPECT_EQ(limits.max_streams(), config.max_streams);
  EXPECT_EQ(limits.max_streams_per_connection(), config.max_streams_per_connection);
  EXPECT_EQ(limits.max_stream_in_flight(), config.max_stream_in_flight);
  EXPECT_DOUBLE_EQ(limits.max_client_queue_share(), 0.25);
  EXPECT_EQ(limits.prep_threads(), config.prep_threads);
  EXPECT_EQ(limits.max_prep_queue(), config.max_prep_queue);
}

}  // namespace
}  // namespace qkv
