#include "core/added_tokens.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"

namespace qkv {

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

bool AddedTokens::MatchAt(absl::string_view text, size_t offset, Match* match) const {
  if (count_ == 0 || offset >= text.size()) return false;
  const std::vector<AddedToken>& candidates = by_first_byte_[static_cast<uint8_t>(text[offset])];
  const absl::string_view rest = text.substr(offset);
  const auto found = std::find_if(candidates.begin(), candidates.end(), [&](const AddedToken& token) {
    return absl::StartsWith(rest, token.content);
  });
  if (found == candidates.end()) return false;
  *match = {offset, offset + found->content.size(), found->id, found->lstrip, found->rstrip};
  return true;
}

}  // namespace qkv
