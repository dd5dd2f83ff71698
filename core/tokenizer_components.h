// The stages of a tokenizer.json pipeline other than BERT WordPiece's (which tokenizer.cc runs fused, in
// chunks): a Normalizer rewrites the text between the added tokens, a PreTokenizer splits it into words, a
// SubwordModel turns each word into vocabulary pieces. Text travels as CharString: code points, each with
// the byte range of the original character it came from, so every piece's offsets are original bytes.
//
// Thread safety: every component is immutable after construction; the const methods are safe from any
// number of threads.
#ifndef QKV_CORE_TOKENIZER_COMPONENTS_H_
#define QKV_CORE_TOKENIZER_COMPONENTS_H_

#include <cstdint>
#include <vector>

#include "core/token_piece.h"
#include "core/unicode_text.h"

namespace qkv {

using CharString = std::vector<Utf8Char>;

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites `text` in place; each output character keeps the range of the original it came from.
  virtual void Normalize(CharString* text) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `words` by the words of `text`, in order (no empty word). `at_start`: the stretch of text
  // (between added tokens) begins at the start of the original text.
  virtual void Split(const CharString& text, bool at_start, std::vector<CharString>* words) const = 0;
};

class SubwordModel {
 public:
  virtual ~SubwordModel() = default;
  // Appends the pieces of `word` (non-empty) to `pieces`; offsets from the characters' ranges.
  virtual void Tokenize(const CharString& word, std::vector<TokenPiece>* pieces) const = 0;
};

}  // namespace qkv

#endif  // QKV_CORE_TOKENIZER_COMPONENTS_H_
