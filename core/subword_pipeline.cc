#include "core/subword_pipeline.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "common/status_macros.h"
#include "common/utf8.h"
#include "core/byte_level.h"

namespace qkv {
namespace {

// Checks that text[offset, end) is valid UTF-8 without keeping anything.
absl::Status CheckUtf8(absl::string_view text, size_t offset) {
  while (offset < text.size()) {
    QKV_ASSIGN_OR_RETURN(const Utf8Char c, DecodeCharAt(text, offset));
    offset = static_cast<size_t>(c.end);
  }
  return absl::OkStatus();
}

// HF's ByteLevel trimming counts 'Ġ' (the byte-level ' ') and white space characters.
bool IsTrimmedSpace(char32_t c) { return c == ByteLevelChar(' ') || IsBertWhitespace(c); }

// The byte after the character that starts at `pos`, and the start of the character that ends at `pos`
// (REQUIRES: `text` is valid UTF-8 and `pos` a character boundary inside it).
int32_t NextCharStart(absl::string_view text, int32_t pos) {
  size_t next = static_cast<size_t>(pos) + 1;
  while (next < text.size() && (static_cast<uint8_t>(text[next]) & 0xC0) == 0x80) ++next;
  return static_cast<int32_t>(next);
}

int32_t PreviousCharStart(absl::string_view text, int32_t pos) {
  size_t previous = static_cast<size_t>(pos) - 1;
  while (previous > 0 && (static_cast<uint8_t>(text[previous]) & 0xC0) == 0x80) --previous;
  return static_cast<int32_t>(previous);
}

}  // namespace

void SubwordPipeline::SetNormalizedTokens(const std::vector<AddedToken>& tokens) {
  std::vector<AddedToken> normalized;
  for (AddedToken token : tokens) {
    absl::StatusOr<CharString> chars = DecodeUtf8(token.content);
    if (!chars.ok()) continue;
    if (normalizer_ != nullptr) normalizer_->Normalize(&*chars);
    token.content.clear();
    for (const Utf8Char& c : *chars) AppendUtf8(c.code_point, &token.content);
    normalized.push_back(std::move(token));
  }
  normalized_added_ = AddedTokens(normalized);
}

void SubwordPipeline::TokenizeWords(const CharString& text, size_t max_pieces,
                                    std::vector<CharString>* words, std::vector<TokenPiece>* pieces) const {
  if (text.empty()) return;
  if (pre_tokenizer_ != nullptr) {
    pre_tokenizer_->Split(text, text.front().begin == 0, words);
  } else {
    words->assign(1, text);
  }
  for (const CharString& word : *words) {
    if (pieces->size() >= max_pieces) break;
    model_->Tokenize(word, pieces);
  }
}

void SubwordPipeline::TokenizeNormalized(const CharString& text, size_t max_pieces,
                                         std::vector<CharString>* words, std::vector<TokenPiece>* pieces,
                                         std::vector<AddedValue>* added) const {
  if (normalized_added_.empty()) {
    TokenizeWords(text, max_pieces, words, pieces);
    added->resize(pieces->size());
    return;
  }
  // HF's second pass: the normalized tokens, matched in the normalized text (as UTF-8).
  std::string utf8;
  std::vector<size_t> char_at;  // char_at[byte]: the character that byte belongs to
  for (size_t i = 0; i < text.size(); ++i) {
    AppendUtf8(text[i].code_point, &utf8);
    char_at.resize(utf8.size(), i);
  }
  char_at.push_back(text.size());
  size_t floor = 0;  // the end of the previous match
  size_t offset = 0;
  while (offset < utf8.size() && pieces->size() < max_pieces) {
    AddedTokens::Match match;
    if (!normalized_added_.MatchAt(utf8, offset, floor, &match)) {
      offset += static_cast<size_t>(DecodeUtf8At(utf8, offset).length);
      continue;
    }
    if (match.discarded) {
      offset = match.token_end;
      continue;
    }
    const size_t first = char_at[match.begin];
    const size_t last = char_at[match.end - 1];
    TokenizeWords(CharString(text.begin() + static_cast<std::ptrdiff_t>(char_at[floor]),
                             text.begin() + static_cast<std::ptrdiff_t>(first)),
                  max_pieces, words, pieces);
    added->resize(pieces->size());
    if (pieces->size() >= max_pieces) return;
    pieces->push_back({match.id, text[first].begin, text[last].end});
    added->emplace_back(utf8.substr(match.begin, match.end - match.begin));
    floor = offset = match.end;
  }
  if (pieces->size() < max_pieces) {
    TokenizeWords(CharString(text.begin() + static_cast<std::ptrdiff_t>(char_at[floor]), text.end()),
                  max_pieces, words, pieces);
  }
  added->resize(pieces->size());
}

absl::Status SubwordPipeline::Pieces(absl::string_view text, size_t max_pieces, const AddedTokens& added,
                                     absl::Span<const std::string> vocab,
                                     std::vector<TokenPiece>* pieces) const {
  pieces->clear();
  if (text.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError("text is too long (more than 2^31-1 bytes)");
  }
  std::vector<AddedValue> added_values;  // per piece (trimmed by the added token's text, not its vocab entry)
  CharString stretch;
  std::vector<CharString> words;
  // Tokenizes the stretch read so far; false once the pieces reach max_pieces.
  auto end_stretch = [&]() -> bool {
    if (!stretch.empty()) {
      if (normalizer_ != nullptr) normalizer_->Normalize(&stretch);
      TokenizeNormalized(stretch, max_pieces, &words, pieces, &added_values);
      stretch.clear();
    }
    return pieces->size() < max_pieces;
  };
  size_t offset = 0;
  size_t floor = 0;  // the end of the previous added token
  bool more = true;
  while (offset < text.size()) {
    AddedTokens::Match match;
    if (added.MatchAt(text, offset, floor, &match)) {
      if (match.discarded) {  // plain text, with no token starting inside it
        while (offset < match.token_end) {
          QKV_ASSIGN_OR_RETURN(const Utf8Char c, DecodeCharAt(text, offset));
          offset = static_cast<size_t>(c.end);
          stretch.push_back(c);
        }
        continue;
      }
      // lstrip's white space leaves the stretch.
      while (!stretch.empty() && static_cast<size_t>(stretch.back().begin) >= match.begin) stretch.pop_back();
      more = end_stretch();
      if (!more) break;
      // rstrip took only white space that decodes; the caller's scan checks the rest.
      floor = offset = match.end;
      pieces->push_back({match.id, static_cast<int32_t>(match.begin), static_cast<int32_t>(match.end)});
      added_values.emplace_back(text.substr(match.begin, match.end - match.begin));
      continue;
    }
    QKV_ASSIGN_OR_RETURN(const Utf8Char c, DecodeCharAt(text, offset));
    offset = static_cast<size_t>(c.end);
    stretch.push_back(c);
  }
  if (more) {
    end_stretch();
  } else {
    QKV_RETURN_IF_ERROR(CheckUtf8(text, offset));
  }
  if (trim_.enabled) TrimOffsets(text, vocab, added_values, pieces);
  return absl::OkStatus();
}

void SubwordPipeline::TrimOffsets(absl::string_view text, absl::Span<const std::string> vocab,
                                  const std::vector<AddedValue>& added,
                                  std::vector<TokenPiece>* pieces) const {
  for (size_t i = 0; i < pieces->size(); ++i) {
    TokenPiece& piece = (*pieces)[i];
    const absl::string_view token =
        added[i].has_value() ? absl::string_view(*added[i])
                             : absl::string_view(vocab[static_cast<size_t>(piece.id)]);
    absl::StatusOr<std::vector<Utf8Char>> chars = DecodeUtf8(token);
    if (!chars.ok() || chars->empty()) continue;
    size_t leading = 0;
    while (leading < chars->size() && IsTrimmedSpace((*chars)[leading].code_point)) ++leading;
    size_t trailing = 0;
    while (trailing < chars->size() && IsTrimmedSpace((*chars)[chars->size() - 1 - trailing].code_point)) {
      ++trailing;
    }
    // HF trims offsets counted in characters of the original text: step over whole characters.
    if (leading > 0) {
      const bool first = i == 0 || piece.begin == 0;
      if (first && trim_.add_prefix_space && leading == 1) leading = 0;
      for (; leading > 0 && piece.begin < piece.end; --leading)
        piece.begin = NextCharStart(text, piece.begin);
    }
    for (; trailing > 0 && piece.end > piece.begin; --trailing)
      piece.end = PreviousCharStart(text, piece.end);
  }
}

}  // namespace qkv
