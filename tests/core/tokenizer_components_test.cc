// Tests for the tokenizer.json components real Hugging Face files use beyond the fixtures: added tokens'
// lstrip / rstrip / single_word / normalized (core/added_tokens.h, in WordPiece and pipeline tokenizers),
// the normalizers (core/normalizers.h, core/unicode_normalizers.h), the pre-tokenizers
// (core/pre_tokenizers.h) and the errors that name what qkv refuses. Expectations are Hugging Face
// tokenizers' (@anush008/tokenizers 0.6.0: normalizeString, preTokenizeString, encode); the full-corpus
// comparison is tests/parity.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/added_tokens.h"
#include "core/normalizers.h"
#include "core/pre_tokenizers.h"
#include "core/tokenizer.h"
#include "core/unicode_normalizers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/char_string_util.h"

namespace qkv {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using Offsets = std::vector<std::pair<int32_t, int32_t>>;

const std::string kBertJson = std::string(QKV_SOURCE_DIR) + "/models/bert-tiny-random/tokenizer.json";
const std::string kBpeJson =
    std::string(QKV_SOURCE_DIR) + "/tests/data/tokenizers/roberta-bpe-tiny/tokenizer.json";

using testing_util::Chars;
using testing_util::Text;

Offsets Ranges(const CharString& chars) {
  Offsets ranges;
  for (const Utf8Char& c : chars) ranges.emplace_back(c.begin, c.end);
  return ranges;
}

// The words as text and as ranges of the original characters.
std::vector<std::pair<std::u32string, std::pair<int32_t, int32_t>>> Words(const PreTokenizer& pre,
                                                                          const std::u32string& text) {
  std::vector<CharString> words;
  pre.Split(Chars(text), true, &words);
  std::vector<std::pair<std::u32string, std::pair<int32_t, int32_t>>> out;
  for (const CharString& word : words) out.push_back({Text(word), {word.front().begin, word.back().end}});
  return out;
}

using W = std::pair<std::u32string, std::pair<int32_t, int32_t>>;

Json Load(const std::string& path) { return Json::parse(std::ifstream(path)); }

// A fresh directory under the gtest temp dir holding `tokenizer` as tokenizer.json, removed at the end.
class ScratchTokenizer {
 public:
  explicit ScratchTokenizer(const Json& tokenizer) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::path(::testing::TempDir()) /
            absl::StrCat("qkv_components_", info->test_suite_name(), "_", info->name(), "_", getpid());
    fs::remove_all(path_);
    fs::create_directories(path_);
    std::ofstream(path_ / "tokenizer.json", std::ios::binary) << tokenizer.dump();
  }
  ~ScratchTokenizer() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  absl::StatusOr<Tokenizer> Load() const { return Tokenizer::FromModelDirectory(path_.string()); }

 private:
  fs::path path_;
};

TEST(AddedTokensTest, StripsWhiteSpaceAndDiscardsTokensInsideWords) {
  AddedToken mask{"<mask>", 7};
  mask.lstrip = true;
  mask.rstrip = true;
  AddedToken word{"sep", 8};
  word.single_word = true;
  const AddedTokens added({mask, word});
  AddedTokens::Match match;
  // lstrip goes back over the white space, but not before `floor`; rstrip takes the white space after.
  ASSERT_TRUE(added.MatchAt("a \t<mask>\u3000 b", 3, 0, &match));
  EXPECT_FALSE(match.discarded);
  EXPECT_EQ(match.begin, 1u);
  EXPECT_EQ(match.end, 13u);  // "<mask>" (3-9), U+3000 (3 bytes) and ' '
  ASSERT_TRUE(added.MatchAt("a \t<mask>", 3, 2, &match));
  EXPECT_EQ(match.begin, 2u);
  // single_word: a word character (regex \w: letters, marks, digits, '_') beside it discards the match.
  ASSERT_TRUE(added.MatchAt("xsep", 1, 0, &match));
  EXPECT_TRUE(match.discarded);
  EXPECT_EQ(match.token_end, 4u);
  ASSERT_TRUE(added.MatchAt("sep_", 0, 0, &match));
  EXPECT_TRUE(match.discarded);
  ASSERT_TRUE(added.MatchAt("-sep.", 1, 0, &match));
  EXPECT_FALSE(match.discarded);
  EXPECT_EQ(match.id, 8);
  ASSERT_TRUE(added.MatchAt("\u00e9sep", 2, 0, &match));
  EXPECT_TRUE(match.discarded);
  EXPECT_FALSE(added.MatchAt("se", 0, 0, &match));
}

TEST(AddedTokensTest, WordPieceHonoursTheFlags) {
  Json tokenizer = Load(kBertJson);
  tokenizer["padding"] = nullptr;
  tokenizer["added_tokens"][4]["lstrip"] = true;  // [MASK]
  tokenizer["added_tokens"][4]["rstrip"] = true;
  tokenizer["added_tokens"][3]["single_word"] = true;  // [SEP]
  const ScratchTokenizer dir(tokenizer);
  absl::StatusOr<Tokenizer> loaded = dir.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<Encoding> encoding = loaded->Encode("hello [MASK] world");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(101, 7592, 103, 2088, 102));
  EXPECT_EQ(encoding->offsets, (Offsets{{0, 0}, {0, 5}, {5, 13}, {13, 18}, {0, 0}}));
  // The first [SEP] touches letters: plain text ("[", "sep", "]").
  encoding = loaded->Encode("a[SEP]b [SEP] c");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(101, 1037, 1031, 19802, 1033, 1038, 102, 1039, 102));
  EXPECT_EQ(encoding->offsets[6], std::make_pair(8, 13));
}

TEST(AddedTokensTest, WordPieceMatchesNormalizedTokensAfterTheNormalizer) {
  Json tokenizer = Load(kBertJson);
  tokenizer["padding"] = nullptr;
  // Matched as "hello" after BertNormalizer (lowercase, strip accents); its id is HF's: "HeLLo" is not in the
  // vocabulary, so the next id past it (30522), whatever the file says.
  tokenizer["added_tokens"].push_back({{"id", 1},
                                       {"content", "HeLLo"},
                                       {"single_word", false},
                                       {"lstrip", true},
                                       {"rstrip", false},
                                       {"normalized", true},
                                       {"special", false}});
  const ScratchTokenizer dir(tokenizer);
  absl::StatusOr<Tokenizer> loaded = dir.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<Encoding> encoding = loaded->Encode("x  HELLOé héllo");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(101, 1060, 30522, 1041, 30522, 102));
  EXPECT_EQ(encoding->offsets, (Offsets{{0, 0}, {0, 1}, {1, 8}, {8, 10}, {10, 17}, {0, 0}}));
  EXPECT_EQ(loaded->IdToToken(30522), "HeLLo");
}

TEST(AddedTokensTest, PipelineMatchesNormalizedTokensAfterTheNormalizer) {
  Json tokenizer = Load(kBpeJson);
  tokenizer["normalizer"] = {{"type", "Sequence"},
                             {"normalizers", Json::array({{{"type", "NFKC"}}, {{"type", "Lowercase"}}})}};
  // HF's ids, not the file's: "Wor" is new (the next id past the vocabulary, 823), "ing" is the model's.
  tokenizer["added_tokens"].push_back({{"id", 999},
                                       {"content", "Wor"},
                                       {"single_word", false},
                                       {"lstrip", false},
                                       {"rstrip", false},
                                       {"normalized", true},
                                       {"special", false}});
  tokenizer["added_tokens"].push_back({{"id", 5},
                                       {"content", "ing"},
                                       {"single_word", true},
                                       {"lstrip", false},
                                       {"rstrip", false},
                                       {"normalized", true},
                                       {"special", false}});
  const ScratchTokenizer dir(tokenizer);
  absl::StatusOr<Tokenizer> loaded = dir.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<Encoding> encoding = loaded->Encode("WORLD sing ing");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 823, 456, 272, 281, 36, 281, 2));
  EXPECT_EQ(encoding->offsets,
            (Offsets{{0, 0}, {0, 3}, {3, 5}, {6, 7}, {7, 10}, {11, 11}, {11, 14}, {0, 0}}));
  EXPECT_EQ(loaded->IdToToken(823), "Wor");
  // Matched in the normalized text: full-width letters (3 bytes each) become "wor".
  encoding = loaded->Encode("\uff37\uff2f\uff32ld");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 823, 456, 2));
  EXPECT_EQ(encoding->offsets, (Offsets{{0, 0}, {0, 9}, {9, 11}, {0, 0}}));
}

TEST(NormalizerTest, StripLowercasePrepend) {
  CharString text = Chars(U"  a b  ");
  StripNormalizer(false, true).Normalize(&text);
  EXPECT_EQ(Text(text), U"  a b");
  text = Chars(U"  a b  ");
  StripNormalizer(true, true).Normalize(&text);
  EXPECT_EQ(Text(text), U"a b");
  EXPECT_EQ(text.front().begin, 2);
  text = Chars(U"\u0130X");  // İ lowercases to "i" + U+0307, both from the İ
  LowercaseNormalizer().Normalize(&text);
  EXPECT_EQ(Text(text), U"i\u0307x");
  EXPECT_EQ(Ranges(text), (Offsets{{0, 1}, {0, 1}, {1, 2}}));
  text = Chars(U"ab");
  PrependNormalizer(U"\u2581").Normalize(&text);
  EXPECT_EQ(Text(text), U"\u2581ab");
  EXPECT_EQ(Ranges(text), (Offsets{{0, 1}, {0, 1}, {1, 2}}));
  text.clear();
  PrependNormalizer(U"\u2581").Normalize(&text);
  EXPECT_TRUE(text.empty());
}

TEST(NormalizerTest, UnicodeFormsAlignAsHuggingFace) {
  // NFC: a composite takes its first part's range; the dot below (reordered before the dot above, then left
  // alone) takes the next original character's, the dot above's.
  CharString text = Chars(U"e\u0301x\u0323\u0307");
  UnicodeNormalizer(UnicodeForm::kNfc).Normalize(&text);
  EXPECT_EQ(Text(text), U"\u00e9\u1e8b\u0323");
  EXPECT_EQ(Ranges(text), (Offsets{{0, 1}, {2, 3}, {4, 5}}));
  text = Chars(U"\u00e9\u1e69");
  UnicodeNormalizer(UnicodeForm::kNfd).Normalize(&text);
  EXPECT_EQ(Text(text), U"e\u0301s\u0323\u0307");
  EXPECT_EQ(Ranges(text), (Offsets{{0, 1}, {0, 1}, {1, 2}, {1, 2}, {1, 2}}));
  text = Chars(U"\ufb01ne \u2460");
  UnicodeNormalizer(UnicodeForm::kNfkc).Normalize(&text);
  EXPECT_EQ(Text(text), U"fine 1");
  EXPECT_EQ(Ranges(text), (Offsets{{0, 1}, {0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}));
  text = Chars(U"\u00bd");
  UnicodeNormalizer(UnicodeForm::kNfkd).Normalize(&text);
  EXPECT_EQ(Text(text), U"1\u20442");
  // Code points Unicode 9.0 did not assign stay as they are (HF's tables are 9.0's): U+1E030 (15.0) has a
  // compatibility decomposition to ICU only.
  text = Chars(U"\U0001E030");
  UnicodeNormalizer(UnicodeForm::kNfkd).Normalize(&text);
  EXPECT_EQ(Text(text), U"\U0001E030");
  // StripAccents drops combining marks (Mn, Mc, Me) without decomposing.
  text = Chars(U"e\u0301a\u0903\u00e9");
  StripAccentsNormalizer().Normalize(&text);
  EXPECT_EQ(Text(text), U"ea\u00e9");
}

TEST(PreTokenizerTest, CharacterClasses) {
  using Kind = CharClassPreTokenizer::Kind;
  EXPECT_THAT(Words(CharClassPreTokenizer(Kind::kWhitespace, SplitBehavior::kRemoved),
                    U"Hey, you-2 \u00e9!\u3000x_y"),
              ElementsAre(W{U"Hey", {0, 3}}, W{U",", {3, 4}}, W{U"you", {5, 8}}, W{U"-", {8, 9}},
                          W{U"2", {9, 10}}, W{U"\u00e9", {11, 12}}, W{U"!", {12, 13}}, W{U"x_y", {14, 17}}));
  EXPECT_THAT(Words(CharClassPreTokenizer(Kind::kWhitespaceSplit, SplitBehavior::kRemoved), U" a\tb\u00a0c "),
              ElementsAre(W{U"a", {1, 2}}, W{U"b", {3, 4}}, W{U"c", {5, 6}}));
  EXPECT_THAT(Words(CharClassPreTokenizer(Kind::kBert, SplitBehavior::kRemoved), U"Hi, there!"),
              ElementsAre(W{U"Hi", {0, 2}}, W{U",", {2, 3}}, W{U"there", {4, 9}}, W{U"!", {9, 10}}));
  // Digits: Rust's char::is_numeric (U+216B, a Roman numeral, too).
  EXPECT_THAT(Words(CharClassPreTokenizer(Kind::kDigits, SplitBehavior::kContiguous), U"a123b4\u216b"),
              ElementsAre(W{U"a", {0, 1}}, W{U"123", {1, 4}}, W{U"b", {4, 5}}, W{U"4\u216b", {5, 7}}));
  EXPECT_THAT(Words(CharClassPreTokenizer(Kind::kDigits, SplitBehavior::kIsolated), U"a12b"),
              ElementsAre(W{U"a", {0, 1}}, W{U"1", {1, 2}}, W{U"2", {2, 3}}, W{U"b", {3, 4}}));
}

TEST(PreTokenizerTest, PunctuationBehaviors) {
  using Kind = CharClassPreTokenizer::Kind;
  const auto punctuation = [](SplitBehavior behavior) {
    return Words(CharClassPreTokenizer(Kind::kPunctuation, behavior), U"a,,b!");
  };
  EXPECT_THAT(
      punctuation(SplitBehavior::kIsolated),
      ElementsAre(W{U"a", {0, 1}}, W{U",", {1, 2}}, W{U",", {2, 3}}, W{U"b", {3, 4}}, W{U"!", {4, 5}}));
  EXPECT_THAT(punctuation(SplitBehavior::kMergedWithPrevious),
              ElementsAre(W{U"a,", {0, 2}}, W{U",", {2, 3}}, W{U"b!", {3, 5}}));
  EXPECT_THAT(punctuation(SplitBehavior::kMergedWithNext),
              ElementsAre(W{U"a", {0, 1}}, W{U",", {1, 2}}, W{U",b", {2, 4}}, W{U"!", {4, 5}}));
  EXPECT_THAT(punctuation(SplitBehavior::kContiguous),
              ElementsAre(W{U"a", {0, 1}}, W{U",,", {1, 3}}, W{U"b", {3, 4}}, W{U"!", {4, 5}}));
  EXPECT_THAT(punctuation(SplitBehavior::kRemoved), ElementsAre(W{U"a", {0, 1}}, W{U"b", {3, 4}}));
}

TEST(PreTokenizerTest, SplitAndSequence) {
  absl::StatusOr<std::unique_ptr<SplitPreTokenizer>> split =
      SplitPreTokenizer::Create("ab", false, SplitBehavior::kMergedWithNext, false);
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_THAT(Words(**split, U"xabyabab"),
              ElementsAre(W{U"x", {0, 1}}, W{U"aby", {1, 4}}, W{U"ab", {4, 6}}, W{U"ab", {6, 8}}));
  split = SplitPreTokenizer::Create("ab", false, SplitBehavior::kRemoved, true);
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_THAT(Words(**split, U"xabyabab"), ElementsAre(W{U"ab", {1, 3}}, W{U"ab", {4, 6}}, W{U"ab", {6, 8}}));
  // An accepted regex: the Whitespace pre-tokenizer's, with \s as White_Space (U+000B included).
  split = SplitPreTokenizer::Create(R"(\w+|[^\w\s]+)", true, SplitBehavior::kRemoved, true);
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_THAT(Words(**split, U"ab\v!?"), ElementsAre(W{U"ab", {0, 2}}, W{U"!?", {3, 5}}));
  const absl::Status refused =
      SplitPreTokenizer::Create("[a-z]+", true, SplitBehavior::kRemoved, false).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("[a-z]+ is not supported"));

  std::vector<std::unique_ptr<PreTokenizer>> parts;
  parts.push_back(std::make_unique<CharClassPreTokenizer>(CharClassPreTokenizer::Kind::kWhitespaceSplit,
                                                          SplitBehavior::kRemoved));
  parts.push_back(std::make_unique<CharClassPreTokenizer>(CharClassPreTokenizer::Kind::kDigits,
                                                          SplitBehavior::kIsolated));
  EXPECT_THAT(
      Words(SequencePreTokenizer(std::move(parts)), U"ab12 c3"),
      ElementsAre(W{U"ab", {0, 2}}, W{U"1", {2, 3}}, W{U"2", {3, 4}}, W{U"c", {5, 6}}, W{U"3", {6, 7}}));
}

// Literal patterns (Split's and Replace's): leftmost, non-overlapping matches, also where a failed partial
// match overlaps the next one ("aab" in "aaab"), in time linear in the text whatever the pattern's length
// (a 20001-character pattern against 200000 characters was 4*10^9 comparisons before).
TEST(TextPatternTest, LiteralMatchesLeftmostNonOverlapping) {
  using Matches = std::vector<std::pair<size_t, size_t>>;
  const auto find = [](const std::string& pattern, const std::u32string& text) {
    absl::StatusOr<TextPattern> compiled = TextPattern::Create(pattern, false);
    EXPECT_TRUE(compiled.ok()) << compiled.status();
    return compiled.ok() ? compiled->Find(Chars(text)) : Matches();
  };
  EXPECT_EQ(find("aab", U"aaab aab"), (Matches{{1, 4}, {5, 8}}));
  EXPECT_EQ(find("aa", U"aaaaa"), (Matches{{0, 2}, {2, 4}}));
  EXPECT_EQ(find("abab", U"abababab"), (Matches{{0, 4}, {4, 8}}));
  EXPECT_EQ(find("abac", U"ababac"), (Matches{{2, 6}}));
  EXPECT_EQ(find("\u00e9\U0001F600", U"x\u00e9\u00e9\U0001F600"), (Matches{{2, 4}}));
  EXPECT_EQ(find("ab", U""), Matches());
  EXPECT_EQ(find(std::string(20000, 'a') + "b", std::u32string(200000, U'a')), Matches());
  EXPECT_EQ(find(std::string(20000, 'a') + "b", std::u32string(200000, U'a') + U"b"),
            (Matches{{180000, 200001}}));
  EXPECT_THAT(std::string(TextPattern::Create("", false).status().message()), HasSubstr("is empty"));
  EXPECT_THAT(std::string(TextPattern::Create("(", true).status().message()), HasSubstr("does not compile"));
}

// A regex Split is compiled once and matched from many threads at once (each call clones it).
TEST(TextPatternTest, RegexSplitFromManyThreads) {
  absl::StatusOr<std::unique_ptr<SplitPreTokenizer>> split = SplitPreTokenizer::Create(
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)", true,
      SplitBehavior::kIsolated, false);
  ASSERT_TRUE(split.ok()) << split.status();
  const std::u32string text = U"it's 42 words,  and\u00a0more";
  const auto expected = Words(**split, text);
  EXPECT_THAT(expected, ElementsAre(W{U"it", {0, 2}}, W{U"'s", {2, 4}}, W{U" 42", {4, 7}},
                                    W{U" words", {7, 13}}, W{U",", {13, 14}}, W{U" ", {14, 15}},
                                    W{U" and", {15, 19}}, W{U"\u00a0", {19, 20}}, W{U"more", {20, 24}}));
  std::vector<std::thread> threads;
  std::vector<int> same(4, 0);
  for (size_t t = 0; t < same.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) same[t] += Words(**split, text) == expected ? 1 : 0;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(same, ElementsAre(200, 200, 200, 200));
}

// Only a pre_tokenizer Sequence may stand for BertPreTokenizer: a normalizer Sequence (here one that also
// holds a "pretokenizers" list) is refused, not read as the default BertNormalizer.
TEST(TokenizerJsonTest, WordPieceRefusesANormalizerSequence) {
  Json tokenizer = Load(kBertJson);
  tokenizer["normalizer"] = Json::parse(
      R"({"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "Lowercase"}],
          "pretokenizers": [{"type": "BertPreTokenizer"}]})");
  const ScratchTokenizer dir(tokenizer);
  const absl::Status status = dir.Load().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("normalizer.type Sequence is not supported with a WordPiece model"));
}

// A component's value of the wrong JSON type is refused naming the innermost component, not only the type.
TEST(TokenizerJsonTest, WrongTypesNameTheComponent) {
  Json tokenizer = Load(kBpeJson);
  tokenizer["pre_tokenizer"] = Json::parse(
      R"({"type": "Sequence", "pretokenizers": [{"type": "Digits"}, {"type": "Split", "pattern": {"String": 5}}]})");
  const ScratchTokenizer split(tokenizer);
  EXPECT_THAT(
      std::string(split.Load().status().message()),
      HasSubstr("pre_tokenizer.pretokenizers[1]: [json.exception.type_error.302] type must be string"));
  tokenizer = Load(kBpeJson);
  tokenizer["normalizer"] = Json::parse(R"({"type": "Sequence", "normalizers": [{"type": "Prepend"}]})");
  const ScratchTokenizer prepend(tokenizer);
  EXPECT_THAT(
      std::string(prepend.Load().status().message()),
      HasSubstr("normalizer.normalizers[0]: [json.exception.out_of_range.403] key 'prepend' not found"));
}

TEST(TokenizerJsonTest, WordPieceRefusesAnotherUnknownToken) {
  Json tokenizer = Load(kBertJson);
  tokenizer["model"]["unk_token"] = "[MASK]";
  const ScratchTokenizer dir(tokenizer);
  EXPECT_THAT(std::string(dir.Load().status().message()),
              HasSubstr("model.unk_token \"[MASK]\" is not supported"));
}

TEST(TokenizerJsonTest, RefusesWhatItDoesNotRunByName) {
  const auto error = [](const std::function<void(Json*)>& edit) {
    Json tokenizer = Load(kBpeJson);
    edit(&tokenizer);
    const ScratchTokenizer dir(tokenizer);
    return std::string(dir.Load().status().message());
  };
  EXPECT_THAT(error([](Json* t) {
                (*t)["pre_tokenizer"] = {{"type", "Sequence"},
                                         {"pretokenizers", Json::array({{{"type", "Split"},
                                                                         {"pattern", {{"Regex", "\\d+"}}},
                                                                         {"behavior", "Isolated"},
                                                                         {"invert", false}}})}};
              }),
              HasSubstr("pre_tokenizer.pretokenizers[0].pattern: the regex \\d+ is not supported"));
  EXPECT_THAT(error([](Json* t) {
                (*t)["pre_tokenizer"] = {{"type", "Punctuation"}, {"behavior", "Sideways"}};
              }),
              HasSubstr("pre_tokenizer.behavior Sideways is not supported"));
  EXPECT_THAT(error([](Json* t) {
                (*t)["pre_tokenizer"] = {{"type", "UnicodeScripts"}};
              }),
              HasSubstr("pre_tokenizer.type UnicodeScripts is not supported"));
  EXPECT_THAT(
      error([](Json* t) {
        (*t)["normalizer"] = {{"type", "Sequence"}, {"normalizers", Json::array({{{"type", "Nmt"}}})}};
      }),
      HasSubstr("normalizer.normalizers[0].type Nmt is not supported"));
  EXPECT_THAT(error([](Json* t) { (*t)["model"]["dropout"] = 0.1; }), HasSubstr("model.dropout"));
}

}  // namespace
}  // namespace qkv
