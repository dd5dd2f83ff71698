// Tests for core/tokenizer.h: the Hugging Face goldens of the bundled fixtures, normalization (case,
// accents, CJK, control characters, punctuation), WordPiece, truncation, offsets, UTF-8 validation and
// loading from vocab files and model directories.
#include "core/tokenizer.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace qkv {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

const std::string kBertTinyDir = std::string(QKV_SOURCE_DIR) + "/models/bert-tiny-random";
const std::string kTribuoDir = std::string(QKV_SOURCE_DIR) + "/tests/data/tribuo-tinybert-random";

// A fresh directory under the gtest temp dir, removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::path(::testing::TempDir()) /
            absl::StrCat("qkv_tokenizer_", info->test_suite_name(), "_", info->name(), "_", getpid());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string Write(const std::string& name, const std::string& contents) const {
    const std::string file = (path_ / name).string();
    std::ofstream(file, std::ios::binary) << contents;
    return file;
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

std::string VocabText(const std::vector<std::string>& tokens) {
  std::string text;
  for (const std::string& token : tokens) absl::StrAppend(&text, token, "\n");
  return text;
}

// ids 0..: a small vocabulary whose WordPiece splits are easy to predict.
const std::vector<std::string> kSmallVocab = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un",   "##aff", "##able", "runn",  "##ing",
    "hello", "world", ",",     "!",     "—",      "cafe", "café",  "Café",   "naive", "力",
    "分",    "##分",  "ééééé", "a",     "b",      "c",    "d",     "e",      "x",     "##x",
    "i",     "¿",     "ab",    "cd",    "?",      "the",  "end"};

class TokenizerSmallVocabTest : public ::testing::Test {
 protected:
  Tokenizer Make(const TokenizerOptions& options = TokenizerOptions()) {
    const std::string path = scratch_.Write("vocab.txt", VocabText(kSmallVocab));
    absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromVocabFile(path, options);
    EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
    return *std::move(tokenizer);
  }
  std::vector<std::string> Pieces(const Tokenizer& tokenizer, absl::string_view text) {
    absl::StatusOr<std::vector<std::string>> pieces = tokenizer.WordPieces(text);
    EXPECT_TRUE(pieces.ok()) << pieces.status();
    return pieces.ok() ? *pieces : std::vector<std::string>{"<error>"};
  }
  ScratchDir scratch_;
};

// --- Goldens -----------------------------------------------------------------------------------------------

TEST(TokenizerTribuoTest, ReferenceSentenceGivesTheThirteenIds) {
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromModelDirectory(kTribuoDir);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ(tokenizer->vocab_size(), 1656);
  const SpecialTokens& special = tokenizer->special_tokens();
  EXPECT_EQ(special.unk, 0);
  EXPECT_EQ(special.sep, 1);
  EXPECT_EQ(special.pad, 2);
  EXPECT_EQ(special.cls, 3);
  EXPECT_EQ(special.mask, 4);

  absl::StatusOr<Encoding> encoding = tokenizer->Encode("It is a truth universally acknowledged,");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(3, 114, 134, 18, 1528, 269, 297, 55, 66, 385, 1599, 6, 1));
  EXPECT_THAT(encoding->tokens, ElementsAre("[CLS]", "it", "is", "a", "truth", "un", "##ive", "##r", "##s",
                                            "##ally", "acknowledged", ",", "[SEP]"));
  EXPECT_THAT(encoding->type_ids, ElementsAreArray(std::vector<int32_t>(13, 0)));
  EXPECT_FALSE(encoding->truncated);
}

TEST(TokenizerTribuoTest, VocabFromTokenizerJsonAloneGivesTheSameIds) {
  ScratchDir dir;
  fs::copy_file(kTribuoDir + "/tinybert-tokenizer.json", dir.path() + "/tinybert-tokenizer.json");
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromModelDirectory(dir.path());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ(tokenizer->vocab_size(), 1656);
  EXPECT_EQ(tokenizer->special_tokens().cls, 3);
  absl::StatusOr<Encoding> encoding = tokenizer->Encode("It is a truth universally acknowledged,");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(3, 114, 134, 18, 1528, 269, 297, 55, 66, 385, 1599, 6, 1));
}

// Checks every case of a goldens.json (HF tokenizers output) against Encode / EncodePair.
void ExpectGoldensMatch(const std::string& model_dir) {
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromModelDirectory(model_dir);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  std::ifstream in(model_dir + "/goldens.json");
  ASSERT_TRUE(in) << model_dir;
  const nlohmann::json goldens = nlohmann::json::parse(in);
  int checked = 0;
  for (const nlohmann::json& c : goldens.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    std::vector<std::pair<std::string, std::string>> inputs;  // (text, text_pair or "")
    if (c.contains("texts")) {
      for (const auto& text : c.at("texts")) inputs.emplace_back(text.get<std::string>(), "");
    } else {
      inputs.emplace_back(c.at("text").get<std::string>(), c.value("text_pair", std::string()));
    }
    const bool pair = c.contains("text_pair");
    ASSERT_EQ(inputs.size(), c.at("input_ids").size());
    for (size_t b = 0; b < inputs.size(); ++b) {
      SCOPED_TRACE(inputs[b].first);
      absl::StatusOr<Encoding> encoding = pair ? tokenizer->EncodePair(inputs[b].first, inputs[b].second)
                                               : tokenizer->Encode(inputs[b].first);
      ASSERT_TRUE(encoding.ok()) << encoding.status();
      // Only the real (unpadded) positions: the attention mask marks them.
      size_t real = 0;
      for (int m : c.at("attention_mask")[b]) real += m;
      const auto ids = c.at("input_ids")[b].get<std::vector<int32_t>>();
      const auto type_ids = c.at("token_type_ids")[b].get<std::vector<int32_t>>();
      const auto tokens = c.at("tokens")[b].get<std::vector<std::string>>();
      ASSERT_LE(real, ids.size());
      EXPECT_THAT(encoding->ids, ElementsAreArray(ids.begin(), ids.begin() + real));
      EXPECT_THAT(encoding->type_ids, ElementsAreArray(type_ids.begin(), type_ids.begin() + real));
      EXPECT_THAT(encoding->tokens, ElementsAreArray(tokens.begin(), tokens.begin() + real));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6);  // a, b, c, d and the two texts of e
}

TEST(TokenizerGoldenTest, BertTinyRandomAllCases) { ExpectGoldensMatch(kBertTinyDir); }

TEST(TokenizerGoldenTest, SharedMiniLmAllCases) {
  const std::string dir = std::string(QKV_SHARED_DIR) + "/models/minilm-l6-random";
  if (!fs::exists(dir + "/goldens.json"))
    GTEST_SKIP() << dir << " is absent (shared fixtures not checked out)";
  ExpectGoldensMatch(dir);
}

TEST(TokenizerGoldenTest, BertVocabSpecialIdsAndChinese) {
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromModelDirectory(kBertTinyDir);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  const SpecialTokens& special = tokenizer->special_tokens();
  EXPECT_EQ(special.pad, 0);
  EXPECT_EQ(special.unk, 100);
  EXPECT_EQ(special.cls, 101);
  EXPECT_EQ(special.sep, 102);
  EXPECT_EQ(special.mask, 103);
  // Each ideograph is its own word even with no spaces; mixed with Latin text too.
  absl::StatusOr<std::vector<std::string>> pieces = tokenizer->WordPieces("hello力分world");
  ASSERT_TRUE(pieces.ok()) << pieces.status();
  EXPECT_THAT(*pieces, ElementsAre("hello", "力", "分", "world"));
}

// --- Normalization and WordPiece
// ------------------------------------------------------------------------------

TEST_F(TokenizerSmallVocabTest, GreedyLongestMatchFirst) {
  const Tokenizer tokenizer = Make();
  EXPECT_THAT(Pieces(tokenizer, "unaffable running"), ElementsAre("un", "##aff", "##able", "runn", "##ing"));
  // "ab" wins over "a" + "##b" (and "##b" is not in the vocabulary anyway).
  EXPECT_THAT(Pieces(tokenizer, "ab"), ElementsAre("ab"));
  // A word with an undecomposable tail is one [UNK], not "un" + [UNK].
  EXPECT_THAT(Pieces(tokenizer, "unzz hello"), ElementsAre("[UNK]", "hello"));
  EXPECT_THAT(Pieces(tokenizer, "xxx"), ElementsAre("x", "##x", "##x"));
  EXPECT_THAT(Pieces(tokenizer, ""), ElementsAre());
  EXPECT_THAT(Pieces(tokenizer, " \t\n "), ElementsAre());
}

TEST_F(TokenizerSmallVocabTest, EnglishSentenceEncoding) {
  const Tokenizer tokenizer = Make();
  absl::StatusOr<Encoding> encoding = tokenizer.Encode("Hello, World!");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->tokens, ElementsAre("[CLS]", "hello", ",", "world", "!", "[SEP]"));
  EXPECT_THAT(encoding->ids, ElementsAre(2, 10, 12, 11, 13, 3));
  EXPECT_THAT(encoding->special, ElementsAre(true, false, false, false, false, true));
  EXPECT_THAT(encoding->type_ids, ElementsAre(0, 0, 0, 0, 0, 0));
}

TEST_F(TokenizerSmallVocabTest, ChineseCharactersAreSeparateWords) {
  TokenizerOptions options;
  EXPECT_THAT(Pieces(Make(options), "力分"), ElementsAre("力", "分"));
  EXPECT_THAT(Pieces(Make(options), "a力b"), ElementsAre("a", "力", "b"));
  options.tokenize_chinese_chars = false;
  EXPECT_THAT(Pieces(Make(options), "力分"), ElementsAre("力", "##分"));
  EXPECT_THAT(Pieces(Make(options), "a力b"), ElementsAre("[UNK]"));
}

TEST_F(TokenizerSmallVocabTest, AccentsUncasedCasedAndKept) {
  TokenizerOptions uncased;  // lower_case + strip_accents
  EXPECT_THAT(Pieces(Make(uncased), "Café NAÏVE"), ElementsAre("cafe", "naive"));
  // Decomposed input (e + U+0301) normalizes the same way.
  EXPECT_THAT(Pieces(Make(uncased), "Cafe\xCC\x81"), ElementsAre("cafe"));

  TokenizerOptions keep_accents;
  keep_accents.strip_accents = false;
  EXPECT_THAT(Pieces(Make(keep_accents), "Café"), ElementsAre("café"));

  TokenizerOptions cased;
  cased.lower_case = false;
  cased.strip_accents = false;
  EXPECT_THAT(Pieces(Make(cased), "Café café cafe"), ElementsAre("Café", "café", "cafe"));
  EXPECT_THAT(Pieces(Make(cased), "Hello"), ElementsAre("[UNK]"));

  TokenizerOptions cased_stripped;
  cased_stripped.lower_case = false;
  EXPECT_THAT(Pieces(Make(cased_stripped), "Café café"), ElementsAre("[UNK]", "cafe"));
}

TEST_F(TokenizerSmallVocabTest, PunctuationIsSplitOff) {
  const Tokenizer tokenizer = Make();
  EXPECT_THAT(Pieces(tokenizer, "hello,world!!"), ElementsAre("hello", ",", "world", "!", "!"));
  // Unicode P* characters: em dash (Pd) and inverted question mark (Po).
  EXPECT_THAT(Pieces(tokenizer, "hello—world ¿a?"), ElementsAre("hello", "—", "world", "¿", "a", "?"));
  // ASCII symbols that are not P* in Unicode (e.g. '$' is Sc, '^' is Sk) count as punctuation too.
  EXPECT_THAT(Pieces(tokenizer, "a$b^c"), ElementsAre("a", "[UNK]", "b", "[UNK]", "c"));
  // Non-ASCII symbols that are not punctuation stay inside the word: "a€b" is one (unknown) word.
  EXPECT_THAT(Pieces(tokenizer, "a€b"), ElementsAre("[UNK]"));
}

TEST_F(TokenizerSmallVocabTest, ControlCharactersAreDroppedAndUnicodeSpacesSplit) {
  const Tokenizer tokenizer = Make();
  // NUL, U+0001, DEL, U+200B (Cf), U+FFFD vanish without splitting the word.
  EXPECT_THAT(Pieces(tokenizer, std::string("hel\0lo", 6)), ElementsAre("hello"));
  EXPECT_THAT(Pieces(tokenizer, "he\x01l\x7Fl\xE2\x80\x8Bo\xEF\xBF\xBD"), ElementsAre("hello"));
  // Tabs, newlines, NBSP (U+00A0), ideographic space (U+3000) and U+2028 separate words.
  EXPECT_THAT(Pieces(tokenizer,
                     "hello\tworld\r\nhello\xC2\xA0world\xE3\x80\x80"
                     "a\xE2\x80\xA8"
                     "b"),
              ElementsAre("hello", "world", "hello", "world", "a", "b"));

  TokenizerOptions no_clean;
  no_clean.clean_text = false;
  EXPECT_THAT(Pieces(Make(no_clean), "hel\x01lo"), ElementsAre("[UNK]"));
}

// Hugging Face's character classes where ICU's differ (core/unicode_hf_tables.inc).
TEST_F(TokenizerSmallVocabTest, UnassignedAndNewerCharactersFollowHf) {
  const Tokenizer tokenizer = Make();
  // Unassigned code points (U+0378, U+0E3B, U+FFF0) are not control characters: they stay in their word.
  EXPECT_THAT(Pieces(tokenizer, "hel\xCD\xB8lo \xE0\xB8\xBBworld \xEF\xBF\xB0"),
              ElementsAre("[UNK]", "[UNK]", "[UNK]"));
  // U+061D (Po since Unicode 14) is not punctuation in HF's tables: no split.
  EXPECT_THAT(Pieces(tokenizer, "hello\xD8\x9Dworld"), ElementsAre("[UNK]"));
}

TEST_F(TokenizerSmallVocabTest, AddedTokensTypedInTheTextAreTheirIds) {
  const Tokenizer tokenizer = Make();
  absl::StatusOr<Encoding> encoding = tokenizer.Encode("hello[MASK] world [SEP]x[CLS");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->tokens,
              ElementsAre("[CLS]", "hello", "[MASK]", "world", "[SEP]", "x", "[UNK]", "[UNK]", "[SEP]"));
  EXPECT_THAT(encoding->offsets, ElementsAre(std::pair(0, 0), std::pair(0, 5), std::pair(5, 11),
                                             std::pair(12, 17), std::pair(18, 23), std::pair(23, 24),
                                             std::pair(24, 25), std::pair(25, 28), std::pair(0, 0)));
  EXPECT_THAT(encoding->special, ElementsAre(true, false, false, false, false, false, false, false, true));
  // Matched byte for byte, before normalization: "[mask]" is text.
  EXPECT_THAT(Pieces(tokenizer, "[mask]"), ElementsAre("[UNK]", "[UNK]", "[UNK]"));
}

TEST(TokenizerAddedTokensTest, TokenizerJsonAddedTokensAreMatched) {
  ScratchDir dir;
  dir.Write("vocab.txt", VocabText({"[UNK]", "[CLS]", "[SEP]", "<mine>", "hello", "[MASK]"}));
  nlohmann::json tokenizer_json = {
      {"model", {{"type", "WordPiece"}}},
      {"added_tokens",
       {{{"id", 3}, {"content", "<mine>"}, {"normalized", false}},
        {{"id", 5}, {"content", "[MASK]"}, {"normalized", true}}}}};  // matched after normalization by HF
  dir.Write("tokenizer.json", tokenizer_json.dump());
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromModelDirectory(dir.path());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  absl::StatusOr<std::vector<std::string>> pieces = tokenizer->WordPieces("hello<mine>[CLS]");
  ASSERT_TRUE(pieces.ok()) << pieces.status();
  // Only tokenizer.json's list counts: "[CLS]" typed in the text is not an added token here.
  EXPECT_THAT(*pieces, ElementsAre("hello", "<mine>", "[UNK]", "[UNK]", "[UNK]"));

  // normalized=true: matched in the normalized text ("[MASK]" and "[mask]" both normalize to "[mask]").
  pieces = tokenizer->WordPieces("[mask]hello [MASK]");
  ASSERT_TRUE(pieces.ok()) << pieces.status();
  EXPECT_THAT(*pieces, ElementsAre("[MASK]", "hello", "[MASK]"));

  // As in HF, the file's ids are not used: a token in the vocabulary has its id there, a new one the next id
  // past the vocabulary.
  tokenizer_json["added_tokens"][0]["id"] = 42;
  tokenizer_json["added_tokens"].push_back({{"id", 3}, {"content", "<new>"}, {"normalized", false}});
  dir.Write("tokenizer.json", tokenizer_json.dump());
  tokenizer = Tokenizer::FromModelDirectory(dir.path());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ(tokenizer->TokenToId("<mine>"), 3);
  EXPECT_EQ(tokenizer->TokenToId("<new>"), 6);
  absl::StatusOr<Encoding> encoding = tokenizer->Encode("<new><mine>");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(1, 6, 3, 2));
}

TEST_F(TokenizerSmallVocabTest, LongWordsBecomeUnknownCountingCodePoints) {
  TokenizerOptions options;
  options.max_chars_per_word = 5;
  options.strip_accents = false;
  const Tokenizer tokenizer = Make(options);
  EXPECT_THAT(Pieces(tokenizer, "hello"), ElementsAre("hello"));
  EXPECT_THAT(Pieces(tokenizer, "xxxxxx a"), ElementsAre("[UNK]", "a"));
  // Five code points, ten bytes: still under the limit.
  EXPECT_THAT(Pieces(tokenizer, "ééééé"), ElementsAre("ééééé"));
  options.max_chars_per_word = 4;
  EXPECT_THAT(Pieces(Make(options), "ééééé"), ElementsAre("[UNK]"));
  options.max_chars_per_word = 0;
  const std::string path = scratch_.Write("vocab.txt", VocabText(kSmallVocab));
  EXPECT_EQ(Tokenizer::FromVocabFile(path, options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TokenizerSmallVocabTest, PairTypeIds) {
  const Tokenizer tokenizer = Make();
  absl::StatusOr<Encoding> encoding = tokenizer.EncodePair("hello world", "a b!");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->tokens, ElementsAre("[CLS]", "hello", "world", "[SEP]", "a", "b", "!", "[SEP]"));
  EXPECT_THAT(encoding->type_ids, ElementsAre(0, 0, 0, 0, 1, 1, 1, 1));
  EXPECT_THAT(encoding->special, ElementsAre(true, false, false, true, false, false, false, true));
  EXPECT_FALSE(encoding->truncated);
}

// --- Truncation
// ---------------------------------------------------------------------------------------------

TEST_F(TokenizerSmallVocabTest, TruncateSingleKeepsTheFirstPieces) {
  const Tokenizer tokenizer = Make();
  absl::StatusOr<Encoding> encoding = tokenizer.Encode("a b c d e", 5);
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->tokens, ElementsAre("[CLS]", "a", "b", "c", "[SEP]"));
  EXPECT_TRUE(encoding->truncated);
  EXPECT_EQ(encoding->offsets.size(), 5u);

  encoding = tokenizer.Encode("a b c d e", 7);  // exactly fits
  ASSERT_TRUE(encoding.ok());
  EXPECT_EQ(encoding->ids.size(), 7u);
  EXPECT_FALSE(encoding->truncated);

  encoding = tokenizer.Encode("a b", 2);
  ASSERT_TRUE(encoding.ok());
  EXPECT_THAT(encoding->tokens, ElementsAre("[CLS]", "[SEP]"));
  EXPECT_TRUE(encoding->truncated);

  encoding = tokenizer.Encode("a b c d e", 0);  // 0: no truncation
  ASSERT_TRUE(encoding.ok());
  EXPECT_EQ(encoding->ids.size(), 7u);

  for (int too_small : {1, -1}) {
    const absl::Status status = tokenizer.Encode("a", too_small).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << too_small;
    EXPECT_THAT(std::string(status.message()), HasSubstr("max_length"));
  }
}

TEST_F(TokenizerSmallVocabTest, TruncatePairLongestFirst) {
  const Tokenizer tokenizer = Make();
  // 5 + 2 pieces into 7 - 3 = 4: the longer first text loses three.
  absl::StatusOr<Encoding> encoding = tokenizer.EncodePair("a b c d e", "x i", 7);
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->tokens, ElementsAre("[CLS]", "a", "b", "[SEP]", "x", "i", "[SEP]"));
  EXPECT_TRUE(encoding->truncated);

  // The second text is longer: it loses first.
  encoding = tokenizer.EncodePair("a", "a b c d e", 6);
  ASSERT_TRUE(encoding.ok());
  EXPECT_THAT(encoding->tokens, ElementsAre("[CLS]", "a", "[SEP]", "a", "b", "[SEP]"));

  // Ties drop from the second text: (3, 3) -> (3, 2) -> (2, 2) -> (2, 1) for a budget of 3.
  encoding = tokenizer.EncodePair("a b c", "c d e", 6);
  ASSERT_TRUE(encoding.ok());
  EXPECT_THAT(encoding->tokens, ElementsAre("[CLS]", "a", "b", "[SEP]", "c", "[SEP]"));
  EXPECT_THAT(encoding->type_ids, ElementsAre(0, 0, 0, 0, 1, 1));

  encoding = tokenizer.EncodePair("a b", "c", 3);
  ASSERT_TRUE(encoding.ok());
  EXPECT_THAT(encoding->tokens, ElementsAre("[CLS]", "[SEP]", "[SEP]"));

  encoding = tokenizer.EncodePair("a b", "c", 6);  // fits
  ASSERT_TRUE(encoding.ok());
  EXPECT_FALSE(encoding->truncated);
  EXPECT_EQ(encoding->ids.size(), 6u);

  EXPECT_EQ(tokenizer.EncodePair("a", "b", 2).status().code(), absl::StatusCode::kInvalidArgument);
}

// --- Offsets
// ------------------------------------------------------------------------------------------------

using Offset = std::pair<int32_t, int32_t>;

TEST_F(TokenizerSmallVocabTest, OffsetsOfPlainWordsReproduceTheTokens) {
  TokenizerOptions cased;
  cased.lower_case = false;
  cased.strip_accents = false;
  const Tokenizer tokenizer = Make(cased);
  const std::string text = "  hello, world!\tcafé the end";
  absl::StatusOr<Encoding> encoding = tokenizer.Encode(text);
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  ASSERT_EQ(encoding->tokens.size(), 9u);
  EXPECT_EQ(encoding->offsets.front(), Offset(0, 0));  // specials
  EXPECT_EQ(encoding->offsets.back(), Offset(0, 0));
  for (size_t i = 1; i + 1 < encoding->tokens.size(); ++i) {
    const auto [begin, end] = encoding->offsets[i];
    ASSERT_LE(0, begin);
    ASSERT_LE(begin, end);
    ASSERT_LE(end, static_cast<int32_t>(text.size()));
    EXPECT_EQ(text.substr(begin, end - begin), encoding->tokens[i]) << i;
  }
  EXPECT_EQ(encoding->offsets[5], Offset(16, 21));  // "café": 5 bytes
}

TEST_F(TokenizerSmallVocabTest, OffsetsMapNormalizedTextBackToTheOriginal) {
  const Tokenizer tokenizer = Make();
  // "ÜNAFFABLE": the uppercase, accented Ü (2 bytes) normalizes to "u" and keeps its 2 bytes.
  const std::string text = "x \xC3\x9CNAFFABLE!";
  absl::StatusOr<Encoding> encoding = tokenizer.Encode(text);
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->tokens, ElementsAre("[CLS]", "x", "un", "##aff", "##able", "!", "[SEP]"));
  EXPECT_THAT(encoding->offsets, ElementsAre(Offset(0, 0), Offset(0, 1), Offset(2, 5), Offset(5, 8),
                                             Offset(8, 12), Offset(12, 13), Offset(0, 0)));
  // "##" pieces lie inside their word and tile it.
  EXPECT_EQ(encoding->offsets[2].second, encoding->offsets[3].first);
  EXPECT_EQ(encoding->offsets[3].second, encoding->offsets[4].first);

  // CJK (3 bytes each), a dropped control character inside a word, and an [UNK] covering its whole word.
  encoding = tokenizer.Encode("力分 he\x01llo qqq");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->tokens, ElementsAre("[CLS]", "力", "分", "hello", "[UNK]", "[SEP]"));
  EXPECT_THAT(encoding->offsets, ElementsAre(Offset(0, 0), Offset(0, 3), Offset(3, 6), Offset(7, 13),
                                             Offset(14, 17), Offset(0, 0)));
}

TEST_F(TokenizerSmallVocabTest, PairOffsetsPointIntoTheSecondText) {
  const Tokenizer tokenizer = Make();
  absl::StatusOr<Encoding> encoding = tokenizer.EncodePair("hello world", "¿unaffable?");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->tokens,
              ElementsAre("[CLS]", "hello", "world", "[SEP]", "¿", "un", "##aff", "##able", "?", "[SEP]"));
  EXPECT_THAT(encoding->offsets,
              ElementsAre(Offset(0, 0), Offset(0, 5), Offset(6, 11), Offset(0, 0), Offset(0, 2), Offset(2, 4),
                          Offset(4, 7), Offset(7, 11), Offset(11, 12), Offset(0, 0)));
}

// --- Invalid UTF-8
// ------------------------------------------------------------------------------------------

TEST_F(TokenizerSmallVocabTest, InvalidUtf8IsRejectedWithTheByteOffset) {
  const Tokenizer tokenizer = Make();
  const std::vector<std::pair<std::string, int>> cases = {
      {"ab\xFF", 2},  // invalid lead byte
      {"a\x80"
       "b",
       1},                // stray continuation byte
      {"hello \xC3", 6},  // truncated at the end
      {"\xE2\x82"
       "a",
       0},                             // truncated before an ASCII byte
      {"x\xC0\xAF", 1},                // overlong 2-byte
      {"xy\xE0\x80\xAF", 2},           // overlong 3-byte
      {"\xF0\x82\x82\xAC", 0},         // overlong 4-byte
      {"a\xED\xA0\x80", 1},            // UTF-16 surrogate U+D800
      {"\xF4\x90\x80\x80", 0},         // U+110000
      {"ok \xF8\x88\x80\x80\x80", 3},  // 5-byte form
  };
  for (const auto& [text, offset] : cases) {
    const absl::Status status = tokenizer.Encode(text).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << offset;
    EXPECT_THAT(std::string(status.message()), HasSubstr("not valid UTF-8"));
    EXPECT_THAT(std::string(status.message()), HasSubstr(absl::StrCat("byte ", offset)));
    EXPECT_EQ(tokenizer.WordPieces(text).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(tokenizer.EncodePair("hello", text).status().code(), absl::StatusCode::kInvalidArgument);
  }
  // The largest valid scalar values pass.
  EXPECT_TRUE(tokenizer.Encode("\xF4\x8F\xBF\xBF \xED\x9F\xBF \xEE\x80\x80").ok());
}

// --- Loading
// ------------------------------------------------------------------------------------------------

TEST(TokenizerLoadTest, VocabFileLinesAndDuplicates) {
  ScratchDir dir;
  // CRLF endings, a token with inner and leading spaces, a duplicate (the first id wins), no final newline.
  const std::string path = dir.Write("vocab.txt", "[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n a b\nhello\n[MASK]");
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromVocabFile(path, TokenizerOptions());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ(tokenizer->vocab_size(), 7);
  EXPECT_EQ(tokenizer->TokenToId("hello"), 3);
  EXPECT_EQ(tokenizer->TokenToId(" a b"), 4);
  EXPECT_EQ(tokenizer->IdToToken(5), "hello");
  EXPECT_EQ(tokenizer->TokenToId("[MASK]"), 6);
  EXPECT_EQ(tokenizer->TokenToId("missing"), -1);
  EXPECT_EQ(tokenizer->special_tokens().pad, -1);
  EXPECT_EQ(tokenizer->special_tokens().mask, 6);
}

TEST(TokenizerLoadTest, VocabFileErrorsNameTheFile) {
  ScratchDir dir;
  const std::string missing = dir.path() + "/nope.txt";
  absl::Status status = Tokenizer::FromVocabFile(missing, TokenizerOptions()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr(missing));

  const std::string empty = dir.Write("empty.txt", "");
  status = Tokenizer::FromVocabFile(empty, TokenizerOptions()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(empty));

  for (const char* absent : {"[UNK]", "[CLS]", "[SEP]"}) {
    std::vector<std::string> tokens = {"[UNK]", "[CLS]", "[SEP]", "a"};
    tokens.erase(std::find(tokens.begin(), tokens.end(), absent));
    const std::string path = dir.Write("partial.txt", VocabText(tokens));
    status = Tokenizer::FromVocabFile(path, TokenizerOptions()).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << absent;
    EXPECT_THAT(std::string(status.message()), HasSubstr(path));
    EXPECT_THAT(std::string(status.message()), HasSubstr(absent));
  }
}

// A token that is not UTF-8 would make every response holding it unparsable (proto3 strings): refused at
// load.
TEST(TokenizerLoadTest, VocabTokenThatIsNotUtf8IsAnErrorNamingTheFileAndId) {
  ScratchDir dir;
  const std::string path = dir.Write("vocab.txt", "[UNK]\n[CLS]\n[SEP]\nok\n\xff\xfe\n");
  absl::Status status = Tokenizer::FromVocabFile(path, TokenizerOptions()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(path));
  EXPECT_THAT(std::string(status.message()), HasSubstr("token 4 is not valid UTF-8"));
}

TEST(TokenizerLoadTest, ModelDirectoryOptions) {
  absl::StatusOr<Tokenizer> bert = Tokenizer::FromModelDirectory(kBertTinyDir);
  ASSERT_TRUE(bert.ok()) << bert.status();
  EXPECT_EQ(bert->vocab_size(), 30522);
  EXPECT_TRUE(bert->options().lower_case);
  EXPECT_TRUE(bert->options().strip_accents);  // strip_accents null follows lowercase
  EXPECT_TRUE(bert->options().tokenize_chinese_chars);
  EXPECT_EQ(bert->options().max_chars_per_word, 100);

  absl::StatusOr<Tokenizer> tribuo = Tokenizer::FromModelDirectory(kTribuoDir);
  ASSERT_TRUE(tribuo.ok()) << tribuo.status();
  EXPECT_TRUE(tribuo->options().lower_case);
  EXPECT_TRUE(tribuo->options().strip_accents);
}

// A tokenizer.json holding the vocabulary ([UNK]=0 [SEP]=1 [CLS]=2 Café=3 café=4 ##s=5 x=6).
std::string TokenizerJson(const std::string& normalizer, int max_chars = 100) {
  return absl::StrCat(
      R"({"version": "1.0", "normalizer": )", normalizer,
      R"(, "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
      "max_input_chars_per_word": )",
      max_chars,
      R"(, "vocab": {"[UNK]": 0, "[SEP]": 1, "[CLS]": 2, "Café": 3, "café": 4, "##s": 5, "x": 6}}})");
}

TEST(TokenizerLoadTest, VocabFromTokenizerJsonAndItsNormalizer) {
  ScratchDir dir;
  dir.Write("tokenizer.json", TokenizerJson(R"({"type": "BertNormalizer", "lowercase": false,
      "strip_accents": null, "handle_chinese_chars": true, "clean_text": true})",
                                            4));
  // The normalizer wins over tokenizer_config.json.
  dir.Write("tokenizer_config.json", R"({"do_lower_case": true})");
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromModelDirectory(dir.path());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ(tokenizer->vocab_size(), 7);
  EXPECT_FALSE(tokenizer->options().lower_case);
  EXPECT_FALSE(tokenizer->options().strip_accents);
  EXPECT_EQ(tokenizer->options().max_chars_per_word, 4);
  EXPECT_EQ(tokenizer->special_tokens().cls, 2);
  absl::StatusOr<Encoding> encoding = tokenizer->Encode("Café cafés");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  // "cafés" (café ##s) has five code points, over the limit of 4.
  EXPECT_THAT(encoding->tokens, ElementsAre("[CLS]", "Café", "[UNK]", "[SEP]"));
  EXPECT_THAT(encoding->ids, ElementsAre(2, 3, 0, 1));
}

TEST(TokenizerLoadTest, CasingFromTokenizerConfigWhenNoNormalizer) {
  ScratchDir dir;
  dir.Write("vocab.txt", "[UNK]\n[SEP]\n[CLS]\nCafé\ncafé\ncafe\n");
  dir.Write("tokenizer_config.json", R"({"do_lower_case": false, "tokenize_chinese_chars": false})");
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromModelDirectory(dir.path());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_FALSE(tokenizer->options().lower_case);
  EXPECT_FALSE(tokenizer->options().strip_accents);
  EXPECT_FALSE(tokenizer->options().tokenize_chinese_chars);
  EXPECT_THAT(*tokenizer->WordPieces("Café"), ElementsAre("Café"));

  // do_lower_case true with strip_accents false keeps accents.
  dir.Write("tokenizer_config.json", R"({"do_lower_case": true, "strip_accents": false})");
  tokenizer = Tokenizer::FromModelDirectory(dir.path());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_THAT(*tokenizer->WordPieces("Café"), ElementsAre("café"));

  // No config at all: uncased defaults.
  fs::remove(dir.path() + "/tokenizer_config.json");
  tokenizer = Tokenizer::FromModelDirectory(dir.path());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_THAT(*tokenizer->WordPieces("Café"), ElementsAre("cafe"));
}

TEST(TokenizerLoadTest, ModelDirectoryErrors) {
  ScratchDir dir;
  absl::Status status = Tokenizer::FromModelDirectory(dir.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr("vocab.txt"));

  EXPECT_EQ(Tokenizer::FromModelDirectory(dir.path() + "/absent").status().code(),
            absl::StatusCode::kNotFound);

  const std::string bad = dir.Write("tokenizer.json", R"({"model": {"vocab": )");
  status = Tokenizer::FromModelDirectory(dir.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(bad));

  // Well-formed JSON of the wrong shape.
  dir.Write("tokenizer.json", R"({"model": {"type": "WordPiece", "vocab": ["[UNK]"]}})");
  status = Tokenizer::FromModelDirectory(dir.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(bad));

  dir.Write("tokenizer.json",
            R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "[CLS]": 2, "[SEP]": 3}}})");
  EXPECT_EQ(Tokenizer::FromModelDirectory(dir.path()).status().code(), absl::StatusCode::kInvalidArgument);

  dir.Write("tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2}}})");
  EXPECT_EQ(Tokenizer::FromModelDirectory(dir.path()).status().code(), absl::StatusCode::kInvalidArgument);

  // A bad tokenizer_config.json names itself.
  fs::remove(bad);
  dir.Write("vocab.txt", "[UNK]\n[SEP]\n[CLS]\n");
  const std::string config = dir.Write("tokenizer_config.json", "{\"do_lower_case\": \"yes\"}");
  status = Tokenizer::FromModelDirectory(dir.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(config));
}

TEST(TokenizerLoadTest, AnyStarTokenizerJsonIsAccepted) {
  ScratchDir dir;
  dir.Write("my-tokenizer.json", TokenizerJson(R"({"type": "BertNormalizer", "lowercase": true})"));
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromModelDirectory(dir.path());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_TRUE(tokenizer->options().lower_case);
  EXPECT_THAT(*tokenizer->WordPieces("CAFÉS x"), ElementsAre("[UNK]", "x"));  // "cafes": no "cafe" token
  EXPECT_THAT(*tokenizer->WordPieces("x"), ElementsAre("x"));
}

}  // namespace
}  // namespace qkv
