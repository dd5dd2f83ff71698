#include "core/added_tokens.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"

namespace qkv {

AddedTokens::AddedTokens(const std::vector<AddedToken>& tokens) {
  absl::flat_hash_map<std::string, int32_t> by_content;
  for (const AddedToken& token : tokens) {
    if (!token.content.empty()) by_content[token.content] = token.id;
  }
  for (const auto& [content, id] : by_content) {
    by_first_byte_[static_cast<uint8_t>(content[0])].push_back({content, id});
  }
  for (std::vector<AddedToken>& group : by_first_byte_) {
    std::sort(group.begin(), group.end(), [](const AddedToken& a, const AddedToken& b) {
      return a.content.size() != b.content.size() ? a.content.size() > b.content.size()
                                                  : a.content < b.content;
    });
  }
  count_ = by_content.size();
}

std::vector<AddedTokens::Match> AddedTokens::FindAll(absl::string_view text) const {
  std::vector<Match> matches;
  if (count_ == 0) return matches;
  size_t i = 0;
  while (i < text.size()) {
    const std::vector<AddedToken>& candidates = by_first_byte_[static_cast<uint8_t>(text[i])];
    const absl::string_view rest = text.substr(i);
    const auto found = std::find_if(candidates.begin(), candidates.end(), [&](const AddedToken& token) {
      return absl::StartsWith(rest, token.content);
    });
    if (found == candidates.end()) {
      ++i;
      continue;
    }
    matches.push_back({i, i + found->content.size(), found->id});
    i += found->content.size();
  }
  return matches;
}

}  // namespace qkv
