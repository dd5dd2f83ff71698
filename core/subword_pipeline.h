// SubwordPipeline: the text-to-pieces stage of a tokenizer.json tokenizer that is not BERT WordPiece (BPE,
// Unigram): added tokens (normalized=false) matched in the raw text, then, for each stretch of text between
// them, the normalizer, the normalized=true added tokens, and the pre-tokenizer and the subword model on the
// text between those, in Hugging Face tokenizers' order; then the ByteLevel offset trimming of
// RobertaProcessing (trim_offsets).
//
// Cost: each stretch between added tokens is decoded, normalized and split whole; the model then runs word
// by word and stops at the first word that reaches the piece limit (the text after it is only checked to
// be UTF-8).
// Thread safety: immutable after construction; Pieces is const and safe from any number of threads.
#ifndef QKV_CORE_SUBWORD_PIPELINE_H_
#define QKV_CORE_SUBWORD_PIPELINE_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/added_tokens.h"
#include "core/tokenizer_components.h"

namespace qkv {

// RobertaProcessing's trim_offsets: a piece's offsets lose its leading and trailing spaces (the 'Ġ'
// characters of its token), except the prefix space of a text's first piece when add_prefix_space.
struct OffsetTrim {
  bool enabled = false;
  bool add_prefix_space = false;
};

class SubwordPipeline {
 public:
  // `normalizer` and `pre_tokenizer` may be null (no normalization; each stretch is one word).
  SubwordPipeline(std::unique_ptr<Normalizer> normalizer, std::unique_ptr<PreTokenizer> pre_tokenizer,
                  std::unique_ptr<SubwordModel> model, OffsetTrim trim)
      : normalizer_(std::move(normalizer)),
        pre_tokenizer_(std::move(pre_tokenizer)),
        model_(std::move(model)),
        trim_(trim) {}

  // Replaces `pieces` by the first `max_pieces` (or more, up to the end of a word) pieces of `text`; the
  // caller keeps the first max_pieces. `added` are matched in the raw text; `vocab` (id -> token) names the
  // pieces for the offset trimming. Invalid UTF-8 anywhere in the text is InvalidArgument.
  absl::Status Pieces(absl::string_view text, size_t max_pieces, const AddedTokens& added,
                      absl::Span<const std::string> vocab, std::vector<TokenPiece>* pieces) const;

  // The added tokens with normalized=true: their contents go through the normalizer, and Pieces matches
  // them in each normalized stretch (HF's second pass). Call once, before any Pieces call.
  void SetNormalizedTokens(const std::vector<AddedToken>& tokens);

 private:
  // Pre-tokenizes `text` (normalized; a stretch between added tokens) and appends its pieces, stopping
  // after the word that reaches max_pieces. `words` is scratch.
  void TokenizeWords(const CharString& text, size_t max_pieces, std::vector<CharString>* words,
                     std::vector<TokenPiece>* pieces) const;
  // Per piece: the text of an added token as HF holds it (the raw text it covers; for a normalized=true
  // token, the normalized text), which the offset trimming reads; nullopt for the model's pieces.
  using AddedValue = std::optional<std::string>;

  // TokenizeWords on the parts of `text` between the normalized added tokens, which become pieces too
  // (`added` grows with pieces).
  void TokenizeNormalized(const CharString& text, size_t max_pieces, std::vector<CharString>* words,
                          std::vector<TokenPiece>* pieces, std::vector<AddedValue>* added) const;

  // `text` is the text the pieces came from; trims by the token strings: added[i] for added tokens,
  // vocab[id] for the others.
  void TrimOffsets(absl::string_view text, absl::Span<const std::string> vocab,
                   const std::vector<AddedValue>& added, std::vector<TokenPiece>* pieces) const;

  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<SubwordModel> model_;
  OffsetTrim trim_;
  AddedTokens normalized_added_;
};

}  // namespace qkv

#endif  // QKV_CORE_SUBWORD_PIPELINE_H_
