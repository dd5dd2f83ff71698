#include "client/text_util.h"

#include <cstdint>

#include "unicode/uchar.h"

namespace qkv {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool InRange(char32_t cp, char32_t lo, char32_t hi) { return cp >= lo && cp <= hi; }

}  // namespace

std::vector<char32_t> Utf8ToCodePoints(absl::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const Utf8Decoded d = DecodeUtf8At(text, i);
    out.push_back(d.code_point);  // U+FFFD for a bad sequence
    i += d.length;
  }
  return out;
}

int CodePointWidth(char32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  // Combining marks (Mn, Me) and ZERO WIDTH SPACE take no column of their own.
  if ((U_GET_GC_MASK(c) & (U_GC_MN_MASK | U_GC_ME_MASK)) != 0 || cp == 0x200B) return 0;
  const int east_asian_width = u_getIntPropertyValue(c, UCHAR_EAST_ASIAN_WIDTH);
  return east_asian_width == U_EA_WIDE || east_asian_width == U_EA_FULLWIDTH ? 2 : 1;
}

int DisplayWidth(absl::string_view text) {
  int width = 0;
  for (char32_t cp : Utf8ToCodePoints(text)) width += CodePointWidth(cp);
  return width;
}

std::string SanitizeForDisplay(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : Utf8ToCodePoints(text)) {
    if (cp < 0x20 || InRange(cp, 0x7F, 0x9F) || cp == 0xFFFE || cp == 0xFFFF) cp = kReplacement;
    AppendUtf8(cp, &out);
  }
  return out;
}

std::string TruncateToWidth(absl::string_view text, int max_width) {
  if (DisplayWidth(text) <= max_width) return std::string(text);
  std::string out;
  int width = 0;
  for (char32_t cp : Utf8ToCodePoints(text)) {
    const int w = CodePointWidth(cp);
    if (width + w > max_width - 1) break;  // keep a column for the ellipsis
    AppendUtf8(cp, &out);
    width += w;
  }
  if (max_width > 0) out += "\u2026";
  return out;
}

std::string PadToWidth(absl::string_view text, int width) {
  std::string out(text);
  const int w = DisplayWidth(text);
  if (w < width) out.append(width - w, ' ');
  return out;
}

std::string XmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace qkv
