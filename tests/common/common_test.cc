// qkv_common: the UTF-8 codec (both the strict and the lenient reading of bad bytes), whole-file reading
// and shape strings.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/shape_string.h"
#include "common/status_macros.h"
#include "common/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace qkv {
namespace {

struct DecodeCase {
  std::string bytes;
  char32_t code_point;
  int length;
  Utf8Error error;
};

TEST(Utf8Test, DecodesEachFormAndClassifiesEachError) {
  const std::vector<DecodeCase> cases = {
      {"a", U'a', 1, Utf8Error::kNone},
      {"\xC3\xA9", U'\u00E9', 2, Utf8Error::kNone},
      {"\xE4\xB8\xAD", U'\u4E2D', 3, Utf8Error::kNone},
      {"\xF0\x9F\x98\x80", U'\U0001F600', 4, Utf8Error::kNone},
      {"\xC0\xAF", 0xFFFD, 2, Utf8Error::kOverlongLead},
      {"\x80", 0xFFFD, 1, Utf8Error::kUnexpectedContinuation},
      {"\xF5\x80\x80\x80", 0xFFFD, 4, Utf8Error::kInvalidLead},
      {"\xFF\x80", 0xFFFD, 1, Utf8Error::kInvalidLead},
      {"\xE4\xB8", 0xFFFD, 2, Utf8Error::kTruncated},
      {"\xE4"
       "a",
       0xFFFD, 1, Utf8Error::kTruncated},
      {"\xE0\x80\xAF", 0xFFFD, 3, Utf8Error::kOverlong},
      {"\xED\xA0\x80", 0xFFFD, 3, Utf8Error::kSurrogate},
      {"\xF4\x90\x80\x80", 0xFFFD, 4, Utf8Error::kAboveMax},
  };
  for (const DecodeCase& c : cases) {
    const Utf8Decoded d = DecodeUtf8At(c.bytes, 0);
    EXPECT_EQ(d.code_point, c.code_point) << testing::PrintToString(c.bytes);
    EXPECT_EQ(d.length, c.length) << testing::PrintToString(c.bytes);
    EXPECT_EQ(d.error, c.error) << testing::PrintToString(c.bytes);
    EXPECT_EQ(IsValidUtf8(c.bytes), c.error == Utf8Error::kNone) << testing::PrintToString(c.bytes);
  }
  EXPECT_STREQ(Utf8ErrorText(Utf8Error::kTruncated), "truncated sequence");
}

TEST(Utf8Test, AppendRoundTripsAndReplacesNonScalars) {
  for (char32_t cp : {U'a', U'\u00E9', U'\u4E2D', U'\U0001F600', U'\U0010FFFF'}) {
    std::string s;
    AppendUtf8(cp, &s);
    const Utf8Decoded d = DecodeUtf8At(s, 0);
    EXPECT_EQ(d.code_point, cp);
    EXPECT_EQ(d.length, static_cast<int>(s.size()));
  }
  std::string s;
  AppendUtf8(0xD800, &s);
  AppendUtf8(0x110000, &s);
  EXPECT_EQ(s, "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(FileUtilTest, ReadsBytesAndReportsMissingFiles) {
  const std::string path = testing::TempDir() + "/qkv_common_test_file";
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string("a\0b\r\n", 5);
  }
  absl::StatusOr<std::string> contents = ReadFileToString(path);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(*contents, std::string("a\0b\r\n", 5));
  std::remove(path.c_str());
  absl::StatusOr<std::string> missing = ReadFileToString(path);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), testing::HasSubstr(path));
}

TEST(FileUtilTest, StopsAtTheByteLimitWhileReading) {
  const std::string path = testing::TempDir() + "/qkv_common_test_limit";
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(100000, 'x');
  }
  absl::StatusOr<std::string> exact = ReadFileToString(path, 100000);
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->size(), 100000u);
  absl::StatusOr<std::string> over = ReadFileToString(path, 99999);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(over.status().message()), testing::HasSubstr("over the 99999-byte limit"));
  std::remove(path.c_str());
  // A device has no size to check up front: the limit is counted while reading.
  absl::StatusOr<std::string> endless = ReadFileToString("/dev/zero", 1 << 20);
  EXPECT_EQ(endless.status().code(), absl::StatusCode::kInvalidArgument);
  // A directory opens but cannot be read.
  EXPECT_EQ(ReadFileToString(testing::TempDir()).status().code(), absl::StatusCode::kDataLoss);
}

TEST(ShapeStringTest, Formats) {
  EXPECT_EQ(ShapeString({}), "[]");
  EXPECT_EQ(ShapeString({2, 128, 768}), "[2, 128, 768]");
}

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return absl::InvalidArgumentError("odd");
  return n / 2;
}

absl::StatusOr<int> Quarter(int n) {
  QKV_ASSIGN_OR_RETURN(const int half, Half(n));
  QKV_ASSIGN_OR_RETURN(const int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int n) {
  QKV_RETURN_IF_ERROR(Half(n).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, PropagateTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().message(), "odd");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(3).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace qkv
