// The UTF-8 codec (RFC 3629) shared by the tokenizer (strict: errors with byte offsets) and the CLI
// (lenient: U+FFFD in place of bad bytes). Pure functions; thread-safe.
//
//   for (size_t i = 0; i < text.size();) {
//     const Utf8Decoded d = DecodeUtf8At(text, i);
//     if (d.error != Utf8Error::kNone) { ...; }   // d.length bytes are the bad sequence
//     i += d.length;
//   }
#ifndef QKV_COMMON_UTF8_H_
#define QKV_COMMON_UTF8_H_

#include <string>

#include "absl/strings/string_view.h"

namespace qkv {

// Why a sequence is not valid UTF-8, in the order they are checked.
enum class Utf8Error {
  kNone,
  kOverlongLead,            // 0xC0 or 0xC1: always an overlong 2-byte form
  kUnexpectedContinuation,  // a lead byte 0x80-0xBF
  kInvalidLead,             // 0xF5-0xFF
  kTruncated,               // fewer continuation bytes than the lead byte announces
  kOverlong,                // a 3- or 4-byte form of a smaller code point
  kSurrogate,               // U+D800-U+DFFF
  kAboveMax,                // above U+10FFFF
};

// A short description for error messages, e.g. "truncated sequence" ("" for kNone).
const char* Utf8ErrorText(Utf8Error error);

struct Utf8Decoded {
  char32_t code_point = 0;  // U+FFFD when error != kNone
  int length = 1;           // bytes consumed, >= 1. On an error: the lead byte and the continuation bytes
                            // it claimed (1 for a lead that announces no sequence)
  Utf8Error error = Utf8Error::kNone;
};

// Decodes the code point that starts at text[pos]. REQUIRES: pos < text.size().
Utf8Decoded DecodeUtf8At(absl::string_view text, size_t pos);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or values above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// Appends the UTF-8 encoding of `code_point`; U+FFFD for a surrogate or a value above U+10FFFF.
void AppendUtf8(char32_t code_point, std::string* out);

}  // namespace qkv

#endif  // QKV_COMMON_UTF8_H_
