// Tests for the bounded-cost parts of core/tokenizer.h: early stop at a token limit (truncation identical to
// tokenizing everything and then cutting, on many generated texts), the reject policy, the trie WordPiece
// against a naive greedy longest match, the placeholder of ids past the vocabulary, and the
// max_input_chars_per_word cap.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace qkv {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kBertTinyDir = std::string(QKV_SOURCE_DIR) + "/models/bert-tiny-random";

const Tokenizer& BertTokenizer() {
  static const Tokenizer* const tokenizer = [] {
    absl::StatusOr<Tokenizer> t = Tokenizer::FromModelDirectory(kBertTinyDir);
    EXPECT_TRUE(t.ok()) << t.status();
    return new Tokenizer(*std::move(t));
  }();
  return *tokenizer;
}

// Random texts that exercise every path: ASCII words from the vocabulary and not, long and over-long words,
// punctuation, CJK, accents, control characters, Unicode spaces, and runs of separators.
std::string RandomText(std::mt19937* rng) {
  static const std::vector<std::string> kParts = {"the",     "unbelievable",
                                                  "running", "xqzt",
                                                  "hello",   ",",
                                                  ".",       "!",
                                                  "  ",      "\t",
                                                  "\n",      "力分",
                                                  "Café",    "naïve",
                                                  "\x01",    "\xC2\xA0",
                                                  "日本語",  "über",
                                                  "don't",   "e-mail",
                                                  "ÉCOLE",   "\xE2\x80\x8B",
                                                  "a",       "42",
                                                  "¿qué?",   "—",
                                                  "ﬁ",       "İstanbul",
                                                  "ǅ",       "\xF0\x9F\x98\x80",
                                                  "##",      "[CLS]"};
  std::uniform_int_distribution<int> parts(0, 40);
  std::uniform_int_distribution<size_t> pick(0, kParts.size() - 1);
  std::uniform_int_distribution<int> coin(0, 9);
  std::string text;
  const int n = parts(*rng);
  for (int i = 0; i < n; ++i) {
    const int kind = coin(*rng);
    if (kind == 0) {
      text += std::string(90 + coin(*rng) * 3, 'k');  // around max_chars_per_word (100)
    } else {
      text += kParts[pick(*rng)];
    }
    if (coin(*rng) < 6) text += " ";
  }
  return text;
}

// Hugging Face longest_first over full piece counts: the reference for EncodePair's truncation.
std::pair<size_t, size_t> LongestFirst(size_t a, size_t b, size_t budget) {
  while (a + b > budget) {
    if (a > b) {
      --a;
    } else {
      --b;
    }
  }
  return {a, b};
}

// The reference Encoding of `text` cut to max_length: the unlimited Encoding with pieces dropped.
Encoding CutSingle(const Encoding& full, int max_length) {
  const size_t pieces = full.ids.size() - 2;
  const size_t keep = std::min(pieces, static_cast<size_t>(max_length - 2));
  Encoding cut;
  for (size_t i = 0; i < full.ids.size(); ++i) {
    if (i != 0 && i != full.ids.size() - 1 && i > keep) continue;
    cut.ids.push_back(full.ids[i]);
    cut.tokens.push_back(full.tokens[i]);
    cut.offsets.push_back(full.offsets[i]);
  }
  cut.truncated = keep < pieces;
  return cut;
}

TEST(TokenizerLimitsTest, EarlyStopTruncationEqualsFullTokenizationThenCut) {
  const Tokenizer& tokenizer = BertTokenizer();
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> length(2, 40);
  int truncated = 0;
  for (int i = 0; i < 1500; ++i) {
    const std::string text = RandomText(&rng);
    SCOPED_TRACE(text);
    const absl::StatusOr<Encoding> full = tokenizer.Encode(text);
    ASSERT_TRUE(full.ok()) << full.status();
    const int max_length = length(rng);
    const absl::StatusOr<Encoding> got = tokenizer.Encode(text, LengthLimit{max_length});
    ASSERT_TRUE(got.ok()) << got.status();
    const Encoding want = CutSingle(*full, max_length);
    EXPECT_EQ(got->ids, want.ids) << max_length;
    EXPECT_EQ(got->tokens, want.tokens);
    EXPECT_EQ(got->offsets, want.offsets);
    EXPECT_EQ(got->truncated, want.truncated);
    truncated += want.truncated ? 1 : 0;

    // Reject: the same result when it fits, else OutOfRange naming the limit.
    const absl::StatusOr<Encoding> rejected =
        tokenizer.Encode(text, LengthLimit{max_length, OverflowPolicy::kReject});
    if (want.truncated) {
      EXPECT_EQ(rejected.status().code(), absl::StatusCode::kOutOfRange);
      EXPECT_THAT(std::string(rejected.status().message()),
                  HasSubstr(absl::StrCat("longer than max_length ", max_length, " tokens")));
    } else {
      ASSERT_TRUE(rejected.ok()) << rejected.status();
      EXPECT_EQ(rejected->ids, full->ids);
    }
  }
  EXPECT_GT(truncated, 300);  // both outcomes are well covered
  EXPECT_LT(truncated, 1400);
}

TEST(TokenizerLimitsTest, EarlyStopPairTruncationEqualsLongestFirstOverFullTokenization) {
  const Tokenizer& tokenizer = BertTokenizer();
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> length(3, 40);
  for (int i = 0; i < 1000; ++i) {
    const std::string a = RandomText(&rng);
    const std::string b = RandomText(&rng);
    SCOPED_TRACE(absl::StrCat(a, " | ", b));
    const absl::StatusOr<Encoding> full = tokenizer.EncodePair(a, b);
    ASSERT_TRUE(full.ok()) << full.status();
    std::vector<int32_t> ids_a;
    std::vector<int32_t> ids_b;
    for (size_t t = 0; t < full->ids.size(); ++t) {
      if (full->special[t]) continue;
      (full->type_ids[t] == 0 ? ids_a : ids_b).push_back(full->ids[t]);
    }
    const int max_length = length(rng);
    const auto [keep_a, keep_b] = LongestFirst(ids_a.size(), ids_b.size(), max_length - 3);
    std::vector<int32_t> want = {full->ids.front()};
    want.insert(want.end(), ids_a.begin(), ids_a.begin() + keep_a);
    want.push_back(full->ids.back());
    want.insert(want.end(), ids_b.begin(), ids_b.begin() + keep_b);
    want.push_back(full->ids.back());
    const bool cut = keep_a < ids_a.size() || keep_b < ids_b.size();

    const absl::StatusOr<Encoding> got = tokenizer.EncodePair(a, b, LengthLimit{max_length});
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->ids, want) << max_length;
    EXPECT_EQ(got->truncated, cut);
    const absl::StatusOr<Encoding> rejected =
        tokenizer.EncodePair(a, b, LengthLimit{max_length, OverflowPolicy::kReject});
    if (cut) {
      EXPECT_EQ(rejected.status().code(), absl::StatusCode::kOutOfRange);
      EXPECT_THAT(std::string(rejected.status().message()), HasSubstr("text pair is longer than max_length"));
    } else {
      ASSERT_TRUE(rejected.ok()) << rejected.status();
      EXPECT_EQ(rejected->ids, full->ids);
    }
  }
}

// Greedy longest-match-first WordPiece with one hash lookup per candidate (the pre-trie algorithm).
std::vector<std::string> NaiveWordPiece(const Tokenizer& tokenizer, const std::string& word) {
  if (word.size() > 100) return {"[UNK]"};
  std::vector<std::string> pieces;
  size_t start = 0;
  while (start < word.size()) {
    size_t end = word.size();
    std::string found;
    for (; end > start; --end) {
      const std::string candidate = (start == 0 ? "" : "##") + word.substr(start, end - start);
      if (tokenizer.TokenToId(candidate) >= 0) {
        found = candidate;
        break;
      }
    }
    if (found.empty()) return {"[UNK]"};
    pieces.push_back(found);
    start = end;
  }
  return pieces;
}

TEST(TokenizerLimitsTest, TrieWordPieceEqualsNaiveGreedyLongestMatch) {
  const Tokenizer& tokenizer = BertTokenizer();
  std::mt19937 rng(7);
  // Lowercase ASCII words: normalization is the identity, so the words are known without the tokenizer.
  const std::string letters = "etaoinshrdlucmfwypvbgkqjxz";
  std::uniform_int_distribution<int> word_length(1, 24);
  std::geometric_distribution<int> letter(0.15);
  int multi_piece = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string word;
    const int n = i % 50 == 0 ? 101 : word_length(rng);  // some over max_chars_per_word
    for (int k = 0; k < n; ++k) word += letters[std::min<size_t>(letter(rng), letters.size() - 1)];
    const std::vector<std::string> want = NaiveWordPiece(tokenizer, word);
    multi_piece += want.size() > 1 ? 1 : 0;
    absl::StatusOr<std::vector<std::string>> got = tokenizer.WordPieces(word);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want) << word;
  }
  EXPECT_GT(multi_piece, 1000);
}

// Normalization runs chunk by chunk (restarting before an ASCII, white space or CJK character); wherever the
// chunks are cut, a text's tail must tokenize as it does alone: combining marks reorder and drop within their
// sequence, never across a cut (NUL and control characters that clean_text drops are not cut points), and
// typed added tokens still match. The last word opens with marks that canonical ordering moves: a cut inside
// it changes its offsets.
TEST(TokenizerLimitsTest, ChunkCutsDoNotChangeTheTokens) {
  const Tokenizer& tokenizer = BertTokenizer();
  static constexpr char kTail[] =
      "Cafe\xCC\x81 x\x01\xCC\x96\xCC\x81y \xC3\xA9\x00\xCC\xA3\xCC\x87q na\xC3\xAFve [MASK]\xCC\x81 "
      "\xE5\x8A\x9B\xCC\x81\xE5\x88\x86 \xCE\x91\xCD\x85\xCC\x94 \xE1\xBA\xA4\xCC\xA3z "
      "\xD6\xAB\xCD\xA1\xF0\x9D\x86\x82\xF0\x9E\x80\x95\xF0\x96\xBF\xB1\xF0\x90\xB4\xA5\xE3\x80\xAD"
      "\xF0\x96\xBD\x8Fwere";
  const std::string tail_text(kTail, sizeof(kTail) - 1);  // with its NUL
  absl::StatusOr<Encoding> alone = tokenizer.Encode(tail_text);
  ASSERT_TRUE(alone.ok()) << alone.status();
  for (int prefix_length = 1; prefix_length < 300; ++prefix_length) {
    std::string prefix;
    for (int i = 0; i < prefix_length; ++i) prefix += i % 7 == 6 ? ' ' : 'a';
    absl::StatusOr<Encoding> head = tokenizer.Encode(prefix);
    absl::StatusOr<Encoding> both = tokenizer.Encode(prefix + " " + tail_text);
    ASSERT_TRUE(head.ok() && both.ok());
    const size_t head_pieces = head->ids.size() - 2;
    ASSERT_EQ(both->ids.size(), head_pieces + alone->ids.size()) << prefix_length;
    const int32_t shift = static_cast<int32_t>(prefix.size() + 1);
    for (size_t i = 1; i + 1 < alone->ids.size(); ++i) {
      const size_t j = head_pieces + i;
      EXPECT_EQ(both->tokens[j], alone->tokens[i]) << prefix_length << " piece " << i;
      EXPECT_EQ(both->offsets[j],
                std::make_pair(alone->offsets[i].first + shift, alone->offsets[i].second + shift))
          << prefix_length << " piece " << i;
    }
  }
}

TEST(TokenizerLimitsTest, RejectNamesTheLimitAndStillValidatesTheWholeText) {
  const Tokenizer& tokenizer = BertTokenizer();
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "hello ";
  absl::Status status = tokenizer.Encode(text, LengthLimit{16, OverflowPolicy::kReject}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(status.message(), "text is longer than max_length 16 tokens ([CLS] and [SEP] included)");

  // Invalid UTF-8 past the point where tokenization stops is still an error, as without a limit.
  const std::string bad = text + "\xff";
  for (OverflowPolicy policy : {OverflowPolicy::kTruncate, OverflowPolicy::kReject}) {
    status = tokenizer.Encode(bad, LengthLimit{16, policy}).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), HasSubstr(absl::StrCat("byte ", text.size())));
    status = tokenizer.EncodePair(text, bad, LengthLimit{16, policy}).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  }

  // Within the limit: the full encoding; truncation cuts the same text.
  absl::StatusOr<Encoding> fits = tokenizer.Encode("hello hello", LengthLimit{4, OverflowPolicy::kReject});
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_THAT(fits->tokens, ElementsAre("[CLS]", "hello", "hello", "[SEP]"));
  absl::StatusOr<Encoding> cut = tokenizer.Encode(text, LengthLimit{4});
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_THAT(cut->tokens, ElementsAre("[CLS]", "hello", "hello", "[SEP]"));
  EXPECT_TRUE(cut->truncated);

  // The limit must hold the specials.
  EXPECT_EQ(tokenizer.Encode("a", LengthLimit{1, OverflowPolicy::kReject}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tokenizer.EncodePair("a", "b", LengthLimit{2, OverflowPolicy::kReject}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TokenizerLimitsTest, AWordOfAMegabyteIsOneUnknownCoveringIt) {
  const Tokenizer& tokenizer = BertTokenizer();
  const std::string word(1 << 20, 'x');
  absl::StatusOr<Encoding> encoding = tokenizer.Encode(word + " hello", LengthLimit{8});
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->tokens, ElementsAre("[CLS]", "[UNK]", "hello", "[SEP]"));
  EXPECT_EQ(encoding->offsets[1], std::make_pair(int32_t{0}, int32_t{1 << 20}));
  EXPECT_FALSE(encoding->truncated);
}

TEST(TokenizerLimitsTest, IdsPastTheVocabularyGetThePlaceholder) {
  const Tokenizer& tokenizer = BertTokenizer();
  EXPECT_EQ(tokenizer.IdToToken(101), "[CLS]");
  EXPECT_EQ(tokenizer.IdToToken(tokenizer.vocab_size() - 1), "##～");
  EXPECT_EQ(tokenizer.IdToToken(tokenizer.vocab_size()), absl::StrCat("[ID:", tokenizer.vocab_size(), "]"));
  EXPECT_EQ(tokenizer.IdToToken(1 << 30), "[ID:1073741824]");
  EXPECT_EQ(tokenizer.IdToToken(-1), "[ID:-1]");
  EXPECT_EQ(tokenizer.IdToToken(INT32_MIN), "[ID:-2147483648]");
}

// A scratch directory holding a tokenizer.json with the given max_input_chars_per_word value (JSON text).
std::string TokenizerJsonDir(const std::string& name, const std::string& max_chars) {
  const fs::path dir = fs::path(::testing::TempDir()) / absl::StrCat("qkv_tokenizer_limits_", name, getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.json")
      << R"({"model": {"type": "WordPiece", "max_input_chars_per_word": )" << max_chars
      << R"(, "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2}}})";
  return dir.string();
}

TEST(TokenizerLimitsTest, MaxInputCharsPerWordIsCapped) {
  absl::StatusOr<Tokenizer> ok = Tokenizer::FromModelDirectory(TokenizerJsonDir("ok", "4096"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->options().max_chars_per_word, kMaxCharsPerWordLimit);
  for (const char* bad :
       {"4097", "0", "-5", "100000000000", "18446744073709551615", "2.5", "\"100\"", "[[1]]"}) {
    SCOPED_TRACE(bad);
    const std::string dir = TokenizerJsonDir("bad", bad);
    const absl::Status status = Tokenizer::FromModelDirectory(dir).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), HasSubstr(dir + "/tokenizer.json"));
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("max_input_chars_per_word must be an integer in [1, 4096]"));
  }
  // The options struct has the same bound.
  TokenizerOptions options;
  options.max_chars_per_word = kMaxCharsPerWordLimit + 1;
  const std::string vocab = TokenizerJsonDir("vocab", "100") + "/vocab.txt";
  std::ofstream(vocab) << "[UNK]\n[CLS]\n[SEP]\n";
  EXPECT_EQ(Tokenizer::FromVocabFile(vocab, options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace qkv
