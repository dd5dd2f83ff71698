// VocabTrie: a byte trie over a WordPiece vocabulary, so that greedy longest-match costs one lookup per byte
// walked (at most the longest vocabulary piece) instead of one hash of every candidate substring.
//
// Thread safety: immutable after the Insert calls; the const methods are safe from any number of threads.
#ifndef QKV_CORE_VOCAB_TRIE_H_
#define QKV_CORE_VOCAB_TRIE_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace qkv {

class VocabTrie {
 public:
  // "No node" from Next() and "no token ends here" from Id().
  static constexpr int32_t kNone = -1;
  // The node of the empty string.
  static constexpr int32_t kRoot = 0;

  // Adds `token` (any bytes) with `id` >= 0. When a token is added twice, the first id stays.
  void Insert(absl::string_view token, int32_t id);

  // The node reached from `node` by one more byte, or kNone. REQUIRES: `node` came from this trie.
  int32_t Next(int32_t node, uint8_t byte) const {
    const auto it = edges_.find(EdgeKey(node, byte));
    return it == edges_.end() ? kNone : it->second;
  }
  // The node reached from `node` by `bytes`, or kNone.
  int32_t Walk(int32_t node, absl::string_view bytes) const;
  // The id of the token that ends at `node`, or kNone. REQUIRES: `node` came from this trie.
  int32_t Id(int32_t node) const { return ids_[static_cast<size_t>(node)]; }

  int64_t num_nodes() const { return static_cast<int64_t>(ids_.size()); }

 private:
  static uint64_t EdgeKey(int32_t node, uint8_t byte) { return static_cast<uint64_t>(node) << 8 | byte; }

  std::vector<int32_t> ids_ = {kNone};            // per node: the token id ending there
  absl::flat_hash_map<uint64_t, int32_t> edges_;  // (node << 8 | byte) -> child node
};

}  // namespace qkv

#endif  // QKV_CORE_VOCAB_TRIE_H_
