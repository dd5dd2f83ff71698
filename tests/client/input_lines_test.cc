// ReadInputLines: the bulk input of `qkv encode --file`.
#include "client/input_lines.h"

#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace qkv {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<std::vector<std::string>> Read(const std::string& text) {
  std::istringstream in(text);
  return ReadInputLines(in, "texts.txt");
}

TEST(InputLinesTest, SplitsLinesDropsCarriageReturnsAndKeepsALastLineWithoutNewline) {
  absl::StatusOr<std::vector<std::string>> lines = Read("first\r\n\nthird\rx\nlast");
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_THAT(*lines, ElementsAre("first", "", "third\rx", "last"));
}

TEST(InputLinesTest, EmptyInputAndInvalidUtf8NameTheSourceAndLine) {
  absl::StatusOr<std::vector<std::string>> lines = Read("");
  EXPECT_EQ(lines.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(lines.status().message()), HasSubstr("texts.txt has no lines"));

  lines = Read("ok\nstill ok\n\xc0\xaf overlong\n");
  EXPECT_EQ(lines.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(lines.status().message()), HasSubstr("texts.txt: line 3 is not valid UTF-8"));
}

}  // namespace
}  // namespace qkv
