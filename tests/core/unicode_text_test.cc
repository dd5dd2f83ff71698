// Tests for core/unicode_text.h: the character classes, accent stripping and lowercasing of Hugging Face
// tokenizers, where they differ from ICU (core/unicode_hf_tables.inc) and where ICU gives them. The
// exhaustive comparison with the reference is tests/parity (ctest qkv_tokenizer_parity).
#include "core/unicode_text.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace qkv {
namespace {

using ::testing::ElementsAre;

// The code points of `text`, each with a one-byte range [i, i + 1) so that tests can follow where an
// output character came from.
std::vector<Utf8Char> Chars(const std::u32string& text) {
  std::vector<Utf8Char> chars;
  for (size_t i = 0; i < text.size(); ++i) {
    chars.push_back({text[i], static_cast<int32_t>(i), static_cast<int32_t>(i + 1)});
  }
  return chars;
}

std::u32string CodePoints(const std::vector<Utf8Char>& chars) {
  std::u32string out;
  for (const Utf8Char& c : chars) out.push_back(c.code_point);
  return out;
}

std::vector<std::pair<int32_t, int32_t>> Ranges(const std::vector<Utf8Char>& chars) {
  std::vector<std::pair<int32_t, int32_t>> out;
  for (const Utf8Char& c : chars) out.emplace_back(c.begin, c.end);
  return out;
}

TEST(UnicodeTextTest, ControlsAreHfIsOtherWithoutUnassigned) {
  for (char32_t c : {U'\0', U'\x01', U'\x7F', U'\x85', U'\u00AD', U'\u200B', U'\uFEFF', U'\uE000',
                     U'\U000E0001', U'\U0010FFFD'}) {
    EXPECT_TRUE(IsBertControl(c)) << std::hex << static_cast<uint32_t>(c);
  }
  // \t \n \r are whitespace; unassigned code points (U+0378, U+0E3B, U+FFF0, U+50000) are not "other" in
  // HF's tables, so they stay in their words; U+0890 (Cf since Unicode 14) is newer than HF's tables.
  for (char32_t c :
       {U'\t', U'\n', U'\r', U'a', U'\u0378', U'\u0E3B', U'\uFFF0', U'\U00050000', U'\u0890', U'\uFFFD'}) {
    EXPECT_FALSE(IsBertControl(c)) << std::hex << static_cast<uint32_t>(c);
  }
}

TEST(UnicodeTextTest, WhitespaceIsTheWhiteSpaceProperty) {
  for (char32_t c : {U' ', U'\t', U'\n', U'\v', U'\f', U'\r', U'\x85', U'\u00A0', U'\u1680', U'\u2000',
                     U'\u2028', U'\u2029', U'\u202F', U'\u3000'}) {
    EXPECT_TRUE(IsBertWhitespace(c)) << std::hex << static_cast<uint32_t>(c);
  }
  for (char32_t c : {U'\x1C', U'\x1F', U'\u180E', U'\u200B', U'\uFEFF', U'a'}) {
    EXPECT_FALSE(IsBertWhitespace(c)) << std::hex << static_cast<uint32_t>(c);
  }
}

TEST(UnicodeTextTest, PunctuationFollowsHfTables) {
  for (char32_t c : {U'!', U'$', U'^', U'`', U'~', U'\u00BF', U'\u2014', U'\u3001'}) {
    EXPECT_TRUE(IsBertPunctuation(c)) << std::hex << static_cast<uint32_t>(c);
  }
  // Punctuation newer than HF's tables (U+061D Arabic end of text mark, U+2E52, U+1E95E) is not.
  for (char32_t c : {U'a', U'\u20AC', U'\u061D', U'\u2E52', U'\U0001E95E'}) {
    EXPECT_FALSE(IsBertPunctuation(c)) << std::hex << static_cast<uint32_t>(c);
  }
}

TEST(UnicodeTextTest, CjkRangesAreHfs) {
  EXPECT_TRUE(IsCjkIdeograph(U'\u4E00'));
  EXPECT_TRUE(IsCjkIdeograph(U'\uF900'));
  EXPECT_TRUE(IsCjkIdeograph(U'\U00020000'));
  EXPECT_TRUE(IsCjkIdeograph(U'\U0002B920'));
  // HF's list skips U+2B820..U+2B91F (part of Extension E) and has no Extension G (U+30000).
  EXPECT_FALSE(IsCjkIdeograph(U'\U0002B820'));
  EXPECT_FALSE(IsCjkIdeograph(U'\U00030000'));
  EXPECT_FALSE(IsCjkIdeograph(U'\u3042'));  // Hiragana
}

TEST(UnicodeTextTest, StripAccentsDecomposesOrdersAndDropsMn) {
  std::vector<Utf8Char> text = Chars(U"\u00E9t\u00C5\u1E09");
  StripAccents(&text);
  EXPECT_EQ(CodePoints(text), U"etAc");
  EXPECT_THAT(Ranges(text), ElementsAre(std::pair(0, 1), std::pair(1, 2), std::pair(2, 3), std::pair(3, 4)));

  // Hangul syllables decompose into jamo, which are letters.
  text = Chars(U"\uD55C");
  StripAccents(&text);
  EXPECT_EQ(CodePoints(text), U"\u1112\u1161\u11AB");

  // Mc marks stay, in canonical order: U+302E (class 224) moves before U+1DD3 (230, Mn, dropped) but not
  // before U+1D180 (220); the moved character takes the range of the position it moved to, as HF's
  // alignments do.
  text = Chars(U"a\U0001D180\u1DD3\u302E");
  StripAccents(&text);
  EXPECT_EQ(CodePoints(text), U"a\u302E");
  EXPECT_THAT(Ranges(text), ElementsAre(std::pair(0, 1), std::pair(2, 3)));

  // Marks newer than HF's tables are not Mn there (U+1AC0) and U+11938 does not decompose.
  text = Chars(U"a\u1AC0\U00011938");
  StripAccents(&text);
  EXPECT_EQ(CodePoints(text), U"a\u1AC0\U00011938");
}

TEST(UnicodeTextTest, StripAccentsOrdersALongRunOfMarks) {
  std::u32string marks(200000, U'\u0316');
  for (size_t i = 0; i < marks.size(); i += 2) marks[i] = U'\U0001D165';  // Mc, class 216: kept
  std::vector<Utf8Char> text = Chars(U"a" + marks);
  StripAccents(&text);
  ASSERT_EQ(text.size(), 1 + marks.size() / 2);
  EXPECT_EQ(text[1].code_point, U'\U0001D165');
}

TEST(UnicodeTextTest, LowercaseIsRustToLowercase) {
  std::vector<Utf8Char> text = Chars(U"A\u0130\u03A3\u1E9E\u212A");
  Lowercase(&text);
  EXPECT_EQ(CodePoints(text), U"ai\u0307\u03C3\u00DFk");
  EXPECT_THAT(Ranges(text), ElementsAre(std::pair(0, 1), std::pair(1, 2), std::pair(1, 2), std::pair(2, 3),
                                        std::pair(3, 4), std::pair(4, 5)));
  // Case pairs newer than ICU 72 (Unicode 16: U+A7CB -> U+0264, Garay U+10D50 -> U+10D70).
  text = Chars(U"\uA7CB\U00010D50");
  Lowercase(&text);
  EXPECT_EQ(CodePoints(text), U"\u0264\U00010D70");
}

}  // namespace
}  // namespace qkv
