// Tests for the tokenizer.json pipeline tokenizers (core/tokenizer_json.h, core/subword_pipeline.h):
// byte-level BPE (core/byte_level.h, core/bpe_model.h) with RobertaProcessing, goldens from Hugging Face
// tokenizers on tests/data/tokenizers/roberta-bpe-tiny, and the errors that name unsupported components. The
// full-corpus comparison with Hugging Face is tests/parity.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/bpe_model.h"
#include "core/byte_level.h"
#include "core/tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace qkv {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using Offsets = std::vector<std::pair<int32_t, int32_t>>;

const std::string kBpeDir = std::string(QKV_SOURCE_DIR) + "/tests/data/tokenizers/roberta-bpe-tiny";

// A fresh directory under the gtest temp dir, removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::path(::testing::TempDir()) /
            absl::StrCat("qkv_bpe_", info->test_suite_name(), "_", info->name(), "_", getpid());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  void WriteTokenizer(const Json& tokenizer) const {
    std::ofstream(path_ / "tokenizer.json", std::ios::binary) << tokenizer.dump();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

CharString Chars(const std::u32string& text) {
  CharString chars;
  for (size_t i = 0; i < text.size(); ++i) {
    chars.push_back({text[i], static_cast<int32_t>(i), static_cast<int32_t>(i + 1)});
  }
  return chars;
}

std::vector<std::u32string> SplitWords(const std::u32string& text) {
  const CharString chars = Chars(text);
  std::vector<std::u32string> words;
  for (const auto& [begin, end] : Gpt2Split(chars)) words.push_back(text.substr(begin, end - begin));
  return words;
}

TEST(ByteLevelTest, Gpt2SplitFollowsThePattern) {
  EXPECT_THAT(
      SplitWords(U"Hello world's  test\t\n 123abc!! x"),
      ElementsAre(U"Hello", U" world", U"'s", U" ", U" test", U"\t\n", U" 123", U"abc", U"!!", U" x"));
  EXPECT_THAT(SplitWords(U"don't I'LL we've"),
              ElementsAre(U"don", U"'t", U" I", U"'", U"LL", U" we", U"'ve"));
  // Trailing white space stays whole; a space before punctuation joins it; CJK letters are one run.
  EXPECT_THAT(SplitWords(U"a  "), ElementsAre(U"a", U"  "));
  EXPECT_THAT(SplitWords(U" ?! 中文。"), ElementsAre(U" ?!", U" 中文", U"。"));
  EXPECT_THAT(SplitWords(U"\u3000x"), ElementsAre(U"\u3000", U"x"));
}

TEST(ByteLevelTest, BytesToUnicode) {
  EXPECT_EQ(ByteLevelChar(' '), U'\u0120');
  EXPECT_EQ(ByteLevelChar('a'), U'a');
  EXPECT_EQ(ByteLevelChar(0x00), U'\u0100');
  EXPECT_EQ(ByteLevelChar('\n'), U'\u010A');
  EXPECT_EQ(ByteLevelChar(0xAD), U'\u0143');
  EXPECT_EQ(ByteLevelChar(0xFF), U'\u00FF');
}

TEST(BpeModelTest, MergesByRankThenLeftmost) {
  absl::flat_hash_map<std::string, int32_t> vocab = {{"a", 0}, {"b", 1}, {"ab", 2}, {"aa", 3}, {"aab", 4}};
  absl::StatusOr<std::unique_ptr<BpeModel>> model =
      BpeModel::Create(vocab, {{"a", "b"}, {"a", "a"}, {"a", "ab"}}, BpeOptions());
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<TokenPiece> pieces;
  // "aaab": a-b (rank 0) first, then a-a (rank 1) at 0 before a-ab (rank 2): "aa", "ab".
  (*model)->Tokenize(Chars(U"aaab"), &pieces);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].id, 3);
  EXPECT_EQ(pieces[1].id, 2);
  EXPECT_EQ(pieces[1].begin, 2);
  EXPECT_EQ(pieces[1].end, 4);
  // "aaaa": a-a at 0, then a-a at 2.
  pieces.clear();
  (*model)->Tokenize(Chars(U"aaaa"), &pieces);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].id, 3);
  EXPECT_EQ(pieces[1].id, 3);
  // Unknown characters are dropped without unk_token (and, as in HF, the offsets after them shift).
  pieces.clear();
  (*model)->Tokenize(Chars(U"a?b"), &pieces);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].id, 2);

  const absl::Status bad = BpeModel::Create(vocab, {{"a", "c"}}, BpeOptions()).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), HasSubstr("model.merges[0]"));
}

TEST(BpeModelTest, UnknownsFuseAndFallBackToBytes) {
  absl::flat_hash_map<std::string, int32_t> vocab = {{"<unk>", 0}, {"a", 1}, {"<0xC3>", 2}, {"<0xA9>", 3}};
  BpeOptions options;
  options.unk_token = "<unk>";
  options.fuse_unk = true;
  absl::StatusOr<std::unique_ptr<BpeModel>> model = BpeModel::Create(vocab, {}, options);
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<TokenPiece> pieces;
  (*model)->Tokenize(Chars(U"a??a"), &pieces);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[1].id, 0);
  EXPECT_EQ(pieces[1].begin, 1);
  EXPECT_EQ(pieces[1].end, 3);

  options.byte_fallback = true;
  model = BpeModel::Create(vocab, {}, options);
  ASSERT_TRUE(model.ok()) << model.status();
  pieces.clear();
  (*model)->Tokenize(Chars(U"\u00e9?"), &pieces);
  ASSERT_EQ(pieces.size(), 3u);  // é as <0xC3> <0xA9>, then "?" as <unk>
  EXPECT_EQ(pieces[0].id, 2);
  EXPECT_EQ(pieces[1].id, 3);
  EXPECT_EQ(pieces[2].id, 0);
}

absl::StatusOr<Tokenizer> LoadBpe() { return Tokenizer::FromModelDirectory(kBpeDir); }

// Goldens from Hugging Face tokenizers (@anush008/tokenizers 0.6.0) on the fixture.
TEST(BpeTokenizerTest, MatchesHuggingFace) {
  absl::StatusOr<Tokenizer> tokenizer = LoadBpe();
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ(tokenizer->model_type(), "BPE");
  EXPECT_FALSE(tokenizer->options().lower_case);
  EXPECT_EQ(tokenizer->special_tokens().cls, 0);
  EXPECT_EQ(tokenizer->special_tokens().pad, 1);
  EXPECT_EQ(tokenizer->special_tokens().sep, 2);
  EXPECT_EQ(tokenizer->special_tokens().unk, -1);
  EXPECT_EQ(tokenizer->special_tokens().mask, tokenizer->TokenToId("<mask>"));

  absl::StatusOr<Encoding> encoding = tokenizer->Encode("Hello world! It's 2024.");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 76, 440, 797, 37, 731, 43, 119, 729, 50, 2));
  EXPECT_THAT(encoding->tokens, ElementsAre("<s>", "H", "ello", "\u0120world", "!", "\u0120It", "'", "s",
                                            "\u01202024", ".", "</s>"));
  EXPECT_EQ(encoding->offsets, (Offsets{{0, 0},
                                        {0, 1},
                                        {1, 5},
                                        {6, 11},
                                        {11, 12},
                                        {13, 15},
                                        {15, 16},
                                        {16, 17},
                                        {18, 22},
                                        {22, 23},
                                        {0, 0}}));

  // A pair: <s> A </s></s> B </s>, every type id 0; <mask> takes the space before it (lstrip), which
  // trim_offsets then leaves out of its offsets.
  encoding = tokenizer->EncodePair("hi <mask> there", "中文 😀");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  const int32_t mask = tokenizer->special_tokens().mask;
  EXPECT_THAT(encoding->ids, ElementsAre(0, 108, 109, mask, 36, 120, 108, 264, 105, 2, 2, 696, 343, 821, 2));
  EXPECT_EQ(encoding->offsets, (Offsets{{0, 0},
                                        {0, 1},
                                        {1, 2},
                                        {3, 9},
                                        {10, 10},
                                        {10, 11},
                                        {11, 12},
                                        {12, 14},
                                        {14, 15},
                                        {0, 0},
                                        {0, 0},
                                        {0, 3},
                                        {3, 6},
                                        {7, 11},
                                        {0, 0}}));
  EXPECT_THAT(encoding->type_ids, ElementsAre(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
  EXPECT_THAT(encoding->sequence, ElementsAre(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1));
  EXPECT_THAT(encoding->special, ElementsAre(true, false, false, false, false, false, false, false, false,
                                             true, true, false, false, false, true));

  encoding = tokenizer->Encode("  a\t\n");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 36, 263, 13, 14, 2));
  EXPECT_EQ(encoding->offsets, (Offsets{{0, 0}, {1, 1}, {2, 3}, {3, 4}, {4, 5}, {0, 0}}));

  encoding = tokenizer->EncodePair("Café straße", "x");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 71, 404, 792, 2, 2, 124, 2));
  EXPECT_EQ(encoding->offsets, (Offsets{{0, 0}, {0, 1}, {1, 5}, {6, 13}, {0, 0}, {0, 0}, {0, 1}, {0, 0}}));
}

TEST(BpeTokenizerTest, TruncatesPairsAroundFourSpecials) {
  absl::StatusOr<Tokenizer> tokenizer = LoadBpe();
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  // HF with truncation to 6: one piece of each text.
  absl::StatusOr<Encoding> encoding = tokenizer->EncodePair("Hello world! It's 2024.", "中文 the pair", 6);
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 76, 2, 2, 696, 2));
  EXPECT_TRUE(encoding->truncated);

  EXPECT_EQ(tokenizer->EncodePair("a", "b", 3).status().code(), absl::StatusCode::kInvalidArgument);
  const absl::Status rejected =
      tokenizer->EncodePair("Hello world", "x", LengthLimit{5, OverflowPolicy::kReject}).status();
  EXPECT_EQ(rejected.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(rejected.message()), HasSubstr("(<s> and three </s> included)"));
  EXPECT_EQ(tokenizer->Encode("a\xff").status().code(), absl::StatusCode::kInvalidArgument);
  // Past the limit the text is only validated.
  EXPECT_EQ(tokenizer->Encode("Hello world \xff", 3).status().code(), absl::StatusCode::kInvalidArgument);
  encoding = tokenizer->Encode("Hello world", 3);
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 76, 2));
}

Json BpeJson() {
  std::ifstream in(kBpeDir + "/tokenizer.json", std::ios::binary);
  return Json::parse(in);
}

absl::Status LoadStatus(const Json& tokenizer) {
  ScratchDir dir;
  dir.WriteTokenizer(tokenizer);
  return Tokenizer::FromModelDirectory(dir.path()).status();
}

TEST(BpeTokenizerTest, UnsupportedComponentsAreNamed) {
  struct Case {
    const char* field;
    Json value;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"normalizer", {{"type", "Nmt"}}, "normalizer.type Nmt is not supported"},
      {"normalizer",
       {{"type", "Sequence"}, {"normalizers", Json::array({Json{{"type", "BertNormalizer"}}})}},
       "normalizer.normalizers[0].type BertNormalizer is not supported"},
      {"pre_tokenizer", {{"type", "UnicodeScripts"}}, "pre_tokenizer.type UnicodeScripts is not supported"},
      {"post_processor", {{"type", "ByteLevel"}}, "post_processor.type ByteLevel is not supported"},
      {"post_processor", nullptr, "post_processor is null"},
      {"pre_tokenizer", "ByteLevel", "pre_tokenizer must be null or an object"},
  };
  for (const Case& c : cases) {
    Json tokenizer = BpeJson();
    tokenizer[c.field] = c.value;
    const absl::Status status = LoadStatus(tokenizer);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.message));
  }
  Json word_level = BpeJson();
  word_level["model"]["type"] = "WordLevel";
  EXPECT_THAT(std::string(LoadStatus(word_level).message()),
              HasSubstr("model.type WordLevel is not supported"));
  Json dropout = BpeJson();
  dropout["model"]["dropout"] = 0.1;
  EXPECT_THAT(std::string(LoadStatus(dropout).message()), HasSubstr("model.dropout"));
  Json bad_merge = BpeJson();
  bad_merge["model"]["merges"].push_back("a b c");
  EXPECT_THAT(std::string(LoadStatus(bad_merge).message()), HasSubstr("model.merges["));
  bad_merge["model"]["merges"].back() = Json::array({"zz", "q"});
  EXPECT_THAT(std::string(LoadStatus(bad_merge).message()), HasSubstr("\"zz\" is not in model.vocab"));

  // A WordPiece model with a normalizer it does not run is refused rather than tokenized differently.
  Json wordpiece = {
      {"normalizer", {{"type", "Sequence"}, {"normalizers", Json::array()}}},
      {"model", {{"type", "WordPiece"}, {"vocab", {{"[UNK]", 0}, {"[CLS]", 1}, {"[SEP]", 2}}}}}};
  EXPECT_THAT(std::string(LoadStatus(wordpiece).message()),
              HasSubstr("normalizer.type Sequence is not supported with a WordPiece model"));
}

TEST(BpeTokenizerTest, StringMergesAndTemplateProcessing) {
  Json tokenizer = BpeJson();
  Json strings = Json::array();
  for (const Json& merge : tokenizer["model"]["merges"]) {
    strings.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
  }
  tokenizer["model"]["merges"] = strings;
  // BERT-like template with RoBERTa's tokens: <s> A </s> / <s> A </s> B </s> with type 1.
  tokenizer["post_processor"] = Json::parse(R"({"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "</s>", "type_id": 0}}],
      "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
               {"SpecialToken": {"id": "</s>", "type_id": 1}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                         "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}})");
  ScratchDir dir;
  dir.WriteTokenizer(tokenizer);
  absl::StatusOr<Tokenizer> loaded = Tokenizer::FromModelDirectory(dir.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<Encoding> encoding = loaded->EncodePair("Hello world!", "x");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 76, 440, 797, 37, 2, 124, 2));
  EXPECT_THAT(encoding->type_ids, ElementsAre(0, 0, 0, 0, 0, 0, 1, 1));
  // Without trim_offsets (TemplateProcessing has none), "Ġworld" keeps its space.
  EXPECT_EQ(encoding->offsets[3], std::make_pair(5, 11));
}

// MPNet: a WordPiece model whose post_processor is RobertaProcessing places <s> and </s>, every type 0.
TEST(WordPiecePostProcessorTest, RobertaProcessingPlacesItsTokens) {
  Json tokenizer = {
      {"normalizer", {{"type", "BertNormalizer"}, {"lowercase", true}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor",
       {{"type", "RobertaProcessing"}, {"sep", {"</s>", 2}}, {"cls", {"<s>", 0}}, {"trim_offsets", true}}},
      {"model",
       {{"type", "WordPiece"},
        {"vocab", {{"<s>", 0}, {"<pad>", 1}, {"</s>", 2}, {"[UNK]", 3}, {"[CLS]", 4}, {"[SEP]", 5}, {"hi", 6}}}}}};
  ScratchDir dir;
  dir.WriteTokenizer(tokenizer);
  absl::StatusOr<Tokenizer> loaded = Tokenizer::FromModelDirectory(dir.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->model_type(), "WordPiece");
  EXPECT_EQ(loaded->special_tokens().cls, 0);
  EXPECT_EQ(loaded->special_tokens().sep, 2);
  absl::StatusOr<Encoding> encoding = loaded->EncodePair("Hi", "hi x");
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->ids, ElementsAre(0, 6, 2, 2, 6, 3, 2));
  EXPECT_THAT(encoding->type_ids, ElementsAre(0, 0, 0, 0, 0, 0, 0));
  EXPECT_THAT(encoding->sequence, ElementsAre(0, 0, 0, 1, 1, 1, 1));
  const absl::Status rejected = loaded->EncodePair("hi", "hi", LengthLimit{5, OverflowPolicy::kReject}).status();
  EXPECT_THAT(std::string(rejected.message()), HasSubstr("(<s> and three </s> included)"));

  tokenizer["post_processor"]["cls"] = {"<s>", 99};
  EXPECT_THAT(std::string(LoadStatus(tokenizer).message()), HasSubstr("outside the vocabulary"));
  tokenizer["post_processor"] = {{"type", "Sequence"}};
  EXPECT_THAT(std::string(LoadStatus(tokenizer).message()),
              HasSubstr("post_processor.type Sequence is not supported"));
}

}  // namespace
}  // namespace qkv
