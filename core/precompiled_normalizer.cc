#include "core/precompiled_normalizer.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/utf8.h"
#include "unicode/ubrk.h"
#include "unicode/utext.h"

namespace qkv {
namespace {

// darts-clone's unit layout.
bool HasLeaf(uint32_t unit) { return ((unit >> 8) & 1) == 1; }
uint32_t Value(uint32_t unit) { return unit & ((1u << 31) - 1); }
uint32_t Label(uint32_t unit) { return unit & ((1u << 31) | 0xFF); }
size_t Offset(uint32_t unit) { return static_cast<size_t>((unit >> 10) << ((unit & (1u << 9)) >> 6)); }

// HF's `replace` for the transformations list: `old_chars` characters become `replacement`.
void Replace(size_t old_chars, absl::string_view replacement,
             std::vector<std::pair<char32_t, int64_t>>* out) {
  const absl::StatusOr<std::vector<Utf8Char>> chars = DecodeUtf8(replacement);
  const size_t new_chars = chars.ok() ? chars->size() : 0;
  if (chars.ok()) {
    for (const Utf8Char& c : *chars) out->emplace_back(c.code_point, 0);
  }
  const int64_t diff = static_cast<int64_t>(new_chars) - static_cast<int64_t>(old_chars);
  if (diff > 0) {
    for (size_t i = out->size() - static_cast<size_t>(diff); i < out->size(); ++i) (*out)[i].second = 1;
  } else if (diff < 0 && !out->empty()) {
    out->back().second += diff;
  }
}

}  // namespace

void ApplyTransformations(const std::vector<std::pair<char32_t, int64_t>>& transformations,
                          CharString* text) {
  CharString out;
  out.reserve(transformations.size());
  size_t pos = 0;  // the next original character
  for (const auto& [c, change] : transformations) {
    if (change > 0) {  // inserted: aligned with the original character before it, (0, 0) at the start
      if (pos == 0 || text->empty()) {
        out.push_back({c, 0, 0});
      } else {
        const Utf8Char& previous = (*text)[std::min(pos, text->size()) - 1];
        out.push_back({c, previous.begin, previous.end});
      }
      continue;
    }
    if (pos < text->size()) {
      out.push_back({c, (*text)[pos].begin, (*text)[pos].end});
    } else {  // past the end (only malformed lists get here): aligned with the end
      const int32_t end = text->empty() ? 0 : text->back().end;
      out.push_back({c, end, end});
    }
    pos += 1 + static_cast<size_t>(change < 0 ? -change : 0);
  }
  *text = std::move(out);
}

absl::StatusOr<std::unique_ptr<PrecompiledNormalizer>> PrecompiledNormalizer::Create(
    absl::string_view charsmap) {
  if (charsmap.size() < 4) return absl::InvalidArgumentError("precompiled_charsmap is too short");
  uint32_t trie_bytes;
  std::memcpy(&trie_bytes, charsmap.data(), 4);  // little-endian, as x86 and the format are
  if (trie_bytes % 4 != 0 || trie_bytes > charsmap.size() - 4 || trie_bytes == 0) {
    return absl::InvalidArgumentError(absl::StrCat("precompiled_charsmap: trie size ", trie_bytes,
                                                   " does not fit its ", charsmap.size(), " bytes"));
  }
  auto normalizer = std::unique_ptr<PrecompiledNormalizer>(new PrecompiledNormalizer());
  normalizer->trie_.resize(trie_bytes / 4);
  std::memcpy(normalizer->trie_.data(), charsmap.data() + 4, trie_bytes);
  normalizer->normalized_ = std::string(charsmap.substr(4 + trie_bytes));
  return normalizer;
}

bool PrecompiledNormalizer::Transform(absl::string_view chunk, absl::string_view* replacement) const {
  // darts-clone's common prefix search, stopping at the first (shortest) key; every index is checked, so a
  // malformed trie finds nothing rather than reading out of bounds.
  size_t node = 0;
  uint32_t unit = trie_[node];
  node ^= Offset(unit);
  for (const char ch : chunk) {
    const auto byte = static_cast<uint8_t>(ch);
    if (byte == 0) return false;
    node ^= byte;
    if (node >= trie_.size()) return false;
    unit = trie_[node];
    if (Label(unit) != byte) return false;
    node ^= Offset(unit);
    if (node >= trie_.size()) return false;
    if (HasLeaf(unit)) {
      const size_t index = Value(trie_[node]);
      if (index >= normalized_.size()) return false;
      const size_t end = normalized_.find('\0', index);
      *replacement =
          absl::string_view(normalized_).substr(index, end == std::string::npos ? end : end - index);
      return true;
    }
  }
  return false;
}

void PrecompiledNormalizer::Normalize(CharString* text) const {
  if (text->empty()) return;
  std::string utf8;
  std::vector<size_t> char_at;  // char_at[b]: the character that starts at byte b of utf8
  for (size_t i = 0; i < text->size(); ++i) {
    const size_t start = utf8.size();
    AppendUtf8((*text)[i].code_point, &utf8);
    char_at.resize(utf8.size(), i);
    char_at[start] = i;
  }
  char_at.push_back(text->size());
  std::vector<std::pair<char32_t, int64_t>> transformations;
  transformations.reserve(text->size());
  bool modified = false;
  auto per_character = [&](size_t begin, size_t end) {
    for (size_t b = begin; b < end;) {
      const size_t i = char_at[b];
      size_t next = b + 1;
      while (next < end && char_at[next] == i) ++next;
      absl::string_view replacement;
      if (Transform(absl::string_view(utf8).substr(b, next - b), &replacement)) {
        modified = true;
        Replace(1, replacement, &transformations);
      } else {
        transformations.emplace_back((*text)[i].code_point, 0);
      }
      b = next;
    }
  };
  UErrorCode error = U_ZERO_ERROR;
  UText* utext = utext_openUTF8(nullptr, utf8.data(), static_cast<int64_t>(utf8.size()), &error);
  UBreakIterator* breaks = U_SUCCESS(error) ? ubrk_open(UBRK_CHARACTER, "", nullptr, 0, &error) : nullptr;
  if (U_SUCCESS(error)) ubrk_setUText(breaks, utext, &error);
  if (U_FAILURE(error)) {  // no grapheme clusters: every character alone
    per_character(0, utf8.size());
  } else {
    for (int32_t begin = ubrk_first(breaks), end = ubrk_next(breaks); end != UBRK_DONE;
         begin = end, end = ubrk_next(breaks)) {
      const auto b = static_cast<size_t>(begin);
      const auto e = static_cast<size_t>(end);
      absl::string_view replacement;
      if (e - b < 6 && Transform(absl::string_view(utf8).substr(b, e - b), &replacement)) {
        modified = true;
        Replace(char_at[e] - char_at[b], replacement, &transformations);
        continue;
      }
      per_character(b, e);
    }
  }
  if (breaks != nullptr) ubrk_close(breaks);
  if (utext != nullptr) utext_close(utext);
  if (modified) ApplyTransformations(transformations, text);
}

}  // namespace qkv
