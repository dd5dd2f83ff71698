#include "common/utf8.h"

#include <cstdint>

namespace qkv {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

bool IsSurrogate(char32_t c) { return c >= 0xD800 && c <= 0xDFFF; }

}  // namespace

const char* Utf8ErrorText(Utf8Error error) {
  // In the order of the enumerators.
  static constexpr const char* kTexts[] = {"",
                                           "overlong encoding",
                                           "unexpected continuation byte",
                                           "invalid lead byte",
                                           "truncated sequence",
                                           "overlong encoding",
                                           "surrogate code point",
                                           "code point above U+10FFFF"};
  return kTexts[static_cast<int>(error)];
}

Utf8Decoded DecodeUtf8At(absl::string_view text, size_t pos) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const uint8_t lead = bytes[pos];
  Utf8Decoded d;
  if (lead < 0x80) {
    d.code_point = lead;
    return d;
  }
  int length = 0;  // what the lead byte's bit pattern announces; 0 for none
  char32_t c = 0;
  char32_t min = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, c = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, c = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, c = lead & 0x07, min = 0x10000;
  }
  int got = 1;
  while (got < length && pos + got < text.size() && IsContinuation(bytes[pos + got])) {
    c = (c << 6) | (bytes[pos + got] & 0x3F);
    ++got;
  }
  d.length = got;
  d.code_point = kReplacement;
  if (lead == 0xC0 || lead == 0xC1) {
    d.error = Utf8Error::kOverlongLead;
  } else if (IsContinuation(lead)) {
    d.error = Utf8Error::kUnexpectedContinuation;
  } else if (lead >= 0xF5) {
    d.error = Utf8Error::kInvalidLead;
  } else if (got < length) {
    d.error = Utf8Error::kTruncated;
  } else if (c < min) {
    d.error = Utf8Error::kOverlong;
  } else if (IsSurrogate(c)) {
    d.error = Utf8Error::kSurrogate;
  } else if (c > 0x10FFFF) {
    d.error = Utf8Error::kAboveMax;
  } else {
    d.code_point = c;
  }
  return d;
}

bool IsValidUtf8(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const Utf8Decoded d = DecodeUtf8At(text, i);
    if (d.error != Utf8Error::kNone) return false;
    i += d.length;
  }
  return true;
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c > 0x10FFFF || IsSurrogate(c)) c = kReplacement;
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

}  // namespace qkv
