// AddedTokens: vocabulary entries matched verbatim in the raw text before normalization, as Hugging Face
// tokenizers' AddedVocabulary does for added tokens with normalized=false (BERT's special tokens): "[MASK]"
// typed in a text is the [MASK] id, not "[", "mask", "]".
//
// Thread safety: immutable after construction; MatchAt is const and safe from any number of threads.
#ifndef QKV_CORE_ADDED_TOKENS_H_
#define QKV_CORE_ADDED_TOKENS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace qkv {

struct AddedToken {
  std::string content;  // matched byte for byte; UTF-8
  int32_t id;
  // HF's lstrip / rstrip: the match also takes the white space before / after it. Only pipeline
  // tokenizers (SubwordPipeline) apply them; the BERT path loads no such token.
  bool lstrip = false;
  bool rstrip = false;
};

class AddedTokens {
 public:
  // One match: bytes [begin, end) of the text are the added token `id`.
  struct Match {
    size_t begin;
    size_t end;
    int32_t id;
    bool lstrip;  // the token's flags, for the caller to extend the match
    bool rstrip;
  };

  AddedTokens() = default;
  // Empty contents are ignored; of two tokens with the same content, the later one wins (HF's order).
  explicit AddedTokens(const std::vector<AddedToken>& tokens);

  // The longest token that starts at byte `offset` of `text`: true and `*match` set, or false. Reading the
  // text left to right, calling it at each character reached and skipping a match's bytes gives HF's
  // non-overlapping leftmost-longest matches, and reads no further than the reader got. Cost: O(tokens
  // sharing the byte at `offset`). REQUIRES: offset <= text.size().
  bool MatchAt(absl::string_view text, size_t offset, Match* match) const;

  bool empty() const { return count_ == 0; }

 private:
  // by_first_byte_[b]: the tokens whose content starts with byte b, longest first.
  std::array<std::vector<AddedToken>, 256> by_first_byte_;
  size_t count_ = 0;
};

}  // namespace qkv

#endif  // QKV_CORE_ADDED_TOKENS_H_
