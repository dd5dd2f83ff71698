#include "core/normalizers.h"

#include <cstddef>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "unicode/uregex.h"
#include "unicode/utf16.h"

namespace qkv {
namespace {

std::u32string ToUtf32(const std::string& utf8) {
  std::u32string out;
  absl::StatusOr<std::vector<Utf8Char>> chars = DecodeUtf8(utf8);
  if (chars.ok()) {
    for (const Utf8Char& c : *chars) out.push_back(c.code_point);
  }
  return out;
}

// Closes an ICU regex on scope exit.
struct RegexCloser {
  void operator()(URegularExpression* regex) const { uregex_close(regex); }
};
using RegexPtr = std::unique_ptr<URegularExpression, RegexCloser>;

}  // namespace

std::u16string ToUtf16(const std::string& utf8) {
  std::u16string out;
  for (const char32_t c : ToUtf32(utf8)) {
    if (c > 0xFFFF) {
      out.push_back(static_cast<char16_t>(U16_LEAD(c)));
      out.push_back(static_cast<char16_t>(U16_TRAIL(c)));
    } else {
      out.push_back(static_cast<char16_t>(c));
    }
  }
  return out;
}

std::vector<std::pair<size_t, size_t>> FindRegexMatches(const std::u16string& regex, const CharString& text) {
  std::u16string utf16;
  std::vector<size_t> char_at;  // char_at[u]: the character of UTF-16 unit u
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i].code_point;
    if (c > 0xFFFF) {
      utf16.push_back(static_cast<char16_t>(U16_LEAD(c)));
      utf16.push_back(static_cast<char16_t>(U16_TRAIL(c)));
      char_at.push_back(i);
    } else {
      utf16.push_back(static_cast<char16_t>(c));
    }
    char_at.push_back(i);
  }
  char_at.push_back(text.size());
  UErrorCode error = U_ZERO_ERROR;
  RegexPtr compiled(uregex_open(reinterpret_cast<const UChar*>(regex.data()),
                             static_cast<int32_t>(regex.size()), 0, nullptr, &error));
  std::vector<std::pair<size_t, size_t>> matches;
  if (U_FAILURE(error)) return matches;
  uregex_setText(compiled.get(), reinterpret_cast<const UChar*>(utf16.data()),
                 static_cast<int32_t>(utf16.size()), &error);
  while (U_SUCCESS(error) && uregex_findNext(compiled.get(), &error)) {
    const int32_t begin = uregex_start(compiled.get(), 0, &error);
    const int32_t end = uregex_end(compiled.get(), 0, &error);
    if (U_FAILURE(error) || begin < 0 || end <= begin) continue;  // an empty match
    matches.emplace_back(char_at[static_cast<size_t>(begin)], char_at[static_cast<size_t>(end)]);
  }
  return matches;
}

void SequenceNormalizer::Normalize(CharString* text) const {
  for (const auto& normalizer : normalizers_) normalizer->Normalize(text);
}

absl::StatusOr<std::unique_ptr<ReplaceNormalizer>> ReplaceNormalizer::Create(const std::string& pattern,
                                                                             bool regex,
                                                                             const std::string& content) {
  auto normalizer = std::unique_ptr<ReplaceNormalizer>(new ReplaceNormalizer());
  normalizer->content_ = ToUtf32(content);
  normalizer->is_regex_ = regex;
  if (pattern.empty()) return absl::InvalidArgumentError("Replace: the pattern is empty");
  if (!regex) {
    normalizer->literal_ = ToUtf32(pattern);
    return normalizer;
  }
  for (const char32_t c : ToUtf32(pattern)) {
    if (c > 0xFFFF) {
      normalizer->regex_.push_back(static_cast<char16_t>(U16_LEAD(c)));
      normalizer->regex_.push_back(static_cast<char16_t>(U16_TRAIL(c)));
    } else {
      normalizer->regex_.push_back(static_cast<char16_t>(c));
    }
  }
  UErrorCode error = U_ZERO_ERROR;
  RegexPtr compiled(uregex_open(reinterpret_cast<const UChar*>(normalizer->regex_.data()),
                                static_cast<int32_t>(normalizer->regex_.size()), 0, nullptr, &error));
  if (U_FAILURE(error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Replace: the regex ", pattern, " does not compile (", u_errorName(error), ")"));
  }
  return normalizer;
}

std::vector<std::pair<size_t, size_t>> ReplaceNormalizer::Find(const CharString& text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  if (!is_regex_) {
    const size_t n = literal_.size();
    for (size_t i = 0; i + n <= text.size();) {
      bool equal = true;
      for (size_t k = 0; k < n && equal; ++k) equal = text[i + k].code_point == literal_[k];
      if (equal) {
        matches.emplace_back(i, i + n);
        i += n;
      } else {
        ++i;
      }
    }
    return matches;
  }
  return FindRegexMatches(regex_, text);
}

void ReplaceNormalizer::Normalize(CharString* text) const {
  const std::vector<std::pair<size_t, size_t>> matches = Find(*text);
  if (matches.empty()) return;
  CharString out;
  out.reserve(text->size());
  size_t next = 0;
  for (const auto& [begin, end] : matches) {
    out.insert(out.end(), text->begin() + static_cast<std::ptrdiff_t>(next),
               text->begin() + static_cast<std::ptrdiff_t>(begin));
    // HF: the matched characters go, then each replacement character is an insertion aligned with the
    // last of them.
    const Utf8Char& last = (*text)[end - 1];
    for (const char32_t c : content_) out.push_back({c, last.begin, last.end});
    next = end;
  }
  out.insert(out.end(), text->begin() + static_cast<std::ptrdiff_t>(next), text->end());
  *text = std::move(out);
}

void StripNormalizer::Normalize(CharString* text) const {
  size_t end = text->size();
  if (right_) {
    while (end > 0 && IsBertWhitespace((*text)[end - 1].code_point)) --end;
  }
  size_t begin = 0;
  if (left_) {
    while (begin < end && IsBertWhitespace((*text)[begin].code_point)) ++begin;
  }
  text->erase(text->begin() + static_cast<std::ptrdiff_t>(end), text->end());
  text->erase(text->begin(), text->begin() + static_cast<std::ptrdiff_t>(begin));
}

void LowercaseNormalizer::Normalize(CharString* text) const { Lowercase(text); }

void PrependNormalizer::Normalize(CharString* text) const {
  if (text->empty() || prefix_.empty()) return;
  const Utf8Char first = text->front();
  CharString prefix;
  for (const char32_t c : prefix_) prefix.push_back({c, first.begin, first.end});
  text->insert(text->begin(), prefix.begin(), prefix.end());
}

}  // namespace qkv
