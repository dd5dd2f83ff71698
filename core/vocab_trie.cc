#include "core/vocab_trie.h"

namespace qkv {

void VocabTrie::Insert(absl::string_view token, int32_t id) {
  int32_t node = kRoot;
  for (const char c : token) {
    const auto [it, inserted] =
        edges_.try_emplace(EdgeKey(node, static_cast<uint8_t>(c)), static_cast<int32_t>(ids_.size()));
    if (inserted) ids_.push_back(kNone);
    node = it->second;
  }
  if (ids_[static_cast<size_t>(node)] == kNone) ids_[static_cast<size_t>(node)] = id;
}

int32_t VocabTrie::Walk(int32_t node, absl::string_view bytes) const {
  for (const char c : bytes) {
    if (node == kNone) return kNone;
    node = Next(node, static_cast<uint8_t>(c));
  }
  return node;
}

}  // namespace qkv
