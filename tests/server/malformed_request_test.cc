// Requests that protobuf cannot parse: message_codec's parsing and naming of the bad field, and the
// EncoderService answering them over the wire (sent as raw bytes through grpc::GenericStub) with
// INVALID_ARGUMENT naming the field, unary and inside EncodeStream, where the stream goes on.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "qkv/v1/encoder.grpc.pb.h"
#include "server/message_codec.h"
#include "server_test_util.h"

namespace qkv {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace testing_util;  // NOLINT(build/namespaces): test helpers

constexpr char kBad[] = "bad \xff byte";                // 0xff never occurs in UTF-8
constexpr char kBadSequence[] = "caf\xc3\x28 au lait";  // a lead byte without its continuation

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// Serialized as C++ protobuf does it: it only logs that a string field holds invalid UTF-8.
std::string Bytes(const google::protobuf::Message& message) { return message.SerializeAsString(); }

// Bytes that are no protobuf message: a truncated length-delimited field, wire type 7, field number 0.
const std::vector<std::string>& Garbage() {
  static const auto* garbage = new std::vector<std::string>{
      std::string("\x0a\x05"
                  "ab",
                  4),
      std::string("\x0f\x01", 2), std::string("\x00\x01", 2), std::string(64, '\xff')};
  return *garbage;
}

v1::EncodeRequest ThreeTexts() {
  v1::EncodeRequest request;
  for (const char* text : {"one", "two", "three"}) {
    v1::Input* input = request.add_inputs();
    input->set_id(text);
    input->mutable_text()->set_text(text);
  }
  return request;
}

absl::Status Parse(const std::string& bytes, google::protobuf::Message* message) {
  return ParseRequest(ToBuffer(bytes), message);
}

void ExpectInvalid(const absl::Status& status, const std::string& message) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(std::string(status.message()), message);
}

// --- message_codec ---

TEST(MessageCodecTest, ParsesValidRequestsFromSeveralSlices) {
  v1::EncodeRequest request = ThreeTexts();
  request.mutable_inputs(1)->mutable_text()->set_text_pair("caf\xc3\xa9");  // valid two-byte UTF-8
  request.mutable_options()->set_pooling(v1::POOLING_MEAN);
  const std::string bytes = Bytes(request);
  // Split across slices, as gRPC may deliver a message.
  std::vector<grpc::Slice> slices;
  for (size_t i = 0; i < bytes.size(); i += 5) slices.emplace_back(bytes.substr(i, 5));
  const grpc::ByteBuffer buffer(slices.data(), slices.size());

  v1::EncodeRequest parsed;
  parsed.add_inputs();  // ParseRequest clears first
  ASSERT_TRUE(ParseRequest(buffer, &parsed).ok());
  EXPECT_EQ(parsed.SerializeAsString(), bytes);
  // The buffer is not consumed: it parses again.
  ASSERT_TRUE(ParseRequest(buffer, &parsed).ok());
  EXPECT_EQ(parsed.inputs_size(), 3);

  v1::GetModelInfoRequest empty;
  EXPECT_TRUE(Parse("", &empty).ok());
}

TEST(MessageCodecTest, NamesTheInvalidUtf8FieldOfAnEncodeRequest) {
  v1::EncodeRequest parsed;

  v1::EncodeRequest request = ThreeTexts();
  request.mutable_inputs(2)->mutable_text()->set_text(kBad);
  ExpectInvalid(Parse(Bytes(request), &parsed), "inputs[2].text.text: not valid UTF-8");
  EXPECT_EQ(parsed.inputs_size(), 0) << "left cleared";

  request = ThreeTexts();
  request.mutable_inputs(1)->mutable_text()->set_text_pair(kBadSequence);
  ExpectInvalid(Parse(Bytes(request), &parsed), "inputs[1].text.text_pair: not valid UTF-8");

  request = ThreeTexts();
  request.mutable_inputs(0)->set_id(kBad);
  ExpectInvalid(Parse(Bytes(request), &parsed), "inputs[0].id: not valid UTF-8");

  // Two bad fields: the first in field order is named.
  request = ThreeTexts();
  request.mutable_inputs(2)->set_id(kBad);
  request.mutable_inputs(1)->mutable_text()->set_text(kBad);
  ExpectInvalid(Parse(Bytes(request), &parsed), "inputs[1].text.text: not valid UTF-8");

  // Ids inputs around a bad text input keep their indices.
  request = IdsRequest({{101, 102}, {101, 102}});
  v1::Input* text = request.add_inputs();
  text->mutable_text()->set_text("fine");
  text->mutable_text()->set_text_pair(kBad);
  ExpectInvalid(Parse(Bytes(request), &parsed), "inputs[2].text.text_pair: not valid UTF-8");
}

TEST(MessageCodecTest, NamesTheInvalidUtf8FieldOfTokenizeAndStreamRequests) {
  v1::TokenizeRequest tokenize;
  tokenize.set_text(kBad);
  v1::TokenizeRequest parsed_tokenize;
  ExpectInvalid(Parse(Bytes(tokenize), &parsed_tokenize), "text: not valid UTF-8");
  tokenize.set_text("fine");
  tokenize.set_text_pair(kBadSequence);
  ExpectInvalid(Parse(Bytes(tokenize), &parsed_tokenize), "text_pair: not valid UTF-8");

  v1::EncodeStreamRequest stream;
  stream.set_request_id(kBad);
  *stream.mutable_request() = ThreeTexts();
  v1::EncodeStreamRequest parsed_stream;
  ExpectInvalid(Parse(Bytes(stream), &parsed_stream), "request_id: not valid UTF-8");
  EXPECT_EQ(RecoverStringField(ToBuffer(Bytes(stream)), *v1::EncodeStreamRequest::descriptor(), "request_id"),
            "");

  stream.set_request_id("r7");
  stream.mutable_request()->mutable_inputs(1)->mutable_text()->set_text(kBad);
  ExpectInvalid(Parse(Bytes(stream), &parsed_stream), "request.inputs[1].text.text: not valid UTF-8");
  EXPECT_EQ(RecoverStringField(ToBuffer(Bytes(stream)), *v1::EncodeStreamRequest::descriptor(), "request_id"),
            "r7");
}

// The search is generic over message types: repeated strings are named with their index (no request has
// one today; TokenizeResponse does).
TEST(MessageCodecTest, NamesAnInvalidElementOfARepeatedString) {
  v1::TokenizeResponse response;
  response.add_tokens("[CLS]");
  response.add_tokens(kBad);
  v1::TokenizeResponse parsed;
  ExpectInvalid(Parse(Bytes(response), &parsed), "tokens[1]: not valid UTF-8");
}

TEST(MessageCodecTest, GarbageIsNotAValidMessage) {
  for (const std::string& garbage : Garbage()) {
    v1::EncodeRequest encode;
    ExpectInvalid(Parse(garbage, &encode), "request is not a valid qkv.v1.EncodeRequest");
    v1::TokenizeRequest tokenize;
    ExpectInvalid(Parse(garbage, &tokenize), "request is not a valid qkv.v1.TokenizeRequest");
    v1::EncodeStreamRequest stream;
    ExpectInvalid(Parse(garbage, &stream), "request is not a valid qkv.v1.EncodeStreamRequest");
    EXPECT_EQ(RecoverStringField(ToBuffer(garbage), *v1::EncodeStreamRequest::descriptor(), "request_id"),
              "");
  }
  // Bad UTF-8 plus broken framing after it: not a message, whatever the strings hold.
  v1::TokenizeRequest tokenize;
  tokenize.set_text(kBad);
  v1::TokenizeRequest parsed;
  ExpectInvalid(Parse(Bytes(tokenize) + "\x0f", &parsed), "request is not a valid qkv.v1.TokenizeRequest");
}

TEST(MessageCodecTest, SerializeResponseRoundTrips) {
  v1::TokenizeResponse response;
  for (int i = 0; i < 1000; ++i) {  // large enough for several slices
    response.add_ids(i);
    response.add_tokens("token" + std::to_string(i));
  }
  grpc::ByteBuffer buffer = ToBuffer("old contents");
  ASSERT_TRUE(SerializeResponse(response, &buffer).ok());
  v1::TokenizeResponse back;
  ASSERT_TRUE(back.ParseFromString(ToString(buffer)));
  EXPECT_EQ(back.SerializeAsString(), response.SerializeAsString());
}

// --- over gRPC, as raw bytes ---

constexpr char kEncode[] = "/qkv.v1.EncoderService/Encode";
constexpr char kEncodeStream[] = "/qkv.v1.EncoderService/EncodeStream";
constexpr char kTokenize[] = "/qkv.v1.EncoderService/Tokenize";
constexpr char kGetModelInfo[] = "/qkv.v1.EncoderService/GetModelInfo";

// A unary call of `method` with `request` as the message bytes.
grpc::Status RawUnary(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                      const std::string& request, std::string* response) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::ClientContext> context = Context();
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(context.get(), method, ToBuffer(request), &cq);
  call->StartCall();
  grpc::ByteBuffer reply;
  grpc::Status status;
  int tag = 1;
  call->Finish(&reply, &status, &tag);
  void* got = nullptr;
  bool ok = false;
  EXPECT_TRUE(cq.Next(&got, &ok));
  EXPECT_EQ(got, &tag);
  if (status.ok() && response != nullptr) *response = ToString(reply);
  cq.Shutdown();
  while (cq.Next(&got, &ok)) {
  }
  return status;
}

// One EncodeStream call: writes every message of `requests` as raw bytes, half-closes, reads all answers.
struct StreamResult {
  std::vector<v1::EncodeStreamResponse> responses;
  grpc::Status status;
};
StreamResult RawStream(const std::shared_ptr<grpc::Channel>& channel,
                       const std::vector<std::string>& requests) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::ClientContext> context = Context();
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(context.get(), kEncodeStream, &cq);
  int tag = 0;
  // Runs one operation to completion; false when it failed.
  auto await = [&cq, &tag]() {
    void* got = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&got, &ok));
    EXPECT_EQ(got, &tag);
    return ok;
  };
  StreamResult result;
  call->StartCall(&tag);
  EXPECT_TRUE(await());
  // Small messages: HTTP/2 buffers them all, so writing everything before reading cannot deadlock.
  for (const std::string& request : requests) {
    call->Write(ToBuffer(request), &tag);
    EXPECT_TRUE(await());
  }
  call->WritesDone(&tag);
  EXPECT_TRUE(await());
  for (;;) {
    grpc::ByteBuffer reply;
    call->Read(&reply, &tag);
    if (!await()) break;
    v1::EncodeStreamResponse response;
    EXPECT_TRUE(response.ParseFromString(ToString(reply)));
    result.responses.push_back(std::move(response));
  }
  call->Finish(&result.status, &tag);
  EXPECT_TRUE(await());
  cq.Shutdown();
  void* got = nullptr;
  bool ok = false;
  while (cq.Next(&got, &ok)) {
  }
  return result;
}

class MalformedRequestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { shared_ = new TestServer(StartServing(TestConfig())); }
  static void TearDownTestSuite() { delete shared_; }

  const std::shared_ptr<grpc::Channel>& channel() { return shared_->channel; }

  void ExpectUnaryInvalid(const std::string& method, const std::string& request, const std::string& message) {
    grpc::Status s = RawUnary(channel(), method, request, nullptr);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << method << ": " << s.error_message();
    EXPECT_EQ(s.error_message(), message) << method;
  }

  static TestServer* shared_;
};

TestServer* MalformedRequestTest::shared_ = nullptr;

TEST_F(MalformedRequestTest, EncodeWithInvalidUtf8NamesTheField) {
  v1::EncodeRequest request = ThreeTexts();
  request.mutable_inputs(2)->mutable_text()->set_text(kBad);
  ExpectUnaryInvalid(kEncode, Bytes(request), "inputs[2].text.text: not valid UTF-8");

  request = ThreeTexts();
  request.mutable_inputs(0)->mutable_text()->set_text_pair(kBadSequence);
  ExpectUnaryInvalid(kEncode, Bytes(request), "inputs[0].text.text_pair: not valid UTF-8");

  request = ThreeTexts();
  request.mutable_inputs(1)->set_id(kBad);
  ExpectUnaryInvalid(kEncode, Bytes(request), "inputs[1].id: not valid UTF-8");

  // The typed C++ stub sends such a request too (protobuf only logs); the answer is the same.
  request = ThreeTexts();
  request.mutable_inputs(2)->mutable_text()->set_text(kBad);
  v1::EncodeResponse response;
  grpc::Status s = shared_->stub->Encode(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "inputs[2].text.text: not valid UTF-8");

  // Raw bytes that parse are served as usual.
  std::string reply;
  ASSERT_TRUE(RawUnary(channel(), kEncode, Bytes(ThreeTexts()), &reply).ok());
  ASSERT_TRUE(response.ParseFromString(reply));
  ASSERT_EQ(response.outputs_size(), 3);
  EXPECT_EQ(response.outputs(2).id(), "three");
  EXPECT_THAT(response.outputs(2).tokens(), ElementsAre("[CLS]", "three", "[SEP]"));
}

TEST_F(MalformedRequestTest, TokenizeWithInvalidUtf8NamesTheField) {
  v1::TokenizeRequest request;
  request.set_text(kBad);
  ExpectUnaryInvalid(kTokenize, Bytes(request), "text: not valid UTF-8");
  request.set_text("fine");
  request.set_text_pair(kBadSequence);
  ExpectUnaryInvalid(kTokenize, Bytes(request), "text_pair: not valid UTF-8");

  request.set_text_pair("also fine");
  std::string reply;
  ASSERT_TRUE(RawUnary(channel(), kTokenize, Bytes(request), &reply).ok());
  v1::TokenizeResponse response;
  ASSERT_TRUE(response.ParseFromString(reply));
  EXPECT_THAT(response.tokens(), ElementsAre("[CLS]", "fine", "[SEP]", "also", "fine", "[SEP]"));
}

TEST_F(MalformedRequestTest, GarbageIsInvalidArgumentForEveryUnaryMethod) {
  for (const std::string& garbage : Garbage()) {
    ExpectUnaryInvalid(kEncode, garbage, "request is not a valid qkv.v1.EncodeRequest");
    ExpectUnaryInvalid(kTokenize, garbage, "request is not a valid qkv.v1.TokenizeRequest");
    ExpectUnaryInvalid(kGetModelInfo, garbage, "request is not a valid qkv.v1.GetModelInfoRequest");
  }
  std::string reply;
  ASSERT_TRUE(RawUnary(channel(), kGetModelInfo, "", &reply).ok());
  v1::GetModelInfoResponse info;
  ASSERT_TRUE(info.ParseFromString(reply));
  EXPECT_EQ(info.model(), "bert-tiny-random");
}

// Every request of a stream is answered, in order: the unparsable ones with INVALID_ARGUMENT naming the
// field (and their request_id when it is valid UTF-8), the others as usual.
TEST_F(MalformedRequestTest, StreamAnswersUnparsableRequestsInPlaceAndGoesOn) {
  auto ok_request = [](const std::string& id, int32_t token) {
    v1::EncodeStreamRequest request;
    request.set_request_id(id);
    *request.mutable_request() = IdsRequest({{101, token, 102}});
    return Bytes(request);
  };
  std::vector<std::string> requests;
  requests.push_back(ok_request("r0", 2000));
  {
    v1::EncodeStreamRequest bad_text;
    bad_text.set_request_id("r1");
    *bad_text.mutable_request() = ThreeTexts();
    bad_text.mutable_request()->mutable_inputs(2)->mutable_text()->set_text(kBad);
    requests.push_back(Bytes(bad_text));
  }
  requests.push_back(ok_request("r2", 2002));
  requests.push_back(Garbage()[0]);
  {
    v1::EncodeStreamRequest bad_id;
    bad_id.set_request_id(kBad);
    *bad_id.mutable_request() = ThreeTexts();
    requests.push_back(Bytes(bad_id));
  }
  {
    v1::EncodeStreamRequest invalid_ids;  // parses, fails validation
    invalid_ids.set_request_id("r5");
    *invalid_ids.mutable_request() = IdsRequest({{101, 99999}});
    requests.push_back(Bytes(invalid_ids));
  }
  requests.push_back(ok_request("r6", 2006));

  StreamResult result = RawStream(channel(), requests);
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(result.responses.size(), requests.size());
  std::vector<std::pair<std::string, int>> got;
  for (const v1::EncodeStreamResponse& r : result.responses) got.emplace_back(r.request_id(), r.code());
  const int kInvalid = static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT);
  using P = std::pair<std::string, int>;
  EXPECT_THAT(got, ElementsAre(P{"r0", 0}, P{"r1", kInvalid}, P{"r2", 0}, P{"", kInvalid}, P{"", kInvalid},
                               P{"r5", kInvalid}, P{"r6", 0}));
  EXPECT_EQ(result.responses[1].message(), "request.inputs[2].text.text: not valid UTF-8");
  EXPECT_EQ(result.responses[3].message(), "request is not a valid qkv.v1.EncodeStreamRequest");
  EXPECT_EQ(result.responses[4].message(), "request_id: not valid UTF-8");
  EXPECT_THAT(result.responses[5].message(), HasSubstr("inputs[0].ids.ids[1]: id 99999 out of range"));
  for (int i : {1, 3, 4, 5}) EXPECT_FALSE(result.responses[i].has_response()) << i;
  for (int i : {0, 2, 6}) {
    ASSERT_EQ(result.responses[i].response().outputs_size(), 1) << i;
    EXPECT_EQ(result.responses[i].response().outputs(0).ids(1), 2000 + i);
  }
}

// With a window of one, a bad request answered at once on the reading thread still keeps the order.
TEST(MalformedStreamTest, WindowOfOneKeepsOrderAroundBadRequests) {
  ServerConfig config = TestConfig();
  config.max_stream_in_flight = 1;
  TestServer t = StartServing(config);
  std::vector<std::string> requests;
  for (int i = 0; i < 20; ++i) {
    if (i % 3 == 1) {
      requests.push_back(Garbage()[i % Garbage().size()]);
      continue;
    }
    v1::EncodeStreamRequest request;
    request.set_request_id("r" + std::to_string(i));
    *request.mutable_request() = IdsRequest({{101, 2000 + i, 102}});
    requests.push_back(Bytes(request));
  }
  StreamResult result = RawStream(t.channel, requests);
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(result.responses.size(), requests.size());
  for (int i = 0; i < 20; ++i) {
    const v1::EncodeStreamResponse& r = result.responses[i];
    if (i % 3 == 1) {
      EXPECT_EQ(r.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT)) << i;
      EXPECT_EQ(r.request_id(), "") << i;
    } else {
      EXPECT_EQ(r.code(), 0) << i << ": " << r.message();
      EXPECT_EQ(r.request_id(), "r" + std::to_string(i));
      ASSERT_EQ(r.response().outputs_size(), 1) << i;
      EXPECT_EQ(r.response().outputs(0).ids(1), 2000 + i);
    }
  }
}

}  // namespace
}  // namespace qkv
