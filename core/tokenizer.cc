#include "core/tokenizer.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "common/status_macros.h"
#include "common/utf8.h"
#include "core/unicode_text.h"

namespace qkv {
namespace {

constexpr absl::string_view kContinuationPrefix = "##";

// A normalized code point and the bytes [begin, end) of the original character it came from.
using NormalizedChar = Utf8Char;

// A vocabulary piece and the bytes [begin, end) of the original text it covers.
struct Piece {
  int32_t id;
  int32_t begin;
  int32_t end;
};

// A word: the normalized characters [first, last) of the normalized text.
struct WordSpan {
  size_t first;
  size_t last;
};

// BertNormalizer, in Hugging Face's order: drops control characters and turns whitespace into ' '
// (clean_text), surrounds CJK ideographs with ' ', strips accents (NFD, then no Mn), lowercases. Each output
// character keeps the byte range of its original character.
std::vector<NormalizedChar> Normalize(absl::Span<const Utf8Char> text, const TokenizerOptions& options) {
  std::vector<NormalizedChar> out;
  out.reserve(text.size());
  for (const Utf8Char& c : text) {
    const char32_t cp = c.code_point;
    if (options.clean_text) {
      if (cp == 0 || cp == 0xFFFD || IsBertControl(cp)) continue;
      if (IsBertWhitespace(cp)) {
        out.push_back({U' ', c.begin, c.end});
        continue;
      }
    }
    if (options.tokenize_chinese_chars && IsCjkIdeograph(cp)) {
      out.push_back({U' ', c.begin, c.begin});
      out.push_back(c);
      out.push_back({U' ', c.end, c.end});
    } else {
      out.push_back(c);
    }
  }
  if (options.strip_accents) StripAccents(&out);
  if (options.lower_case) Lowercase(&out);
  return out;
}

// BertPreTokenizer: splits on whitespace and makes every punctuation character its own word.
std::vector<WordSpan> SplitWords(const std::vector<NormalizedChar>& chars) {
  std::vector<WordSpan> words;
  size_t start = 0;
  for (size_t i = 0; i < chars.size(); ++i) {
    const char32_t cp = chars[i].code_point;
    if (IsBertWhitespace(cp)) {
      if (start < i) words.push_back({start, i});
      start = i + 1;
    } else if (IsBertPunctuation(cp)) {
      if (start < i) words.push_back({start, i});
      words.push_back({i, i + 1});
      start = i + 1;
    }
  }
  if (start < chars.size()) words.push_back({start, chars.size()});
  return words;
}

// Greedy longest-match-first WordPiece over one word; appends its pieces (or one [UNK]) to `pieces`.
void AppendWordPieces(const Tokenizer& tokenizer, const NormalizedChar* word, size_t length,
                      std::vector<Piece>* pieces) {
  const Piece unknown = {tokenizer.special_tokens().unk, word[0].begin, word[length - 1].end};
  if (length > static_cast<size_t>(tokenizer.options().max_chars_per_word)) {
    pieces->push_back(unknown);
    return;
  }
  std::string utf8;
  std::vector<size_t> boundaries;  // boundaries[i]: byte offset of character i in utf8; [length] = size
  boundaries.reserve(length + 1);
  for (size_t i = 0; i < length; ++i) {
    boundaries.push_back(utf8.size());
    AppendUtf8(word[i].code_point, &utf8);
  }
  boundaries.push_back(utf8.size());

  const size_t first_piece = pieces->size();
  std::string candidate;
  size_t start = 0;
  while (start < length) {
    size_t end = length;
    int32_t id = -1;
    for (; end > start; --end) {
      const absl::string_view sub(utf8.data() + boundaries[start], boundaries[end] - boundaries[start]);
      if (start == 0) {
        id = tokenizer.TokenToId(sub);
      } else {
        candidate.assign(kContinuationPrefix.data(), kContinuationPrefix.size());
        candidate.append(sub.data(), sub.size());
        id = tokenizer.TokenToId(candidate);
      }
      if (id >= 0) break;
    }
    if (id < 0) {  // not decomposable: the whole word is unknown
      pieces->resize(first_piece);
      pieces->push_back(unknown);
      return;
    }
    pieces->push_back({id, word[start].begin, word[end - 1].end});
    start = end;
  }
}

// Appends the word pieces of the decoded characters [first, last) (text between added tokens).
void AppendTextPieces(const Tokenizer& tokenizer, const Utf8Char* first, const Utf8Char* last,
                      std::vector<Piece>* pieces) {
  const std::vector<NormalizedChar> chars = Normalize(absl::MakeConstSpan(first, last), tokenizer.options());
  for (const WordSpan& word : SplitWords(chars)) {
    AppendWordPieces(tokenizer, chars.data() + word.first, word.last - word.first, pieces);
  }
}

// The first of the characters [first, last) that starts at or after byte `offset` (matches of added tokens
// start and end on character boundaries: the tokens and the text are valid UTF-8).
const Utf8Char* FirstCharAt(const Utf8Char* first, const Utf8Char* last, size_t offset) {
  return std::lower_bound(first, last, offset,
                          [](const Utf8Char& c, size_t o) { return static_cast<size_t>(c.begin) < o; });
}

// The pieces of `text`, without specials: the added tokens typed in it, and the word pieces between them.
absl::StatusOr<std::vector<Piece>> TokenizeText(const Tokenizer& tokenizer, absl::string_view text) {
  QKV_ASSIGN_OR_RETURN(const std::vector<Utf8Char> decoded, DecodeUtf8(text));
  std::vector<Piece> pieces;
  pieces.reserve(decoded.size());
  const Utf8Char* next = decoded.data();
  const Utf8Char* const end = decoded.data() + decoded.size();
  for (const AddedTokens::Match& match : tokenizer.added_tokens().FindAll(text)) {
    const Utf8Char* const match_first = FirstCharAt(next, end, match.begin);
    AppendTextPieces(tokenizer, next, match_first, &pieces);
    pieces.push_back({match.id, static_cast<int32_t>(match.begin), static_cast<int32_t>(match.end)});
    next = FirstCharAt(match_first, end, match.end);
  }
  AppendTextPieces(tokenizer, next, end, &pieces);
  return pieces;
}

void AppendSpecial(const Tokenizer& tokenizer, int32_t id, int32_t type_id, Encoding* encoding) {
  encoding->ids.push_back(id);
  encoding->type_ids.push_back(type_id);
  encoding->tokens.push_back(tokenizer.IdToToken(id));
  encoding->offsets.emplace_back(0, 0);
  encoding->special.push_back(true);
}

void AppendPieces(const Tokenizer& tokenizer, const std::vector<Piece>& pieces, size_t count, int32_t type_id,
                  Encoding* encoding) {
  for (size_t i = 0; i < count; ++i) {
    const Piece& piece = pieces[i];
    encoding->ids.push_back(piece.id);
    encoding->type_ids.push_back(type_id);
    encoding->tokens.push_back(tokenizer.IdToToken(piece.id));
    encoding->offsets.emplace_back(piece.begin, piece.end);
    encoding->special.push_back(false);
  }
}

void Reserve(size_t size, Encoding* encoding) {
  encoding->ids.reserve(size);
  encoding->type_ids.reserve(size);
  encoding->tokens.reserve(size);
  encoding->offsets.reserve(size);
  encoding->special.reserve(size);
}

absl::Status CheckMaxLength(int max_length, int specials) {
  if (max_length < 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_length must be >= 0, got ", max_length));
  }
  if (max_length > 0 && max_length < specials) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_length ", max_length, " cannot hold the ", specials, " special tokens"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Tokenizer> Tokenizer::FromTokens(std::vector<std::string> tokens,
                                                const TokenizerOptions& options, const std::string& source,
                                                const std::vector<AddedToken>* added_tokens) {
  if (options.max_chars_per_word <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": max_chars_per_word must be > 0, got ", options.max_chars_per_word));
  }
  if (tokens.empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": the vocabulary is empty"));
  if (tokens.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": the vocabulary is too large"));
  }
  // Tokens go out in responses as proto3 strings, which a client cannot parse unless they are UTF-8.
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!DecodeUtf8(tokens[i]).ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": token ", i, " is not valid UTF-8"));
    }
  }
  Tokenizer tokenizer;
  tokenizer.options_ = options;
  tokenizer.token_to_id_.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    tokenizer.token_to_id_.emplace(tokens[i], static_cast<int32_t>(i));  // duplicates: the first id stays
  }
  tokenizer.id_to_token_ = std::move(tokens);
  SpecialTokens& special = tokenizer.special_;
  special.cls = tokenizer.TokenToId("[CLS]");
  special.sep = tokenizer.TokenToId("[SEP]");
  special.pad = tokenizer.TokenToId("[PAD]");
  special.unk = tokenizer.TokenToId("[UNK]");
  special.mask = tokenizer.TokenToId("[MASK]");
  for (const auto& [name, id] : {std::pair<const char*, int32_t>{"[UNK]", special.unk},
                                 {"[CLS]", special.cls},
                                 {"[SEP]", special.sep}}) {
    if (id < 0) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": the vocabulary has no ", name, " token"));
    }
  }
  std::vector<AddedToken> specials_in_vocab;
  if (added_tokens == nullptr) {
    for (const char* name : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
      const int32_t id = tokenizer.TokenToId(name);
      if (id >= 0) specials_in_vocab.push_back({name, id});
    }
    added_tokens = &specials_in_vocab;
  }
  for (const AddedToken& added : *added_tokens) {
    if (added.id < 0 || added.id >= tokenizer.vocab_size()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": added token \"", added.content, "\" has id ",
                                                     added.id, ", outside the vocabulary (size ",
                                                     tokenizer.vocab_size(), ")"));
    }
  }
  tokenizer.added_tokens_ = AddedTokens(*added_tokens);
  return tokenizer;
}

int32_t Tokenizer::TokenToId(absl::string_view token) const {
  const auto it = token_to_id_.find(token);
  return it == token_to_id_.end() ? -1 : it->second;
}

absl::StatusOr<std::vector<std::string>> Tokenizer::WordPieces(absl::string_view text) const {
  QKV_ASSIGN_OR_RETURN(const std::vector<Piece> pieces, TokenizeText(*this, text));
  std::vector<std::string> tokens;
  tokens.reserve(pieces.size());
  for (const Piece& piece : pieces) tokens.push_back(id_to_token_[piece.id]);
  return tokens;
}

absl::StatusOr<Encoding> Tokenizer::Encode(absl::string_view text, int max_length) const {
  QKV_RETURN_IF_ERROR(CheckMaxLength(max_length, 2));
  QKV_ASSIGN_OR_RETURN(const std::vector<Piece> pieces, TokenizeText(*this, text));
  size_t keep = pieces.size();
  if (max_length > 0) keep = std::min(keep, static_cast<size_t>(max_length - 2));

  Encoding encoding;
  encoding.truncated = keep < pieces.size();
  Reserve(keep + 2, &encoding);
  AppendSpecial(*this, special_.cls, 0, &encoding);
  AppendPieces(*this, pieces, keep, 0, &encoding);
  AppendSpecial(*this, special_.sep, 0, &encoding);
  return encoding;
}

absl::StatusOr<Encoding> Tokenizer::EncodePair(absl::string_view text_a, absl::string_view text_b,
                                               int max_length) const {
  QKV_RETURN_IF_ERROR(CheckMaxLength(max_length, 3));
  QKV_ASSIGN_OR_RETURN(const std::vector<Piece> pieces_a, TokenizeText(*this, text_a));
  QKV_ASSIGN_OR_RETURN(const std::vector<Piece> pieces_b, TokenizeText(*this, text_b));
  size_t keep_a = pieces_a.size();
  size_t keep_b = pieces_b.size();
  if (max_length > 0) {
    // HF longest_first: drop one token at a time from the longer text; on a tie from the second.
    const size_t budget = static_cast<size_t>(max_length - 3);
    while (keep_a + keep_b > budget) {
      if (keep_a > keep_b) {
        --keep_a;
      } else {
        --keep_b;
      }
    }
  }

  Encoding encoding;
  encoding.truncated = keep_a < pieces_a.size() || keep_b < pieces_b.size();
  Reserve(keep_a + keep_b + 3, &encoding);
  AppendSpecial(*this, special_.cls, 0, &encoding);
  AppendPieces(*this, pieces_a, keep_a, 0, &encoding);
  AppendSpecial(*this, special_.sep, 0, &encoding);
  AppendPieces(*this, pieces_b, keep_b, 1, &encoding);
  AppendSpecial(*this, special_.sep, 1, &encoding);
  return encoding;
}

}  // namespace qkv
