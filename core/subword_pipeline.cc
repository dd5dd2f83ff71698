#include "core/subword_pipeline.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "common/status_macros.h"
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

absl::Status SubwordPipeline::Pieces(absl::string_view text, size_t max_pieces, const AddedTokens& added,
                                     absl::Span<const std::string> vocab,
                                     std::vector<TokenPiece>* pieces) const {
  pieces->clear();
  if (text.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError("text is too long (more than 2^31-1 bytes)");
  }
  std::vector<bool> is_added;  // per piece: an added token (trimmed by its text, not its vocabulary entry)
  CharString stretch;
  std::vector<CharString> words;
  // Tokenizes the stretch read so far; false once the pieces reach max_pieces.
  auto end_stretch = [&]() -> bool {
    if (!stretch.empty()) {
      const bool at_start = stretch.front().begin == 0;
      if (normalizer_ != nullptr) normalizer_->Normalize(&stretch);
      if (pre_tokenizer_ != nullptr) {
        pre_tokenizer_->Split(stretch, at_start, &words);
      } else {
        words.clear();
        if (!stretch.empty()) words.push_back(stretch);
      }
      stretch.clear();
      for (const CharString& word : words) {
        if (pieces->size() >= max_pieces) break;
        model_->Tokenize(word, pieces);
      }
      is_added.resize(pieces->size(), false);
    }
    return pieces->size() < max_pieces;
  };
  size_t offset = 0;
  bool more = true;
  while (offset < text.size()) {
    AddedTokens::Match match;
    if (added.MatchAt(text, offset, &match)) {
      size_t begin = match.begin;
      if (match.lstrip) {  // the white space before it, back to the previous match at most
        while (!stretch.empty() && IsBertWhitespace(stretch.back().code_point)) {
          begin = static_cast<size_t>(stretch.back().begin);
          stretch.pop_back();
        }
      }
      more = end_stretch();
      if (!more) break;
      offset = match.end;
      if (match.rstrip) {
        while (offset < text.size()) {
          QKV_ASSIGN_OR_RETURN(const Utf8Char c, DecodeCharAt(text, offset));
          if (!IsBertWhitespace(c.code_point)) break;
          offset = static_cast<size_t>(c.end);
        }
      }
      pieces->push_back({match.id, static_cast<int32_t>(begin), static_cast<int32_t>(offset)});
      is_added.push_back(true);
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
  if (trim_.enabled) TrimOffsets(text, vocab, is_added, pieces);
  return absl::OkStatus();
}

void SubwordPipeline::TrimOffsets(absl::string_view text, absl::Span<const std::string> vocab,
                                  const std::vector<bool>& is_added, std::vector<TokenPiece>* pieces) const {
  for (size_t i = 0; i < pieces->size(); ++i) {
    TokenPiece& piece = (*pieces)[i];
    const absl::string_view token = is_added[i] ? text.substr(static_cast<size_t>(piece.begin),
                                                              static_cast<size_t>(piece.end - piece.begin))
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
