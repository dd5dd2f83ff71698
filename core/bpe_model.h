// BpeModel: Hugging Face tokenizers' BPE model: a word's characters become vocabulary symbols, then the
// ranked merges join neighbouring symbols, lowest rank first (leftmost on a tie), until none applies.
// Unknown characters become unk_token (fused into one when fuse_unk), or their bytes' "<0xXX>" tokens
// with byte_fallback, or are dropped when the model has neither, as HF does.
//
// Cost: O(n log n) per word of n characters (a heap of candidate merges), whatever the merge table holds.
// Thread safety: immutable after Create; Tokenize is const and safe from any number of threads.
#ifndef QKV_CORE_BPE_MODEL_H_
#define QKV_CORE_BPE_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/tokenizer_components.h"

namespace qkv {

struct BpeOptions {
  std::string unk_token;                  // "" = none
  bool fuse_unk = false;                  // consecutive unknown characters make one unk_token
  bool byte_fallback = false;             // unknown characters as their bytes' "<0xXX>" tokens
  bool ignore_merges = false;             // a word that is a vocabulary token stays whole
  std::string continuing_subword_prefix;  // prepended to every character but a word's first
  std::string end_of_word_suffix;         // appended to a word's last character
};

class BpeModel : public SubwordModel {
 public:
  // `vocab`: token -> id. `merges`: (left, right) in rank order; the later of two equal pairs wins, as in
  // HF. InvalidArgument naming the merge when its left, right or joined token is not in the vocabulary, or
  // naming unk_token when it is not.
  static absl::StatusOr<std::unique_ptr<BpeModel>> Create(
      absl::flat_hash_map<std::string, int32_t> vocab,
      const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options);

  void Tokenize(const CharString& word, std::vector<TokenPiece>* pieces) const override;

  int32_t unk_id() const { return unk_id_; }  // -1 without unk_token

 private:
  struct Merge {
    int32_t rank;
    int32_t id;  // of the joined token
  };
  static uint64_t PairKey(int32_t left, int32_t right) {
    return static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32 | static_cast<uint32_t>(right);
  }
  int32_t Find(const std::string& token) const;

  BpeOptions options_;
  absl::flat_hash_map<std::string, int32_t> vocab_;
  absl::flat_hash_map<uint64_t, Merge> merges_;
  int32_t unk_id_ = -1;
};

}  // namespace qkv

#endif  // QKV_CORE_BPE_MODEL_H_
