// UnigramModel: Hugging Face tokenizers' Unigram model (SentencePiece unigram): the segmentation of a word
// into vocabulary pieces with the highest total log-probability (Viterbi over the character positions; a
// character no piece starts with costs the lowest score minus 10 as unk). Consecutive unknown pieces fuse
// into one unk; with byte_fallback an unknown piece becomes its bytes' "<0xXX>" tokens when all exist.
// Ties keep the first candidate found (shorter pieces first), as HF does.
//
// Cost: O(n * longest piece) per word of n bytes.
// Thread safety: immutable after Create; Tokenize is const and safe from any number of threads.
#ifndef QKV_CORE_UNIGRAM_MODEL_H_
#define QKV_CORE_UNIGRAM_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/tokenizer_components.h"
#include "core/vocab_trie.h"

namespace qkv {

class UnigramModel : public SubwordModel {
 public:
  // `pieces`: (token, score) by id. InvalidArgument when empty, when unk_id is outside it, or a score is not
  // finite.
  static absl::StatusOr<std::unique_ptr<UnigramModel>> Create(
      std::vector<std::pair<std::string, double>> pieces, int32_t unk_id, bool byte_fallback);

  void Tokenize(const CharString& word, std::vector<TokenPiece>* pieces) const override;

 private:
  UnigramModel() = default;

  std::vector<double> scores_;
  absl::flat_hash_map<std::string, int32_t> token_to_id_;
  VocabTrie trie_;
  int32_t unk_id_ = -1;
  bool byte_fallback_ = false;
  double unk_score_ = 0;
};

}  // namespace qkv

#endif  // QKV_CORE_UNIGRAM_MODEL_H_
