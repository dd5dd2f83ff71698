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

void TextPattern::RegexCloser::operator()(URegularExpression* regex) const { uregex_close(regex); }

absl::StatusOr<TextPattern> TextPattern::Create(const std::string& pattern, bool regex) {
  if (pattern.empty()) return absl::InvalidArgumentError("is empty");
  if (!DecodeUtf8(pattern).ok()) return absl::InvalidArgumentError("is not UTF-8");
  if (regex) return CreateRegex(ToUtf16(pattern));
  TextPattern literal;
  literal.literal_ = ToUtf32(pattern);
  // failure_[k]: the length of the longest proper prefix of literal_[0, k] that is also its suffix.
  const std::u32string& p = literal.literal_;
  literal.failure_.assign(p.size(), 0);
  for (size_t k = 1, border = 0; k < p.size(); ++k) {
    while (border > 0 && p[k] != p[border]) border = literal.failure_[border - 1];
    if (p[k] == p[border]) ++border;
    literal.failure_[k] = border;
  }
  return literal;
}

absl::StatusOr<TextPattern> TextPattern::CreateRegex(const std::u16string& regex) {
  if (regex.empty()) return absl::InvalidArgumentError("is empty");
  UErrorCode error = U_ZERO_ERROR;
  URegularExpression* compiled = uregex_open(reinterpret_cast<const UChar*>(regex.data()),
                                             static_cast<int32_t>(regex.size()), 0, nullptr, &error);
  if (U_FAILURE(error)) {
    if (compiled != nullptr) uregex_close(compiled);
    return absl::InvalidArgumentError(absl::StrCat("does not compile (", u_errorName(error), ")"));
  }
  TextPattern pattern;
  pattern.regex_ = std::shared_ptr<URegularExpression>(compiled, RegexCloser());
  return pattern;
}

std::vector<std::pair<size_t, size_t>> TextPattern::FindLiteral(const CharString& text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  const size_t n = literal_.size();
  size_t matched = 0;  // literal_[0, matched) ends at text[i - 1]
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i].code_point;
    while (matched > 0 && c != literal_[matched]) matched = failure_[matched - 1];
    if (c == literal_[matched]) ++matched;
    if (matched == n) {
      matches.emplace_back(i + 1 - n, i + 1);
      matched = 0;  // non-overlapping: the next match starts after this one
    }
  }
  return matches;
}

std::vector<std::pair<size_t, size_t>> TextPattern::Find(const CharString& text) const {
  if (regex_ == nullptr) return FindLiteral(text);
  std::vector<std::pair<size_t, size_t>> matches;
  UErrorCode error = U_ZERO_ERROR;
  // A clone per call: a URegularExpression holds its match state, the clone shares the compiled pattern.
  const std::unique_ptr<URegularExpression, RegexCloser> regex(uregex_clone(regex_.get(), &error));
  if (U_FAILURE(error) || regex == nullptr) return matches;
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
  uregex_setText(regex.get(), reinterpret_cast<const UChar*>(utf16.data()),
                 static_cast<int32_t>(utf16.size()), &error);
  while (U_SUCCESS(error) && uregex_findNext(regex.get(), &error)) {
    const int32_t begin = uregex_start(regex.get(), 0, &error);
    const int32_t end = uregex_end(regex.get(), 0, &error);
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
  absl::StatusOr<TextPattern> compiled = TextPattern::Create(pattern, regex);
  if (!compiled.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("Replace: the ", regex ? "regex " : "pattern ", pattern,
                                                   " ", compiled.status().message()));
  }
  return std::unique_ptr<ReplaceNormalizer>(new ReplaceNormalizer(*std::move(compiled), ToUtf32(content)));
}

void ReplaceNormalizer::Normalize(CharString* text) const {
  const std::vector<std::pair<size_t, size_t>> matches = pattern_.Find(*text);
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
