// Unicode helpers for the BERT tokenizer: strict UTF-8 decoding with byte offsets, and the character classes,
// accent stripping and lowercasing of Hugging Face tokenizers' BertNormalizer / BertPreTokenizer, exactly as
// that library (the reference for token ids) computes them. The classes come from ICU, corrected where HF's
// tables answer differently (older Unicode tables for categories and NFD, a newer Rust std for lowercase and
// white space) by core/unicode_hf_tables.inc, which scripts/unicode/generate_tables.py generates from the
// reference itself. Every function is pure and thread-safe.
#ifndef QKV_CORE_UNICODE_TEXT_H_
#define QKV_CORE_UNICODE_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qkv {

// One code point and the bytes [begin, end) of the text it was read from (after normalization: of the
// original character it came from).
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
// INT32_MAX. (common/utf8.h's DecodeUtf8At is the status-free codec underneath.)
absl::StatusOr<Utf8Char> DecodeCharAt(absl::string_view text, size_t offset);

// Rust's char::is_whitespace (the White_Space property): what BertNormalizer's clean_text turns into ' ' and
// what BertPreTokenizer splits words on.
bool IsBertWhitespace(char32_t c);

// The regex crate's Unicode \w (Alphabetic, M*, Nd, Pc, Join_Control): what an added token's single_word
// looks for beside a match.
bool IsRegexWordChar(char32_t c);

// Rust's char::is_numeric (Nd, Nl, No): what the Digits pre-tokenizer splits off.
bool IsRustNumeric(char32_t c);

// A combining mark (M*) to unicode-normalization-alignments' Unicode 9.0 tables: what the StripAccents
// normalizer drops.
bool IsHfCombiningMark(char32_t c);

// unicode_categories' is_other (Cc, Cf, Co, Cs; no unassigned code points) except \t, \n and \r:
// what clean_text drops.
bool IsBertControl(char32_t c);

// ASCII 33-47, 58-64, 91-96, 123-126, or punctuation (P*): BertPreTokenizer makes each its own word.
bool IsBertPunctuation(char32_t c);

// HF's is_chinese_char ranges (CJK ideographs): handle_chinese_chars makes each its own word.
bool IsCjkIdeograph(char32_t c);

// strip_accents over a whole text: its canonical decomposition (NFD, canonical ordering included) without
// the nonspacing marks (Mn): "e\u0301" and "\u00E9" -> "e". Each output character keeps the byte range of
// the character it came from.
void StripAccents(std::vector<Utf8Char>* text);

// lowercase: each character replaced by its full (possibly multi-character) lowercase mapping, as Rust's
// char::to_lowercase gives it (no context: a lone capital sigma is "σ"). Each output character keeps the
// byte range of the character it came from.
void Lowercase(std::vector<Utf8Char>* text);

}  // namespace qkv

#endif  // QKV_CORE_UNICODE_TEXT_H_
