// Unicode helpers for the BERT tokenizer: strict UTF-8 decoding with byte offsets, the character classes
// of Hugging Face's BertNormalizer / BertPreTokenizer, and per-code-point lowercasing and accent stripping
// (ICU). Every function is pure and thread-safe.
#ifndef QKV_CORE_UNICODE_TEXT_H_
#define QKV_CORE_UNICODE_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qkv {

// One decoded code point and the bytes [begin, end) of the text it was read from.
struct Utf8Char {
  char32_t code_point;
  int32_t begin;
  int32_t end;
};

// Decodes `text` strictly (RFC 3629): a bad lead byte, a truncated sequence, an overlong encoding, a
// surrogate or a code point above U+10FFFF is InvalidArgument ("... not valid UTF-8 ... at byte N").
// REQUIRES: text.size() <= INT32_MAX (larger text is InvalidArgument too).
absl::StatusOr<std::vector<Utf8Char>> DecodeUtf8(absl::string_view text);

// Decodes the one character that starts at byte `offset` of `text`, with DecodeUtf8's checks and errors (the
// error names `offset`), for callers that read a text incrementally. REQUIRES: offset < text.size() <=
// INT32_MAX.
absl::StatusOr<Utf8Char> DecodeUtf8At(absl::string_view text, size_t offset);

// Appends the UTF-8 encoding of `code_point` (REQUIRES: a Unicode scalar value) to `out`.
void AppendUtf8(char32_t code_point, std::string* out);

// Space, \t, \n, \r or any Zs character (BertNormalizer's clean_text turns these into a space).
bool IsBertWhitespace(char32_t c);

// Any C* category (Cc, Cf, Cs, Co, Cn) except \t, \n and \r, which count as whitespace.
bool IsBertControl(char32_t c);

// Characters the pre-tokenizer splits words on: the Unicode White_Space property or Zs.
bool IsWordSeparator(char32_t c);

// ASCII 33-47, 58-64, 91-96, 123-126, or any P* category.
bool IsBertPunctuation(char32_t c);

// The CJK ideograph blocks that BERT splits into single-character words.
bool IsCjkIdeograph(char32_t c);

// Appends the full (possibly multi-character) lowercase mapping of `c`, as Rust's char::to_lowercase and
// Python's str.lower on a lone character give it.
void AppendLowercase(char32_t c, std::u32string* out);

// Appends the canonical decomposition (NFD) of `c` without its nonspacing marks (Mn): "é" -> "e".
void AppendWithoutAccents(char32_t c, std::u32string* out);

}  // namespace qkv

#endif  // QKV_CORE_UNICODE_TEXT_H_
