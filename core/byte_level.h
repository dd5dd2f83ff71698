// ByteLevel pre-tokenization (GPT-2 / RoBERTa byte-level BPE, Hugging Face tokenizers' ByteLevel): an
// optional prefix space, GPT-2's split into words, then every UTF-8 byte of a word as one printable
// character (GPT-2's bytes_to_unicode), so that a BPE vocabulary of 256 base symbols covers any text.
//
// Thread safety: immutable after construction; safe from any number of threads.
#ifndef QKV_CORE_BYTE_LEVEL_H_
#define QKV_CORE_BYTE_LEVEL_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/tokenizer_components.h"

namespace qkv {

// The character GPT-2's bytes_to_unicode maps `byte` to: itself for the printable bytes '!'..'~',
// U+00A1..U+00AC and U+00AE..U+00FF, U+0100 + n for the n-th other byte (' ' is U+0120 'Ġ').
char32_t ByteLevelChar(uint8_t byte);

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  // add_prefix_space: a text (each stretch between added tokens) not starting with ' ' gets one, which
  // covers its first character's bytes. use_regex: split with GPT-2's pattern
  //   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  // (else the whole text is one word). Each byte character covers the bytes of its original character.
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}

  void Split(const CharString& text, bool at_start, std::vector<CharString>* words) const override;

 private:
  bool add_prefix_space_;
  bool use_regex_;
};

// The byte-level ends [begin, end) of the words GPT-2's pattern splits `text` into (the pattern above; \s
// is White_Space, \p{L} / \p{N} the general categories). Exposed for tests.
std::vector<std::pair<size_t, size_t>> Gpt2Split(const CharString& text);

}  // namespace qkv

#endif  // QKV_CORE_BYTE_LEVEL_H_
