// Tokenizer: the tokenizer of a model directory, as Hugging Face tokenizers runs its tokenizer.json: BERT
// WordPiece (below), or a pipeline of components that tokenizer.json selects (ReadPipelineJson): byte-level
// BPE as RoBERTa has it (ByteLevelPreTokenizer, BpeModel, RobertaProcessing) or SentencePiece Unigram as
// XLM-RoBERTa has it (PrecompiledNormalizer, MetaspacePreTokenizer, UnigramModel, TemplateProcessing); see
// SubwordPipeline and SpecialsTemplate. The public API is the same for every kind; model_type() names it.
//
// BERT WordPiece (Hugging Face BertTokenizer semantics) over a vocab.txt or tokenizer.json:
//
// Added tokens ([CLS], [MASK], ...) typed in the text are matched first and become their ids (AddedTokens:
// with their lstrip / rstrip / single_word; normalized=true ones after the normalizer). The text
// between them gets basic tokenization: cleans control characters, splits on whitespace, lower-cases and
// strips accents when the model is uncased, splits punctuation and makes every CJK ideograph its own token;
// then greedy longest-match WordPiece with "##" continuations, [UNK] for unknown words and words over
// max_chars_per_word. Special token ids come from the vocabulary, never assumed. Ids and offsets are those
// of Hugging Face tokenizers (tests/parity checks them on a generated corpus).
//
// Cost: with a length limit (LengthLimit), tokenization reads the text in chunks of about 128 characters
// (normalization restarts before an ASCII, white space or CJK character once a chunk is that long) and
// stops once the limit is settled: the text after it is never normalized, split, matched against the added
// tokens or looked up (it is only checked to be valid UTF-8, a scan that allocates nothing). WordPiece walks
// a byte trie of the vocabulary, so a word costs one lookup per byte walked, at most the longest vocabulary
// piece per piece. Memory is bounded by the limit, max_chars_per_word and the chunk, not by the text (a
// chunk only outgrows 128 characters in a run with none of those characters). Added tokens with
// normalized=true are matched in the normalized text, so a tokenizer.json that has them normalizes each
// stretch between its other added tokens whole (memory bounded by the stretch).
//
// Thread safety: immutable after construction; Encode* are const and safe from any number of threads.
#ifndef QKV_CORE_TOKENIZER_H_
#define QKV_CORE_TOKENIZER_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/added_tokens.h"
#include "core/post_processor.h"
#include "core/token_piece.h"
#include "core/vocab_trie.h"

namespace qkv {

class SubwordPipeline;
struct PipelineParts;

// The largest TokenizerOptions::max_chars_per_word (tokenizer.json's max_input_chars_per_word) accepted;
// Hugging Face's default is 100. It bounds the memory and work one word can take.
inline constexpr int kMaxCharsPerWordLimit = 4096;

struct TokenizerOptions {
  bool lower_case = true;              // uncased models
  bool strip_accents = true;           // HF: strip_accents null means "same as lower_case"
  bool tokenize_chinese_chars = true;  // every CJK ideograph its own word
  int max_chars_per_word = 100;  // longer words (in code points) become [UNK]; in [1, kMaxCharsPerWordLimit]
  bool clean_text = true;        // drop NUL, U+FFFD and control characters
};

// Ids of the special tokens, looked up in the vocabulary. -1 when the vocabulary lacks one.
// For a pipeline tokenizer: cls and sep are the post-processor's first and last special token of one text
// (RoBERTa: <s>, </s>), unk the model's unk_token, pad and mask "<pad>" / "<mask>" (else "[PAD]" /
// "[MASK]") when the vocabulary has them.
struct SpecialTokens {
  int32_t cls = -1;   // [CLS]
  int32_t sep = -1;   // [SEP]
  int32_t pad = -1;   // [PAD]
  int32_t unk = -1;   // [UNK]
  int32_t mask = -1;  // [MASK]
};

// The tokens of one single text or text pair, [CLS] ... [SEP] (... [SEP]) included (or the specials the
// tokenizer's post-processor places). All vectors have the same length T.
struct Encoding {
  std::vector<int32_t> ids;
  // WordPiece: 0 for the first text (and [CLS] and its [SEP]), 1 for the second. Otherwise as the
  // post-processor says (RoBERTa: all 0).
  std::vector<int32_t> type_ids;
  std::vector<std::string> tokens;  // the vocabulary entries of the ids (byte-level BPE: "Ġhello")
  // Byte offsets [begin, end) into the text the token came from (sequence[i]: 0 the first text, 1 the
  // second; for WordPiece the same as type_ids). Special tokens have {0, 0}.
  std::vector<std::pair<int32_t, int32_t>> offsets;
  std::vector<int32_t> sequence;  // 0 or 1: which text the token came from or, for a special, belongs to
  std::vector<bool> special;      // true for [CLS] / [SEP]
  bool truncated = false;         // true when tokens were dropped to fit max_length
};

// What Encode / EncodePair do with text longer than LengthLimit::max_length tokens.
enum class OverflowPolicy {
  // Keep the first pieces (a pair removes pieces from its longer text first, Hugging Face "longest_first")
  // and set Encoding::truncated.
  kTruncate,
  // Fail with OutOfRange "text is longer than max_length N tokens ([CLS] and [SEP] included)" (for a pair:
  // "text pair is longer ..."), having produced at most N + 1 tokens.
  kReject,
};

// A token limit for Encode / EncodePair.
struct LengthLimit {
  // Most tokens in the Encoding, specials included; 0 = no limit. Otherwise it must hold the specials (2
  // for one text, 3 for a pair with WordPiece; RoBERTa: 2 and 4): InvalidArgument naming max_length if
  // not, or if negative.
  int max_length = 0;
  OverflowPolicy overflow = OverflowPolicy::kTruncate;
};

class Tokenizer {
 public:
  // The token reported for an id that has no vocabulary entry: "[ID:<id>]", e.g. "[ID:30600]". A model's
  // embedding table may have more rows than its vocabulary (config.json's vocab_size is often padded past
  // vocab.txt); such ids still run through the model, and IdToToken names them with this placeholder.
  static constexpr absl::string_view kPlaceholderPrefix = "[ID:";

  // Reads a vocab.txt (one token per line; the line number is the id). REQUIRES the vocabulary to hold
  // [CLS], [SEP] and [UNK]; an error names the file otherwise. The added tokens are the special tokens
  // ([PAD], [UNK], [CLS], [SEP], [MASK]) the vocabulary holds, as transformers' BertTokenizer has them.
  static absl::StatusOr<Tokenizer> FromVocabFile(const std::string& vocab_path,
                                                 const TokenizerOptions& options);

  // Reads a Hugging Face model directory. With a tokenizer.json whose model is WordPiece (or without
  // tokenizer.json): vocab.txt (or the WordPiece vocab inside tokenizer.json when there is no vocab.txt),
  // and the casing options from tokenizer.json's normalizer, else tokenizer_config.json, else the defaults
  // (uncased). With a BPE or Unigram model: the pipeline tokenizer.json states (docs/tokenizers.md lists
  // the supported component types). A component type qkv does not support is InvalidArgument naming it, e.g.
  // "normalizer.type Nmt is not supported". The added tokens are tokenizer.json's "added_tokens", matched as
  // HF's AddedVocabulary matches them (normalized=false in the raw text, normalized=true after the
  // normalizer; lstrip, rstrip, single_word), with HF's ids: the vocabulary's id of the content, else the
  // next id past the vocabulary (which grows by it). Without tokenizer.json they are the special tokens the
  // vocabulary holds.
  static absl::StatusOr<Tokenizer> FromModelDirectory(const std::string& dir);

  // Tokenizes `text` as [CLS] text [SEP] within `limit` (see LengthLimit and OverflowPolicy); the work
  // stops once the limit is settled. Invalid UTF-8 anywhere in the text is InvalidArgument.
  absl::StatusOr<Encoding> Encode(absl::string_view text, const LengthLimit& limit) const;
  // Encode(text, LengthLimit{max_length}): `max_length` > 0 truncates, 0 means no limit.
  absl::StatusOr<Encoding> Encode(absl::string_view text, int max_length = 0) const {
    return Encode(text, LengthLimit{max_length});
  }

  // Tokenizes a pair as [CLS] a [SEP] b [SEP] within `limit`; truncation removes tokens from the longer
  // text first (HF "longest_first"), and needs at most max_length - 2 pieces of each text.
  absl::StatusOr<Encoding> EncodePair(absl::string_view text_a, absl::string_view text_b,
                                      const LengthLimit& limit) const;
  // EncodePair(text_a, text_b, LengthLimit{max_length}).
  absl::StatusOr<Encoding> EncodePair(absl::string_view text_a, absl::string_view text_b,
                                      int max_length = 0) const {
    return EncodePair(text_a, text_b, LengthLimit{max_length});
  }

  // Word pieces of `text` without specials or truncation (for tests and the Tokenize RPC).
  absl::StatusOr<std::vector<std::string>> WordPieces(absl::string_view text) const;

  int32_t vocab_size() const { return static_cast<int32_t>(id_to_token_.size()); }
  // The vocabulary token of `id` when 0 <= id < vocab_size(); otherwise (any other id) the placeholder
  // kPlaceholderPrefix + id + "]", e.g. "[ID:30600]". Never reads outside the vocabulary.
  std::string IdToToken(int32_t id) const;
  // -1 when absent.
  int32_t TokenToId(absl::string_view token) const;
  const SpecialTokens& special_tokens() const { return special_; }
  const AddedTokens& added_tokens() const { return added_tokens_; }
  // WordPiece: the BERT options. Pipeline tokenizers: lower_case is false, the rest unused.
  const TokenizerOptions& options() const { return options_; }
  // The tokenizer.json model type: "WordPiece", "BPE" or "Unigram".
  const std::string& model_type() const { return model_type_; }

  // A vocabulary id and the bytes of the text it covers.
  using Piece = TokenPiece;

 private:
  Tokenizer() = default;
  // Builds the maps from `tokens` (id = index; the first of duplicate tokens keeps its id) and checks the
  // options, the special tokens and the added tokens (nullptr: the special tokens in the vocabulary).
  // `source` names the file in errors. Only the first `model_size` tokens are WordPiece's; the others are
  // added tokens past its vocabulary.
  static absl::StatusOr<Tokenizer> FromTokens(std::vector<std::string> tokens,
                                              const TokenizerOptions& options, const std::string& source,
                                              const std::vector<AddedToken>* added_tokens = nullptr,
                                              size_t model_size = std::numeric_limits<size_t>::max());
  // A pipeline tokenizer from a parsed tokenizer.json (ReadPipelineJson); `source` names the file.
  static absl::StatusOr<Tokenizer> FromPipeline(PipelineParts parts, const std::string& source);

  // Places the special tokens as `specials` says; cls / sep become its first and last special of one
  // text. InvalidArgument (naming `source`) when an id is outside the vocabulary or the text is not between
  // two special tokens.
  absl::Status SetSpecialsTemplate(SpecialsTemplate specials, const std::string& source);

  // Appends the encoding of `items` (a template of specials_) around the first keep[s] of pieces[s].
  void Assemble(const std::vector<TemplateItem>& items, const std::vector<Piece>* pieces[2],
                const size_t keep[2], Encoding* encoding) const;

  // Replaces `pieces` by the pieces of `text` (its added tokens and the word pieces between them), read
  // chunk by chunk, stopping once `max_pieces` exist (the rest of the text is only checked to be UTF-8).
  absl::Status Pieces(absl::string_view text, size_t max_pieces, std::vector<Piece>* pieces) const;

  TokenizerOptions options_;
  SpecialTokens special_;
  std::vector<std::string> id_to_token_;
  absl::flat_hash_map<std::string, int32_t> token_to_id_;
  // Every token that a word of at most max_chars_per_word characters can match, for WordPiece.
  VocabTrie trie_;
  int32_t continuation_root_ = VocabTrie::kNone;  // trie_'s node of "##"
  AddedTokens added_tokens_;             // normalized=false: matched in the raw text
  AddedTokens normalized_added_tokens_;  // WordPiece's normalized=true: matched after BertNormalizer
  std::string model_type_ = "WordPiece";
  SpecialsTemplate specials_;
  // Null for WordPiece, which Pieces runs fused with the BERT normalizer and pre-tokenizer.
  std::shared_ptr<const SubwordPipeline> pipeline_;
};

}  // namespace qkv

#endif  // QKV_CORE_TOKENIZER_H_
