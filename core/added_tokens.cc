#include "core/added_tokens.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "common/utf8.h"
#include "core/unicode_text.h"

namespace qkv {
namespace {

// The character that ends at byte `end` of `text` (valid UTF-8 before `end`); `*begin` set to its start.
char32_t CharBefore(absl::string_view text, size_t end, size_t* begin) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
  *begin = start;
  return DecodeUtf8At(text, start).code_point;
}

}  // namespace

AddedTokens::AddedTokens(const std::vector<AddedToken>& tokens) {
  absl::flat_hash_map<std::string, AddedToken> by_content;
  for (const AddedToken& token : tokens) {
    if (!token.content.empty()) by_content[token.content] = token;
  }
  for (const auto& [content, token] : by_content) {
    by_first_byte_[static_cast<uint8_t>(content[0])].push_back(token);
  }
  for (std::vector<AddedToken>& group : by_first_byte_) {
    std::sort(group.begin(), group.end(), [](const AddedToken& a, const AddedToken& b) {
      return a.content.size() != b.content.size() ? a.content.size() > b.content.size()
                                                  : a.content < b.content;
    });
  }
  count_ = by_content.size();
}

bool AddedTokens::MatchAt(absl::string_view text, size_t offset, size_t floor, Match* match) const {
  if (count_ == 0 || offset >= text.size()) return false;
  const std::vector<AddedToken>& candidates = by_first_byte_[static_cast<uint8_t>(text[offset])];
  const absl::string_view rest = text.substr(offset);
  const auto found = std::find_if(candidates.begin(), candidates.end(), [&](const AddedToken& token) {
    return absl::StartsWith(rest, token.content);
  });
  if (found == candidates.end()) return false;
  const size_t token_end = offset + found->content.size();
  *match = {offset, token_end, token_end, found->id, false};
  if (found->single_word) {
    size_t unused;
    const bool word_before = offset > 0 && IsRegexWordChar(CharBefore(text, offset, &unused));
    const bool word_after =
        token_end < text.size() && IsRegexWordChar(DecodeUtf8At(text, token_end).code_point);
    if (word_before || word_after) {
      match->discarded = true;
      return true;
    }
  }
  if (found->lstrip) {
    size_t start = offset;
    while (start > floor) {
      size_t previous;
      if (!IsBertWhitespace(CharBefore(text, start, &previous))) break;
      start = previous;
    }
    match->begin = start;
  }
  if (found->rstrip) {
    while (match->end < text.size()) {
      const Utf8Decoded c = DecodeUtf8At(text, match->end);
      if (c.error != Utf8Error::kNone || !IsBertWhitespace(c.code_point)) break;
      match->end += static_cast<size_t>(c.length);
    }
  }
  return true;
}

}  // namespace qkv
