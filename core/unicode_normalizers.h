// The Unicode normalizers of tokenizer.json: NFC, NFD, NFKC, NFKD and StripAccents, as Hugging Face
// tokenizers runs them (unicode-normalization-alignments, Unicode 9.0 data): code points assigned after
// Unicode 9.0 are left as they are. Offsets follow HF's alignment rules: the first code point of a
// decomposition keeps the range of the character it replaces, the others (insertions) take the range of the
// character before; a composition takes the range of its first part.
//
// Thread safety: immutable; Normalize is const and safe from any number of threads.
#ifndef QKV_CORE_UNICODE_NORMALIZERS_H_
#define QKV_CORE_UNICODE_NORMALIZERS_H_

#include "core/tokenizer_components.h"

namespace qkv {

enum class UnicodeForm { kNfc, kNfd, kNfkc, kNfkd };

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(UnicodeForm form) : form_(form) {}
  void Normalize(CharString* text) const override;

 private:
  UnicodeForm form_;
};

// HF's StripAccents: drops every combining mark (general category M), without decomposing first (a
// tokenizer.json puts NFD before it).
class StripAccentsNormalizer : public Normalizer {
 public:
  void Normalize(CharString* text) const override;
};

}  // namespace qkv

#endif  // QKV_CORE_UNICODE_NORMALIZERS_H_
