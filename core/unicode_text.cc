#include "core/unicode_text.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "common/status_macros.h"
#include "common/utf8.h"
#include "unicode/uchar.h"
#include "unicode/unorm2.h"
#include "unicode/ustring.h"
#include "unicode/utf16.h"
#include "unicode/uvernum.h"

namespace qkv {
namespace {

absl::Status DecodeError(absl::string_view what, size_t offset) {
  return absl::InvalidArgumentError(absl::StrFormat("text is not valid UTF-8: %s at byte %d", what, offset));
}

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

struct CodePointRange {
  char32_t first;
  char32_t last;  // inclusive
};

// HF's mapping of one code point: target[0, length).
struct CodePointMapping {
  char32_t code_point;
  int length;
  char32_t target[4];
};

#include "core/unicode_hf_tables.inc"

static_assert(kHfTablesIcuMajorVersion == U_ICU_VERSION_MAJOR_NUM,
              "core/unicode_hf_tables.inc lists the differences from another ICU version: rerun "
              "scripts/unicode/generate_tables.py");

// True when `c` lies in one of the sorted, disjoint `ranges`.
bool InRanges(absl::Span<const CodePointRange> ranges, char32_t c) {
  const auto it = std::upper_bound(ranges.begin(), ranges.end(), c,
                                   [](char32_t v, const CodePointRange& r) { return v < r.first; });
  return it != ranges.begin() && c <= std::prev(it)->last;
}

// HF's mapping of `c` in the sorted `mappings`, or nullptr when it has none there.
const CodePointMapping* FindMapping(absl::Span<const CodePointMapping> mappings, char32_t c) {
  const auto it = std::lower_bound(mappings.begin(), mappings.end(), c,
                                   [](const CodePointMapping& m, char32_t v) { return m.code_point < v; });
  return it != mappings.end() && it->code_point == c ? &*it : nullptr;
}

char32_t AsciiLower(char32_t c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

// Mn, by HF's tables (meaningful for code points that NFD leaves alone).
bool IsNonspacingMark(char32_t c) {
  if (c < 0x80) return false;
  return (u_charType(static_cast<UChar32>(c)) == U_NON_SPACING_MARK) != InRanges(kNonspacingMarkFlips, c);
}

// The canonical combining class in HF's NFD tables: ICU's, or 0 for the code points they do not know.
uint8_t CombiningClass(char32_t c) {
  if (c < 0x80 || InRanges(kCombiningClassZero, c)) return 0;
  return u_getCombiningClass(static_cast<UChar32>(c));
}

// Appends the full canonical decomposition (NFD) of `c` by HF's tables; `c` itself when it has none.
void AppendDecomposition(char32_t c, std::u32string* out) {
  if (const CodePointMapping* hf = FindMapping(kDecompositionOverrides, c)) {
    out->append(hf->target, hf->length);
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
    out->push_back(c);
    return;
  }
  AppendUtf16(decomposition, n, out);
}

// Appends Rust's char::to_lowercase of `c` (REQUIRES: c >= 0x80).
void AppendLowercase(char32_t c, std::u32string* out) {
  if (const CodePointMapping* hf = FindMapping(kLowercaseOverrides, c)) {
    out->append(hf->target, hf->length);
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

}  // namespace

absl::StatusOr<Utf8Char> DecodeCharAt(absl::string_view text, size_t offset) {
  const Utf8Decoded d = DecodeUtf8At(text, offset);
  if (d.error == Utf8Error::kInvalidLead) {
    return DecodeError(absl::StrFormat("invalid lead byte 0x%02X", static_cast<uint8_t>(text[offset])), offset);
  }
  if (d.error != Utf8Error::kNone) return DecodeError(Utf8ErrorText(d.error), offset);
  return Utf8Char{d.code_point, static_cast<int32_t>(offset), static_cast<int32_t>(offset + d.length)};
}

absl::StatusOr<std::vector<Utf8Char>> DecodeUtf8(absl::string_view text) {
  if (text.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError("text is too long (more than 2^31-1 bytes)");
  }
  std::vector<Utf8Char> chars;
  chars.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    QKV_ASSIGN_OR_RETURN(const Utf8Char c, DecodeCharAt(text, i));
    chars.push_back(c);
    i = static_cast<size_t>(c.end);
  }
  return chars;
}

bool IsBertWhitespace(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= '\t' && c <= '\r');
  return u_isUWhiteSpace(static_cast<UChar32>(c)) != InRanges(kWhiteSpaceFlips, c);
}

bool IsRegexWordChar(char32_t c) {
  const UChar32 u = static_cast<UChar32>(c);
  const bool icu_word = u_hasBinaryProperty(u, UCHAR_ALPHABETIC) ||
                        (U_GET_GC_MASK(u) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0 ||
                        u_hasBinaryProperty(u, UCHAR_JOIN_CONTROL);
  return icu_word != InRanges(kWordCharFlips, c);
}

bool IsRustNumeric(char32_t c) {
  const bool icu_numeric = (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0;
  return icu_numeric != InRanges(kNumericFlips, c);
}

bool IsHfCombiningMark(char32_t c) {
  UVersionInfo age;
  u_charAge(static_cast<UChar32>(c), age);
  const bool icu_mark =
      age[0] != 0 && age[0] <= 9 && (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_M_MASK) != 0;
  return icu_mark != InRanges(kCombiningMarkFlips, c);
}

bool IsBertControl(char32_t c) {
  if (c < 0x80) return (c < 0x20 || c == 0x7F) && c != '\t' && c != '\n' && c != '\r';
  constexpr uint32_t kOtherMask = U_GC_CC_MASK | U_GC_CF_MASK | U_GC_CO_MASK | U_GC_CS_MASK;
  const bool icu_other = (U_GET_GC_MASK(static_cast<UChar32>(c)) & kOtherMask) != 0;
  return icu_other != InRanges(kOtherFlips, c);
}

bool IsBertPunctuation(char32_t c) {
  if (c < 0x80) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  }
  const bool icu_punctuation = (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_P_MASK) != 0;
  return icu_punctuation != InRanges(kPunctuationFlips, c);
}

bool IsCjkIdeograph(char32_t c) { return c >= 0x3400 && InRanges(kCjkIdeographs, c); }

void StripAccents(std::vector<Utf8Char>* text) {
  const auto ascii = [](const Utf8Char& c) { return c.code_point < 0x80; };
  if (std::all_of(text->begin(), text->end(), ascii)) return;  // ASCII has no decompositions nor marks
  // One decomposed code point; `first` marks the first code point of a character's decomposition.
  struct Decomposed {
    char32_t code_point;
    uint8_t combining_class;
    bool first;
  };
  std::vector<Decomposed> decomposed;
  decomposed.reserve(text->size());
  std::u32string parts;
  for (const Utf8Char& c : *text) {
    if (c.code_point < 0x80) {
      decomposed.push_back({c.code_point, 0, true});
      continue;
    }
    parts.clear();
    AppendDecomposition(c.code_point, &parts);
    for (size_t i = 0; i < parts.size(); ++i) {
      decomposed.push_back({parts[i], CombiningClass(parts[i]), i == 0});
    }
  }
  // Canonical ordering: each run of nonzero combining classes sorted by class, stably (O(n log n) however
  // many marks a text stacks).
  const auto by_class = [](const Decomposed& a, const Decomposed& b) {
    return a.combining_class < b.combining_class;
  };
  for (auto start = decomposed.begin(); start != decomposed.end();) {
    if (start->combining_class == 0) {
      ++start;
      continue;
    }
    auto end =
        std::find_if(start, decomposed.end(), [](const Decomposed& d) { return d.combining_class == 0; });
    std::stable_sort(start, end, by_class);
    start = end;
  }
  // Byte ranges as HF's alignments assign them: the first code point of a decomposition, wherever ordering
  // moved it, takes the range of the next input character in order; the others that of the last one taken.
  std::vector<Utf8Char> stripped;
  stripped.reserve(decomposed.size());
  size_t next = 0;
  for (const Decomposed& d : decomposed) {
    const Utf8Char& origin = (*text)[d.first ? next++ : next - 1];
    if (!IsNonspacingMark(d.code_point)) stripped.push_back({d.code_point, origin.begin, origin.end});
  }
  *text = std::move(stripped);
}

void Lowercase(std::vector<Utf8Char>* text) {
  if (std::all_of(text->begin(), text->end(), [](const Utf8Char& c) { return c.code_point < 0x80; })) {
    for (Utf8Char& c : *text) c.code_point = AsciiLower(c.code_point);
    return;
  }
  std::vector<Utf8Char> lowered;
  lowered.reserve(text->size());
  std::u32string mapping;
  for (const Utf8Char& c : *text) {
    if (c.code_point < 0x80) {
      lowered.push_back({AsciiLower(c.code_point), c.begin, c.end});
      continue;
    }
    mapping.clear();
    AppendLowercase(c.code_point, &mapping);
    for (char32_t l : mapping) lowered.push_back({l, c.begin, c.end});
  }
  *text = std::move(lowered);
}

}  // namespace qkv
