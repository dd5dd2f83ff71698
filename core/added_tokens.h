// AddedTokens: vocabulary entries matched verbatim in a text and cut out of it before the model sees it, as
// Hugging Face tokenizers' AddedVocabulary does: "[MASK]" typed in a text is the [MASK] id, not "[", "mask",
// "]". A tokenizer holds two sets: tokens with normalized=false, matched in the raw text, and tokens with
// normalized=true, whose content the tokenizer normalizes and matches in the normalized text between the
// first set's matches. Each token's lstrip / rstrip (take the white space before / after it), single_word
// (match only where no word character touches it) behave as in HF's find_matches.
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
  bool lstrip = false;       // the match also takes the white space before it (back to the previous match)
  bool rstrip = false;       // the match also takes the white space after it
  bool single_word = false;  // no match where a word character (regex \w) is just before or after it
  bool normalized = false;   // HF's flag: which set the tokenizer puts the token in
};

class AddedTokens {
 public:
  // One match of HF's find_matches.
  struct Match {
    size_t begin;      // bytes [begin, end) of the text become the token `id`: the token's content, with
    size_t end;        // the white space lstrip / rstrip take
    size_t token_end;  // where the content ends
    int32_t id;
    // A single_word token with a word character beside it: HF skips [offset, token_end) as plain text
    // (no other token starts inside it), and begin, end and id are unset.
    bool discarded;
  };

  AddedTokens() = default;
  // Empty contents are ignored; of two tokens with the same content, the later one wins (HF's order).
  explicit AddedTokens(const std::vector<AddedToken>& tokens);

  // The longest token that starts at byte `offset` of `text`: true and `*match` set, or false. lstrip goes
  // back no further than `floor` (the end of the previous match). Reading the text left to right, calling
  // it at each character reached and skipping a match's bytes gives HF's non-overlapping leftmost-longest
  // matches, reading at most one character past the token (rstrip: past its white space). Cost: O(tokens
  // sharing the byte at `offset`). REQUIRES: floor <= offset <= text.size(); text[0, offset) is valid
  // UTF-8 (white space after the token is taken only while it decodes).
  bool MatchAt(absl::string_view text, size_t offset, size_t floor, Match* match) const;

  bool empty() const { return count_ == 0; }

 private:
  // by_first_byte_[b]: the tokens whose content starts with byte b, longest first.
  std::array<std::vector<AddedToken>, 256> by_first_byte_;
  size_t count_ = 0;
};

}  // namespace qkv

#endif  // QKV_CORE_ADDED_TOKENS_H_
