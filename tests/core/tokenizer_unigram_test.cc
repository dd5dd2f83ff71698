// Tests for the Unigram pipeline (core/unigram_model.h, core/precompiled_normalizer.h, core/normalizers.h,
// core/metaspace.h) with TemplateProcessing: goldens from Hugging Face tokenizers (@anush008/tokenizers
// 0.6.0) on tests/data/tokenizers/xlmr-unigram-tiny, byte offsets of the original text. The full-corpus
// comparison is tests/parity.
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/metaspace.h"
#include "core/normalizers.h"
#include "core/precompiled_normalizer.h"
#include "core/tokenizer.h"
#include "core/unigram_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/char_string_util.h"

namespace qkv {
namespace {

using ::testing::ElementsAre;
using Offsets = std::vector<std::pair<int32_t, int32_t>>;

const std::string kUnigramDir = std::string(QKV_SOURCE_DIR) + "/tests/data/tokenizers/xlmr-unigram-tiny";

using testing_util::Chars;
using testing_util::Text;

TEST(UnigramModelTest, ViterbiPicksTheBestSegmentation) {
  absl::StatusOr<std::unique_ptr<UnigramModel>> model = UnigramModel::Create(
      {{"<unk>", 0.0}, {"a", -1.0}, {"b", -1.0}, {"ab", -1.5}, {"abc", -4.0}, {"c", -2.0}}, 0,
      /*byte_fallback=*/false);
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<TokenPiece> pieces;
  (*model)->Tokenize(Chars(U"abc"), &pieces);  // ab + c (-3.5) beats abc (-4) and a + b + c (-4)
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].id, 3);
  EXPECT_EQ(pieces[1].id, 5);
  // Unknown characters fuse into one <unk>.
  pieces.clear();
  (*model)->Tokenize(Chars(U"a??b"), &pieces);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[1].id, 0);
  EXPECT_EQ(pieces[1].begin, 1);
  EXPECT_EQ(pieces[1].end, 3);
  EXPECT_EQ(UnigramModel::Create({{"a", 0.0}}, 3, false).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(NormalizerTest, ReplaceAlignsWithTheLastMatchedCharacter) {
  absl::StatusOr<std::unique_ptr<ReplaceNormalizer>> replace = ReplaceNormalizer::Create(" {2,}", true, " ");
  ASSERT_TRUE(replace.ok()) << replace.status();
  CharString text = Chars(U"a   b c");
  (*replace)->Normalize(&text);
  EXPECT_EQ(Text(text), U"a b c");
  EXPECT_EQ(text[1].begin, 3);
  EXPECT_EQ(ReplaceNormalizer::Create("(", true, "").status().code(), absl::StatusCode::kInvalidArgument);
  replace = ReplaceNormalizer::Create("ab", false, "x");
  ASSERT_TRUE(replace.ok()) << replace.status();
  text = Chars(U"aabab");
  (*replace)->Normalize(&text);
  EXPECT_EQ(Text(text), U"axx");
}

TEST(MetaspaceTest, ReplacesSpacesAndSplitsBeforeThem) {
  const MetaspacePreTokenizer metaspace(U'\u2581', PrependScheme::kAlways, true);
  std::vector<CharString> words;
  metaspace.Split(Chars(U"Hey  you"), true, &words);
  ASSERT_EQ(words.size(), 3u);
  EXPECT_EQ(Text(words[0]), U"\u2581Hey");
  EXPECT_EQ(Text(words[1]), U"\u2581");
  EXPECT_EQ(Text(words[2]), U"\u2581you");
  const MetaspacePreTokenizer first(U'\u2581', PrependScheme::kFirst, true);
  first.Split(Chars(U"x"), false, &words);
  ASSERT_EQ(words.size(), 1u);
  EXPECT_EQ(Text(words[0]), U"x");
}

TEST(UnigramTokenizerTest, MatchesHuggingFace) {
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromModelDirectory(kUnigramDir);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ(tokenizer->model_type(), "Unigram");
  EXPECT_EQ(tokenizer->special_tokens().cls, 0);
  EXPECT_EQ(tokenizer->special_tokens().sep, 2);
  EXPECT_EQ(tokenizer->special_tokens().unk, 3);
  EXPECT_EQ(tokenizer->special_tokens().pad, 1);

  absl::StatusOr<Encoding> encoding = tokenizer->Encode("Hello world! It's 2024.");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 122, 29, 47, 50, 12, 43, 75, 4, 80, 48, 8, 44, 119, 2));
  EXPECT_EQ(encoding->offsets, (Offsets{{0, 0},
                                        {0, 5},
                                        {5, 7},
                                        {7, 8},
                                        {8, 9},
                                        {9, 10},
                                        {10, 11},
                                        {11, 12},
                                        {12, 13},
                                        {13, 14},
                                        {14, 15},
                                        {15, 16},
                                        {16, 17},
                                        {17, 23},
                                        {0, 0}}));

  encoding = tokenizer->EncodePair("hi <mask> there", "中文 😀");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 4, 284, 15, 288, 10, 50, 6, 2, 2, 4, 17, 30, 167, 2));
  EXPECT_EQ(encoding->offsets, (Offsets{{0, 0},
                                        {0, 1},
                                        {0, 1},
                                        {1, 2},
                                        {2, 9},
                                        {9, 13},
                                        {13, 14},
                                        {14, 15},
                                        {0, 0},
                                        {0, 0},
                                        {0, 3},
                                        {0, 3},
                                        {3, 6},
                                        {6, 11},
                                        {0, 0}}));
  EXPECT_THAT(encoding->type_ids, ElementsAre(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));

  // Precompiled (nmt_nfkc) maps tab and newline to spaces; Replace collapses the run into its last one.
  encoding = tokenizer->Encode("  a\t\n");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 37, 4, 2));
  EXPECT_EQ(encoding->offsets, (Offsets{{0, 0}, {1, 3}, {4, 5}, {0, 0}}));

  // "ﬁ" becomes "fi", both covering the ligature; fullwidth letters become ASCII.
  encoding = tokenizer->Encode("ﬁne Ａｂｃ");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 4, 280, 15, 13, 6, 4, 3, 69, 41, 2));
  EXPECT_EQ(
      encoding->offsets,
      (Offsets{{0, 0}, {0, 3}, {0, 3}, {0, 3}, {3, 4}, {4, 5}, {5, 6}, {6, 9}, {9, 12}, {12, 15}, {0, 0}}));

  // A combining accent composes with its letter (the grapheme is looked up whole).
  encoding = tokenizer->Encode("e\u0301   x");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 4, 282, 4, 23, 2));
  EXPECT_EQ(encoding->offsets, (Offsets{{0, 0}, {0, 1}, {0, 1}, {5, 6}, {6, 7}, {0, 0}}));

  encoding = tokenizer->EncodePair("Café straße", "x");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 121, 149, 2, 2, 4, 23, 2));
  EXPECT_EQ(encoding->offsets, (Offsets{{0, 0}, {0, 5}, {5, 13}, {0, 0}, {0, 0}, {0, 1}, {0, 1}, {0, 0}}));
}

}  // namespace
}  // namespace qkv
