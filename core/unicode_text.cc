#include "core/unicode_text.h"

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "unicode/uchar.h"
#include "unicode/unorm2.h"
#include "unicode/ustring.h"
#include "unicode/utf16.h"

namespace qkv {
namespace {

absl::Status Utf8Error(absl::string_view what, size_t offset) {
  return absl::InvalidArgumentError(absl::StrFormat("text is not valid UTF-8: %s at byte %d", what, offset));
}

bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Code points as UTF-16, for the ICU C API. Returns the number of units written (1 or 2).
int32_t ToUtf16(char32_t c, UChar units[2]) {
  int32_t n = 0;
  U16_APPEND_UNSAFE(units, n, static_cast<UChar32>(c));
  return n;
}

void AppendUtf16(const UChar* units, int32_t n, std::u32string* out) {
  for (int32_t i = 0; i < n;) {
    UChar32 c;
    U16_NEXT(units, i, n, c);
    out->push_back(static_cast<char32_t>(c));
  }
}

}  // namespace

absl::StatusOr<Utf8Char> DecodeUtf8At(absl::string_view text, size_t offset) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const size_t size = text.size();
  const size_t i = offset;
  const uint8_t lead = bytes[i];
  if (lead < 0x80) return Utf8Char{lead, static_cast<int32_t>(i), static_cast<int32_t>(i + 1)};
  int length;
  char32_t c;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    c = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    c = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    c = lead & 0x07;
  } else if (lead == 0xC0 || lead == 0xC1) {
    return Utf8Error("overlong encoding", i);
  } else if (IsContinuation(lead)) {
    return Utf8Error("unexpected continuation byte", i);
  } else {
    return Utf8Error(absl::StrFormat("invalid lead byte 0x%02X", lead), i);
  }
  for (int k = 1; k < length; ++k) {
    if (i + k >= size) return Utf8Error("truncated sequence", i);
    if (!IsContinuation(bytes[i + k])) return Utf8Error("truncated sequence", i);
    c = (c << 6) | (bytes[i + k] & 0x3F);
  }
  if ((length == 3 && c < 0x800) || (length == 4 && c < 0x10000)) {
    return Utf8Error("overlong encoding", i);
  }
  if (c >= 0xD800 && c <= 0xDFFF) return Utf8Error("surrogate code point", i);
  if (c > 0x10FFFF) return Utf8Error("code point above U+10FFFF", i);
  return Utf8Char{c, static_cast<int32_t>(i), static_cast<int32_t>(i + length)};
}

absl::StatusOr<std::vector<Utf8Char>> DecodeUtf8(absl::string_view text) {
  if (text.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError("text is too long (more than 2^31-1 bytes)");
  }
  std::vector<Utf8Char> chars;
  chars.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    absl::StatusOr<Utf8Char> c = DecodeUtf8At(text, i);
    if (!c.ok()) return c.status();
    chars.push_back(*c);
    i = static_cast<size_t>(c->end);
  }
  return chars;
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

bool IsBertWhitespace(char32_t c) {
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return true;
  if (c < 0x80) return false;
  return u_charType(static_cast<UChar32>(c)) == U_SPACE_SEPARATOR;
}

bool IsBertControl(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  if (c < 0x80) return c < 0x20 || c == 0x7F;
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_C_MASK) != 0;
}

bool IsWordSeparator(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= '\t' && c <= '\r');
  return u_isUWhiteSpace(static_cast<UChar32>(c)) || u_charType(static_cast<UChar32>(c)) == U_SPACE_SEPARATOR;
}

bool IsBertPunctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) {
    return true;
  }
  if (c < 0x80) return false;
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_P_MASK) != 0;
}

bool IsCjkIdeograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void AppendLowercase(char32_t c, std::u32string* out) {
  if (c < 0x80) {
    out->push_back(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    return;
  }
  UChar src[2];
  const int32_t src_length = ToUtf16(c, src);
  UChar dest[16];  // full lowercase mappings are at most 3 code points
  UErrorCode error = U_ZERO_ERROR;
  const int32_t n = u_strToLower(dest, 16, src, src_length, "", &error);
  if (U_FAILURE(error) || n > 16) {
    out->push_back(c);
    return;
  }
  AppendUtf16(dest, n, out);
}

void AppendWithoutAccents(char32_t c, std::u32string* out) {
  if (c < 0x80) {
    out->push_back(c);
    return;
  }
  UErrorCode error = U_ZERO_ERROR;
  const UNormalizer2* nfd = unorm2_getNFDInstance(&error);
  UChar decomposition[32];  // canonical decompositions are at most 4 code points
  int32_t n = -1;
  if (U_SUCCESS(error)) {
    n = unorm2_getDecomposition(nfd, static_cast<UChar32>(c), decomposition, 32, &error);
  }
  if (U_FAILURE(error) || n < 0 || n > 32) {  // no decomposition: the character itself
    n = ToUtf16(c, decomposition);
  }
  for (int32_t i = 0; i < n;) {
    UChar32 d;
    U16_NEXT(decomposition, i, n, d);
    if (u_charType(d) != U_NON_SPACING_MARK) out->push_back(static_cast<char32_t>(d));
  }
}

}  // namespace qkv
