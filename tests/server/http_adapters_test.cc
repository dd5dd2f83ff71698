// The HTTP adapters as pure functions: JSON bodies to qkv.v1 requests, qkv.v1 responses to the OpenAI and
// TEI shapes, and the one status mapping. The routes over a real server are tested in http_api_test.sh.
#include <cmath>
#include <cstring>
#include <string>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_error.h"
#include "server/http/json_body.h"
#include "server/http/openai_api.h"
#include "server/http/tei_api.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

v1::EncodeResponse PooledResponse(std::vector<std::vector<float>> vectors, int64_t tokens) {
  v1::EncodeResponse response;
  for (const auto& v : vectors) {
    v1::Tensor* pooled = response.add_outputs()->mutable_pooled();
    pooled->add_shape(static_cast<int64_t>(v.size()));
    pooled->mutable_values()->Assign(v.begin(), v.end());
  }
  response.set_input_tokens(tokens);
  return response;
}

TEST(JsonBody, ParsesObjectsAndRefusesEverythingElseWith400) {
  EXPECT_TRUE(ParseJsonObject(R"({"a": [1, 2]})").ok());
  for (const char* bad : {"", "{", "[1]", "\"s\"", "{\"a\": }", "nul", "{\"a\":1} x"}) {
    absl::StatusOr<json> parsed = ParseJsonObject(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(HttpStatusFor(parsed.status()), 400) << bad;
  }
}

TEST(JsonBody, DeepNestingIsRefusedBeforeParsing) {
  const std::string deep = "{\"a\":" + std::string(1 << 20, '[') + std::string(1 << 20, ']') + "}";
  absl::StatusOr<json> parsed = ParseJsonObject(deep);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(HttpStatusFor(parsed.status()), 400);
  EXPECT_THAT(parsed.status().message(), HasSubstr("nested deeper"));
  // Brackets inside strings do not count.
  EXPECT_TRUE(ParseJsonObject("{\"a\": \"" + std::string(1000, '[') + "\"}").ok());
}

TEST(JsonBody, InputsInEveryShape) {
  struct Case {
    const char* input;
    int count;
    bool first_is_text;
  };
  for (const Case& c : {Case{R"("one")", 1, true}, Case{R"(["a", "b", "c"])", 3, true},
                        Case{R"([101, 2000, 102])", 1, false}, Case{R"([[101, 102], [101, 7, 102]])", 2, false},
                        Case{R"(["a", [101, 102]])", 2, true}}) {
    v1::EncodeRequest request;
    ASSERT_TRUE(AppendInputs(json::parse(c.input), "input", &request).ok()) << c.input;
    EXPECT_EQ(request.inputs_size(), c.count) << c.input;
    EXPECT_EQ(request.inputs(0).has_text(), c.first_is_text) << c.input;
  }
  v1::EncodeRequest request;
  ASSERT_TRUE(AppendInputs(json::parse("[101, 2000, 102]"), "input", &request).ok());
  EXPECT_THAT(request.inputs(0).ids().ids(), ::testing::ElementsAre(101, 2000, 102));
}

TEST(JsonBody, BadInputsName400AndTheParam) {
  for (const char* bad : {"3", "{}", "[]", "[1.5]", "[\"a\", 3]", "[[1, \"x\"]]", "[4294967296]", "null"}) {
    v1::EncodeRequest request;
    absl::Status status = AppendInputs(json::parse(bad), "input", &request);
    ASSERT_FALSE(status.ok()) << bad;
    EXPECT_EQ(HttpStatusFor(status), 400) << bad;
    EXPECT_THAT(ErrorParam(status), HasSubstr("input")) << bad;
  }
}

TEST(HttpError, OneMapping) {
  EXPECT_EQ(HttpStatusFor(absl::OkStatus()), 200);
  EXPECT_EQ(HttpStatusFor(absl::InvalidArgumentError("x")), 422);
  EXPECT_EQ(HttpStatusFor(absl::UnauthenticatedError("x")), 401);
  EXPECT_EQ(HttpStatusFor(absl::ResourceExhaustedError("x")), 429);
  EXPECT_EQ(HttpStatusFor(BodyTooLarge(10, 5)), 413);
  EXPECT_EQ(HttpStatusFor(absl::CancelledError("x")), 499);
  EXPECT_EQ(HttpStatusFor(absl::DeadlineExceededError("x")), 504);
  EXPECT_EQ(HttpStatusFor(absl::UnavailableError("x")), 503);
  EXPECT_EQ(HttpStatusFor(absl::InternalError("x")), 500);
  EXPECT_EQ(CodeName(absl::StatusCode::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(CodeName(absl::StatusCode::kCancelled), "canceled");
}

TEST(OpenAi, ParsesTheRequest) {
  absl::StatusOr<OpenAiEmbeddingsRequest> r = ParseOpenAiEmbeddings(
      json::parse(R"({"input": ["a", "b"], "model": "m", "encoding_format": "base64", "dimensions": 3,
                      "user": "u"})"),
      "m", 8);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->encode.inputs_size(), 2);
  EXPECT_TRUE(r->base64);
  EXPECT_EQ(r->dimensions, 3);
  EXPECT_EQ(r->encode.options().truncation(), v1::TRUNCATION_REJECT);
  EXPECT_FALSE(r->encode.options().has_normalize());  // the model's default, as gRPC's default options
}

TEST(OpenAi, RefusesBadFieldsNamingThem) {
  struct Case {
    const char* body;
    int status;
    const char* param;
  };
  for (const Case& c : {Case{R"({})", 400, "input"}, Case{R"({"input": "a", "model": "other"})", 404, "model"},
                        Case{R"({"input": "a", "model": 3})", 400, "model"},
                        Case{R"({"input": "a", "encoding_format": "int8"})", 400, "encoding_format"},
                        Case{R"({"input": "a", "dimensions": 0})", 400, "dimensions"},
                        Case{R"({"input": "a", "dimensions": 9})", 400, "dimensions"},
                        Case{R"({"input": "a", "temperature": 1})", 400, "temperature"},
                        Case{R"({"input": []})", 400, "input"}}) {
    absl::StatusOr<OpenAiEmbeddingsRequest> r = ParseOpenAiEmbeddings(json::parse(c.body), "m", 8);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(HttpStatusFor(r.status()), c.status) << c.body;
    const json error = OpenAiError(r.status());
    EXPECT_EQ(error["error"]["param"], c.param) << c.body;
    EXPECT_TRUE(error["error"]["message"].is_string());
    EXPECT_TRUE(error["error"]["type"].is_string());
  }
}

TEST(OpenAi, ResponseShapeFloatAndBase64) {
  OpenAiEmbeddingsRequest request;
  const v1::EncodeResponse response = PooledResponse({{0.6f, 0.8f, 0.0f}, {1.0f, 0.0f, 0.0f}}, 7);
  absl::StatusOr<json> body = OpenAiEmbeddingsResponse(request, response, "m");
  ASSERT_TRUE(body.ok());
  EXPECT_EQ((*body)["object"], "list");
  EXPECT_EQ((*body)["model"], "m");
  EXPECT_EQ((*body)["usage"]["prompt_tokens"], 7);
  EXPECT_EQ((*body)["usage"]["total_tokens"], 7);
  ASSERT_EQ((*body)["data"].size(), 2u);
  EXPECT_EQ((*body)["data"][1]["index"], 1);
  EXPECT_EQ((*body)["data"][0]["object"], "embedding");
  EXPECT_EQ((*body)["data"][0]["embedding"].get<std::vector<float>>(), std::vector<float>({0.6f, 0.8f, 0.0f}));

  request.base64 = true;
  body = OpenAiEmbeddingsResponse(request, response, "m");
  ASSERT_TRUE(body.ok());
  std::string bytes;
  ASSERT_TRUE(absl::Base64Unescape((*body)["data"][0]["embedding"].get<std::string>(), &bytes));
  ASSERT_EQ(bytes.size(), 3 * sizeof(float));
  float decoded[3];
  std::memcpy(decoded, bytes.data(), bytes.size());
  EXPECT_EQ(decoded[0], 0.6f);
  EXPECT_EQ(decoded[1], 0.8f);
}

TEST(OpenAi, DimensionsTruncateAndRenormalize) {
  OpenAiEmbeddingsRequest request;
  request.dimensions = 2;
  absl::StatusOr<json> body =
      OpenAiEmbeddingsResponse(request, PooledResponse({{3.0f, 4.0f, 12.0f}}, 3), "m");
  ASSERT_TRUE(body.ok());
  const std::vector<float> v = (*body)["data"][0]["embedding"].get<std::vector<float>>();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NEAR(v[0], 0.6f, 1e-7);
  EXPECT_NEAR(v[1], 0.8f, 1e-7);
}

TEST(Tei, EmbedDefaultsAndOptions) {
  absl::StatusOr<TeiEmbedRequest> r = ParseTeiEmbed(json::parse(R"({"inputs": "a"})"), false, 8);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->encode.options().normalize());  // TEI normalizes by default
  EXPECT_EQ(r->encode.options().truncation(), v1::TRUNCATION_REJECT);
  r = ParseTeiEmbed(json::parse(R"({"inputs": ["a"], "normalize": false, "truncate": true,
                                     "truncation_direction": "Right", "unknown": 1})"),
                    false, 8);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->encode.options().normalize());
  EXPECT_EQ(r->encode.options().truncation(), v1::TRUNCATION_TRUNCATE);

  r = ParseTeiEmbed(json::parse(R"({"inputs": "a"})"), true, 8);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->encode.options().return_token_vectors());
  EXPECT_EQ(r->encode.options().pooling(), v1::POOLING_NONE);
}

TEST(Tei, EmbedErrorsInTeisShape) {
  struct Case {
    const char* body;
    int status;
  };
  for (const Case& c : {Case{R"({})", 400}, Case{R"({"inputs": []})", 400}, Case{R"({"inputs": 1})", 400},
                        Case{R"({"inputs": "a", "truncate": "yes"})", 400},
                        Case{R"({"inputs": "a", "truncation_direction": "left"})", 422},
                        Case{R"({"inputs": "a", "dimensions": 99})", 400}}) {
    absl::StatusOr<TeiEmbedRequest> r = ParseTeiEmbed(json::parse(c.body), false, 8);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(HttpStatusFor(r.status()), c.status) << c.body;
    const json error = TeiError(r.status());
    EXPECT_TRUE(error["error"].is_string());
    EXPECT_TRUE(error["error_type"].is_string());
  }
  EXPECT_EQ(TeiError(absl::ResourceExhaustedError("full"))["error_type"], "Overloaded");
  EXPECT_EQ(TeiError(absl::InvalidArgumentError("long"))["error_type"], "Validation");
  EXPECT_EQ(TeiError(absl::UnavailableError("drain"))["error_type"], "Unhealthy");
}

TEST(Tei, EmbedAndEmbedAllResponses) {
  TeiEmbedRequest request;
  absl::StatusOr<json> body = TeiEmbedResponse(request, PooledResponse({{1, 2}, {3, 4}}, 4));
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, json::parse("[[1.0, 2.0], [3.0, 4.0]]"));

  v1::EncodeResponse tokens;
  v1::Tensor* t = tokens.add_outputs()->mutable_token_vectors();
  t->add_shape(2);
  t->add_shape(3);
  for (float v : {1, 2, 3, 4, 5, 6}) t->add_values(v);
  body = TeiEmbedAllResponse(tokens);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, json::parse("[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]"));
}

TEST(Tei, TokenizeShapes) {
  absl::StatusOr<TeiTokenizeRequest> r = ParseTeiTokenize(json::parse(R"({"inputs": "héllo"})"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->texts.size(), 1u);
  v1::TokenizeResponse tok;
  for (int id : {101, 7592, 102}) tok.add_ids(id);
  for (const char* s : {"[CLS]", "hello", "[SEP]"}) tok.add_tokens(s);
  for (int b : {0, 0, 0}) tok.add_byte_begin(b);
  for (int e : {0, 6, 0}) tok.add_byte_end(e);
  for (bool s : {true, false, true}) tok.add_special(s);
  json body = TeiTokenizeResponse(*r, {tok});
  EXPECT_EQ(body[0].size(), 3u);
  EXPECT_EQ(body[0][1]["text"], "héllo");
  EXPECT_EQ(body[0][1]["start"], 0);
  EXPECT_EQ(body[0][1]["stop"], 6);
  EXPECT_TRUE(body[0][0]["start"].is_null());
  EXPECT_EQ(body[0][0]["text"], "[CLS]");

  r = ParseTeiTokenize(json::parse(R"({"inputs": ["héllo"], "add_special_tokens": false})"));
  ASSERT_TRUE(r.ok());
  body = TeiTokenizeResponse(*r, {tok});
  ASSERT_EQ(body[0].size(), 1u);
  EXPECT_EQ(body[0][0]["id"], 7592);

  EXPECT_EQ(HttpStatusFor(ParseTeiTokenize(json::parse(R"({"inputs": [1]})")).status()), 400);
  EXPECT_EQ(HttpStatusFor(ParseTeiTokenize(json::parse(R"({"inputs": []})")).status()), 400);
}

}  // namespace
}  // namespace qkv
