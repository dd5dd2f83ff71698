// Tokenizer: BERT WordPiece tokenization (Hugging Face BertTokenizer semantics) over a vocab.txt.
//
// Added tokens ([CLS], [MASK], ...) typed in the text are matched first and become their ids. The text
// between them gets basic tokenization: cleans control characters, splits on whitespace, lower-cases and
// strips accents when the model is uncased, splits punctuation and makes every CJK ideograph its own token;
// then greedy longest-match WordPiece with "##" continuations, [UNK] for unknown words and words over
// max_chars_per_word. Special token ids come from the vocabulary, never assumed. Ids and offsets are those
// of Hugging Face tokenizers (tests/parity checks them on a generated corpus).
//
// Thread safety: immutable after construction; Encode* are const and safe from any number of threads.
#ifndef QKV_CORE_TOKENIZER_H_
#define QKV_CORE_TOKENIZER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/added_tokens.h"

namespace qkv {

struct TokenizerOptions {
  bool lower_case = true;              // uncased models
  bool strip_accents = true;           // HF: strip_accents null means "same as lower_case"
  bool tokenize_chinese_chars = true;  // every CJK ideograph its own word
  int max_chars_per_word = 100;        // longer words (in code points) become [UNK]; must be > 0
  bool clean_text = true;              // drop NUL, U+FFFD and control characters
};

// Ids of the special tokens, looked up in the vocabulary. -1 when the vocabulary lacks one.
struct SpecialTokens {
  int32_t cls = -1;   // [CLS]
  int32_t sep = -1;   // [SEP]
  int32_t pad = -1;   // [PAD]
  int32_t unk = -1;   // [UNK]
  int32_t mask = -1;  // [MASK]
};

// The tokens of one single text or text pair, [CLS] ... [SEP] (... [SEP]) included. All vectors have the
// same length T.
struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;  // 0 for the first text (and [CLS] and its [SEP]), 1 for the second
  std::vector<std::string> tokens;
  // Byte offsets [begin, end) into the text the token came from (the first text when type_ids[i] == 0, the
  // second when 1). Special tokens have {0, 0}.
  std::vector<std::pair<int32_t, int32_t>> offsets;
  std::vector<bool> special;  // true for [CLS] / [SEP]
  bool truncated = false;     // true when tokens were dropped to fit max_length
};

class Tokenizer {
 public:
  // Reads a vocab.txt (one token per line; the line number is the id). REQUIRES the vocabulary to hold
  // [CLS], [SEP] and [UNK]; an error names the file otherwise. The added tokens are the special tokens
  // ([PAD], [UNK], [CLS], [SEP], [MASK]) the vocabulary holds, as transformers' BertTokenizer has them.
  static absl::StatusOr<Tokenizer> FromVocabFile(const std::string& vocab_path,
                                                 const TokenizerOptions& options);

  // Reads a Hugging Face model directory: vocab.txt (or the WordPiece vocab inside tokenizer.json when there
  // is no vocab.txt), and the casing options from tokenizer.json's normalizer, else tokenizer_config.json,
  // else the defaults (uncased). The added tokens are tokenizer.json's "added_tokens" with normalized=false
  // and no lstrip / rstrip / single_word (others are not matched); an added token whose id is outside the
  // vocabulary is InvalidArgument. Without tokenizer.json they are the special tokens the vocabulary holds.
  static absl::StatusOr<Tokenizer> FromModelDirectory(const std::string& dir);

  // Tokenizes `text` as [CLS] text [SEP]. `max_length` > 0 truncates to at most max_length tokens (specials
  // included); 0 means no truncation. Invalid UTF-8 is InvalidArgument.
  absl::StatusOr<Encoding> Encode(absl::string_view text, int max_length = 0) const;

  // Tokenizes a pair as [CLS] a [SEP] b [SEP]; truncation removes tokens from the longer text first
  // (HF "longest_first").
  absl::StatusOr<Encoding> EncodePair(absl::string_view text_a, absl::string_view text_b,
                                      int max_length = 0) const;

  // Word pieces of `text` without specials or truncation (for tests and the Tokenize RPC).
  absl::StatusOr<std::vector<std::string>> WordPieces(absl::string_view text) const;

  int32_t vocab_size() const { return static_cast<int32_t>(id_to_token_.size()); }
  // REQUIRES: 0 <= id < vocab_size().
  const std::string& IdToToken(int32_t id) const { return id_to_token_[id]; }
  // -1 when absent.
  int32_t TokenToId(absl::string_view token) const;
  const SpecialTokens& special_tokens() const { return special_; }
  const AddedTokens& added_tokens() const { return added_tokens_; }
  const TokenizerOptions& options() const { return options_; }

 private:
  Tokenizer() = default;
  // Builds the maps from `tokens` (id = index; the first of duplicate tokens keeps its id) and checks the
  // options, the special tokens and the added tokens (nullptr: the special tokens in the vocabulary).
  // `source` names the file in errors.
  static absl::StatusOr<Tokenizer> FromTokens(std::vector<std::string> tokens,
                                              const TokenizerOptions& options, const std::string& source,
                                              const std::vector<AddedToken>* added_tokens = nullptr);

  // Implementation state (vocab maps, options); the implementation may add members.
  TokenizerOptions options_;
  SpecialTokens special_;
  std::vector<std::string> id_to_token_;
  absl::flat_hash_map<std::string, int32_t> token_to_id_;
  AddedTokens added_tokens_;
};

}  // namespace qkv

#endif  // QKV_CORE_TOKENIZER_H_
