#include "client/text_util.h"

#include <cstdint>

namespace qkv {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool InRange(char32_t cp, char32_t lo, char32_t hi) { return cp >= lo && cp <= hi; }

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<uint8_t>(text[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + len > text.size()) return false;
    for (int k = 1; k < len; ++k) {
      const auto b = static_cast<uint8_t>(text[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || InRange(cp, 0xD800, 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::vector<char32_t> Utf8ToCodePoints(absl::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<uint8_t>(text[i]);
    int len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      out.push_back(kReplacement);
      ++i;
      continue;
    }
    int got = 1;
    while (got < len && i + got < text.size() && (static_cast<uint8_t>(text[i + got]) & 0xC0) == 0x80) {
      cp = (cp << 6) | (static_cast<uint8_t>(text[i + got]) & 0x3F);
      ++got;
    }
    if (got < len || cp < min || cp > 0x10FFFF || InRange(cp, 0xD800, 0xDFFF)) {
      out.push_back(kReplacement);
      i += got;  // skip the lead byte and the continuation bytes it claimed
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

void AppendCodePoint(char32_t cp, std::string* out) {
  if (cp > 0x10FFFF || InRange(cp, 0xD800, 0xDFFF)) cp = kReplacement;
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int CodePointWidth(char32_t cp) {
  if (InRange(cp, 0x0300, 0x036F) || InRange(cp, 0x1AB0, 0x1AFF) || InRange(cp, 0x1DC0, 0x1DFF) ||
      InRange(cp, 0x20D0, 0x20FF) || InRange(cp, 0xFE20, 0xFE2F) || cp == 0x200B) {
    return 0;
  }
  if (InRange(cp, 0x1100, 0x115F) || InRange(cp, 0x2E80, 0x303E) || InRange(cp, 0x3041, 0x33FF) ||
      InRange(cp, 0x3400, 0x4DBF) || InRange(cp, 0x4E00, 0x9FFF) || InRange(cp, 0xA000, 0xA4CF) ||
      InRange(cp, 0xAC00, 0xD7A3) || InRange(cp, 0xF900, 0xFAFF) || InRange(cp, 0xFE30, 0xFE4F) ||
      InRange(cp, 0xFF00, 0xFF60) || InRange(cp, 0xFFE0, 0xFFE6) || InRange(cp, 0x1F300, 0x1F64F) ||
      InRange(cp, 0x1F900, 0x1F9FF) || InRange(cp, 0x20000, 0x3FFFD)) {
    return 2;
  }
  return 1;
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
    AppendCodePoint(cp, &out);
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
    AppendCodePoint(cp, &out);
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
