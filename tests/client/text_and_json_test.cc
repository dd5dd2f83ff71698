// text_util (UTF-8, display width, sanitizing) and JsonWriter (checked by parsing with nlohmann::json).
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "client/json_writer.h"
#include "client/text_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace qkv {
namespace {

using ::testing::ElementsAre;

TEST(TextUtilTest, DecodeUtf8ReplacesInvalidSequences) {
  EXPECT_THAT(Utf8ToCodePoints("a\xC3\xA9"), ElementsAre(U'a', U'\u00E9'));
  EXPECT_THAT(Utf8ToCodePoints("\xE4\xB8\xAD"), ElementsAre(U'\u4E2D'));
  EXPECT_THAT(Utf8ToCodePoints("\xF0\x9F\x98\x80"), ElementsAre(U'\U0001F600'));
  EXPECT_THAT(Utf8ToCodePoints("\xFF"
                               "a"),
              ElementsAre(U'\uFFFD', U'a'));                              // invalid lead byte
  EXPECT_THAT(Utf8ToCodePoints("\xC3"), ElementsAre(U'\uFFFD'));          // truncated
  EXPECT_THAT(Utf8ToCodePoints("\xC0\xAF"), ElementsAre(U'\uFFFD'));      // overlong '/'
  EXPECT_THAT(Utf8ToCodePoints("\xED\xA0\x80"), ElementsAre(U'\uFFFD'));  // surrogate
}

TEST(TextUtilTest, IsValidUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80 \uFFFD"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE4\xB8"));
}

TEST(TextUtilTest, AppendUtf8RoundTrips) {
  for (char32_t cp : {U'a', U'\u00E9', U'\u4E2D', U'\U0001F600'}) {
    std::string s;
    AppendUtf8(cp, &s);
    EXPECT_THAT(Utf8ToCodePoints(s), ElementsAre(cp));
  }
}

TEST(TextUtilTest, DisplayWidthCountsWideAndCombining) {
  EXPECT_EQ(DisplayWidth("hello"), 5);
  EXPECT_EQ(DisplayWidth("\u4E2D\u6587"), 4);  // two CJK ideographs
  EXPECT_EQ(DisplayWidth("e\u0301"), 1);       // e + combining acute
}

TEST(TextUtilTest, SanitizeRemovesControlAndEscapeSequences) {
  const std::string s = SanitizeForDisplay("ok\x1b[31mred\x07\n\xFF");
  EXPECT_EQ(s.find('\x1b'), std::string::npos);
  EXPECT_EQ(s.find('\x07'), std::string::npos);
  EXPECT_EQ(s.find('\n'), std::string::npos);
  EXPECT_EQ(s, "ok\uFFFD[31mred\uFFFD\uFFFD\uFFFD");
}

TEST(TextUtilTest, TruncateAndPad) {
  EXPECT_EQ(TruncateToWidth("short", 10), "short");
  EXPECT_EQ(TruncateToWidth("abcdefghij", 5), "abcd\u2026");
  EXPECT_EQ(DisplayWidth(TruncateToWidth("\u4E2D\u4E2D\u4E2D\u4E2D", 5)), 5);
  EXPECT_EQ(PadToWidth("ab", 4), "ab  ");
  EXPECT_EQ(PadToWidth("abcdef", 4), "abcdef");
}

TEST(TextUtilTest, XmlEscape) {
  EXPECT_EQ(XmlEscape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
}

TEST(JsonWriterTest, NestedStructureParses) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("model");
  w.String("tiny \"bert\"\n\\");
  w.Key("ids");
  w.IntArray(std::vector<int32_t>{101, 7592, 102});
  w.Key("empty");
  w.BeginArray();
  w.EndArray();
  w.Key("nested");
  w.BeginArray();
  w.BeginObject();
  w.Key("ok");
  w.Bool(true);
  w.Key("none");
  w.Null();
  w.EndObject();
  w.Int(-3);
  w.EndArray();
  w.EndObject();
  const nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["model"], "tiny \"bert\"\n\\");
  EXPECT_EQ(j["ids"], nlohmann::json({101, 7592, 102}));
  EXPECT_TRUE(j["empty"].empty());
  EXPECT_EQ(j["nested"][0]["ok"], true);
  EXPECT_TRUE(j["nested"][0]["none"].is_null());
  EXPECT_EQ(j["nested"][1], -3);
}

TEST(JsonWriterTest, FloatsRoundTripExactlyAndNonFiniteIsNull) {
  const std::vector<float> values = {0.1f, -1e-30f, 3.4028235e38f, 1.0f / 3.0f, 0.0f, -0.0f, 123456.789f};
  std::string out;
  JsonWriter w(&out);
  w.BeginArray();
  w.FloatArray(values);
  w.Float(std::numeric_limits<float>::quiet_NaN());
  w.Float(std::numeric_limits<float>::infinity());
  w.Double(0.1);
  w.EndArray();
  const nlohmann::json j = nlohmann::json::parse(out);
  ASSERT_EQ(j[0].size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(static_cast<float>(j[0][i].get<double>()), values[i]) << i;
  }
  EXPECT_TRUE(j[1].is_null());
  EXPECT_TRUE(j[2].is_null());
  EXPECT_EQ(j[3].get<double>(), 0.1);
  // Shortest form: 0.1f is written as 0.1, not 0.10000000149011612.
  EXPECT_EQ(out.substr(0, 6), "[[0.1,");
}

TEST(JsonWriterTest, QuoteProducesValidUtf8AndEscapesControls) {
  const std::string q = JsonQuote("a\x01\xFF\u00E9");
  EXPECT_EQ(q, "\"a\\u0001\uFFFD\u00E9\"");
  EXPECT_EQ(nlohmann::json::parse(q).get<std::string>(), "a\x01\uFFFD\u00E9");
}

}  // namespace
}  // namespace qkv
