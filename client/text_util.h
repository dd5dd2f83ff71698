// Text helpers for the CLI's terminal and SVG output: UTF-8 decoding with replacement, terminal display
// width, sanitizing of server-supplied strings (tokens) and XML escaping. Pure functions; thread-safe.
#ifndef QKV_CLIENT_TEXT_UTIL_H_
#define QKV_CLIENT_TEXT_UTIL_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/utf8.h"  // IsValidUtf8, AppendUtf8: the CLI checks and writes text with them

namespace qkv {

// Code points of `text`; each invalid or truncated UTF-8 sequence becomes U+FFFD.
std::vector<char32_t> Utf8ToCodePoints(absl::string_view text);
// Columns a code point takes in a terminal: 2 for East Asian Wide / Fullwidth characters (ICU's
// UCHAR_EAST_ASIAN_WIDTH: CJK, Hangul, fullwidth forms, most emoji), 0 for combining marks (Mn, Me) and
// U+200B, 1 otherwise.
int CodePointWidth(char32_t cp);
// Sum of CodePointWidth over `text`.
int DisplayWidth(absl::string_view text);

// Valid UTF-8 with C0/C1 control characters (escape sequences from a hostile server included) replaced by
// U+FFFD, so the result is safe to print and to place in XML.
std::string SanitizeForDisplay(absl::string_view text);

// Cuts `text` (already sanitized) to at most `max_width` columns, ending in "…" when something was dropped.
std::string TruncateToWidth(absl::string_view text, int max_width);
// `text` followed by spaces up to `width` columns (no truncation).
std::string PadToWidth(absl::string_view text, int width);

// Escapes & < > " ' for XML text and attribute values.
std::string XmlEscape(absl::string_view text);

}  // namespace qkv

#endif  // QKV_CLIENT_TEXT_UTIL_H_
