// PrecompiledNormalizer: Hugging Face tokenizers' `Precompiled` normalizer, which runs a SentencePiece
// model's precompiled_charsmap (its normalization rules, e.g. nmt_nfkc, compiled into a darts-clone double
// array trie over UTF-8 plus a blob of NUL-terminated replacement strings), with HF's rules: each grapheme
// cluster under 6 bytes is looked up whole (the shortest trie key that prefixes it gives its replacement),
// else character by character. Offsets follow HF's alignment of the replaced characters exactly, quirks
// included (a character removed at the very start shifts the alignment of those after it, as in HF).
//
// Thread safety: immutable after Create; Normalize is const and safe from any number of threads.
#ifndef QKV_CORE_PRECOMPILED_NORMALIZER_H_
#define QKV_CORE_PRECOMPILED_NORMALIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tokenizer_components.h"

namespace qkv {

class PrecompiledNormalizer : public Normalizer {
 public:
  // `charsmap`: the decoded bytes (tokenizer.json holds them in base64): a little-endian uint32 trie size in
  // bytes, the trie's uint32 units, then the replacement strings. InvalidArgument when malformed.
  static absl::StatusOr<std::unique_ptr<PrecompiledNormalizer>> Create(absl::string_view charsmap);

  void Normalize(CharString* text) const override;

  // The replacement of the shortest trie key that prefixes `chunk`, or false when none does.
  bool Transform(absl::string_view chunk, absl::string_view* replacement) const;

 private:
  PrecompiledNormalizer() = default;

  std::vector<uint32_t> trie_;
  std::string normalized_;  // NUL-terminated replacement strings
};

// A (character, change) list in Hugging Face's NormalizedString::transform form: change 0 replaces the
// next original character, +1 inserts (aligned with the previous original character), -n replaces the
// next one and removes n more. Applies it to `text` (original characters left over at the end are removed).
void ApplyTransformations(const std::vector<std::pair<char32_t, int64_t>>& transformations, CharString* text);

}  // namespace qkv

#endif  // QKV_CORE_PRECOMPILED_NORMALIZER_H_
