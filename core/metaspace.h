// MetaspacePreTokenizer: Hugging Face tokenizers' Metaspace (SentencePiece style): every ' ' becomes the
// replacement character (U+2581 "▁"), one is prepended per prepend_scheme, and the text splits before
// each replacement character ("▁Hello▁world" -> "▁Hello", "▁world").
//
// Thread safety: immutable; Split is const and safe from any number of threads.
#ifndef QKV_CORE_METASPACE_H_
#define QKV_CORE_METASPACE_H_

#include <vector>

#include "core/tokenizer_components.h"

namespace qkv {

enum class PrependScheme {
  kAlways,  // every stretch of text not starting with the replacement gets one
  kFirst,   // only the stretch at the start of the text
  kNever,
};

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme prepend, bool split)
      : replacement_(replacement), prepend_(prepend), split_(split) {}

  // The replacement of a ' ' covers the space's bytes; a prepended one covers the first character's.
  void Split(const CharString& text, bool at_start, std::vector<CharString>* words) const override;

 private:
  char32_t replacement_;
  PrependScheme prepend_;
  bool split_;
};

}  // namespace qkv

#endif  // QKV_CORE_METASPACE_H_
