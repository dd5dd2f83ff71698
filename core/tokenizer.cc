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
#include "core/subword_pipeline.h"
#include "core/unicode_text.h"

namespace qkv {

namespace {

using Piece = Tokenizer::Piece;

constexpr absl::string_view kContinuationPrefix = "##";

// A normalized code point and the bytes [begin, end) of the original character it came from.
using NormalizedChar = Utf8Char;

// Normalization restarts in chunks of at least this many characters (see StartsChunk).
constexpr size_t kChunkChars = 128;

// True when normalizing the text before `c` and the text from `c` on separately gives what normalizing them
// together gives: clean_text keeps `c`, and `c` is ASCII, white space or a CJK ideograph, so its
// decomposition starts with a starter (combining class 0) that canonical ordering never moves a mark across.
// Everything else in BertNormalizer maps one character at a time.
bool StartsChunk(char32_t cp, const TokenizerOptions& options) {
  if (options.clean_text && (cp == 0 || cp == 0xFFFD || IsBertControl(cp))) return false;
  return cp < 0x80 || IsBertWhitespace(cp) || IsCjkIdeograph(cp);
}

// BertNormalizer over `text`, in Hugging Face's order: drops control characters and turns whitespace into
// ' ' (clean_text), surrounds CJK ideographs with ' ', strips accents (NFD, then no Mn), lowercases. Each
// output character keeps the byte range of its original character. Replaces `out`.
void Normalize(absl::Span<const Utf8Char> text, const TokenizerOptions& options,
               std::vector<NormalizedChar>* out) {
  out->clear();
  for (const Utf8Char& c : text) {
    const char32_t cp = c.code_point;
    if (options.clean_text) {
      if (cp == 0 || cp == 0xFFFD || IsBertControl(cp)) continue;
      if (IsBertWhitespace(cp)) {
        out->push_back({U' ', c.begin, c.end});
        continue;
      }
    }
    if (options.tokenize_chinese_chars && IsCjkIdeograph(cp)) {
      // HF aligns both spaces with the ideograph (what a normalized added token's lstrip / rstrip covers).
      out->push_back({U' ', c.begin, c.end});
      out->push_back(c);
      out->push_back({U' ', c.begin, c.end});
    } else {
      out->push_back(c);
    }
  }
  if (options.strip_accents) StripAccents(out);
  if (options.lower_case) Lowercase(out);
}

// The word being read: its first max_chars_per_word + 1 characters (enough to know it is too long), its
// length and its byte range in the original text.
struct Word {
  void Clear() {
    chars.clear();
    length = 0;
  }
  void Add(const NormalizedChar& c, size_t keep) {
    if (length == 0) begin = c.begin;
    end = c.end;
    if (chars.size() < keep) chars.push_back(c);
    ++length;
  }

  std::vector<NormalizedChar> chars;
  size_t length = 0;
  int32_t begin = 0;
  int32_t end = 0;
};

// The vocabulary as WordPiece sees it.
struct WordPieceVocab {
  const VocabTrie& trie;
  int32_t continuation_root;  // the trie node of "##"; kNone when no token starts with it
  int32_t unk;
  size_t max_chars_per_word;
};

// Greedy longest-match-first WordPiece over one word: appends its pieces, or one [UNK] when the word is too
// long or has a part that no vocabulary piece matches, to `pieces`, which never grows past `max_pieces`
// (later pieces of the word are dropped). `utf8` and `char_end` are scratch.
void AppendWordPieces(const WordPieceVocab& vocab, const Word& word, size_t max_pieces, std::string* utf8,
                      std::vector<int32_t>* char_end, std::vector<Piece>* pieces) {
  const size_t first_piece = pieces->size();
  if (first_piece >= max_pieces) return;
  const Piece unknown = {vocab.unk, word.begin, word.end};
  if (word.length > vocab.max_chars_per_word) {
    pieces->push_back(unknown);
    return;
  }
  // The word as UTF-8; char_end[b] = 1 + the index of the character that ends at byte b + 1, else 0.
  utf8->clear();
  char_end->clear();
  for (size_t i = 0; i < word.chars.size(); ++i) {
    AppendUtf8(word.chars[i].code_point, utf8);
    char_end->resize(utf8->size(), 0);
    char_end->back() = static_cast<int32_t>(i + 1);
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(utf8->data());
  size_t start_byte = 0;
  size_t start_char = 0;
  while (start_byte < utf8->size()) {
    // The longest vocabulary piece (prefixed with "##" after the first) that starts here and ends on a
    // character boundary.
    int32_t node = start_char == 0 ? VocabTrie::kRoot : vocab.continuation_root;
    int32_t id = VocabTrie::kNone;
    size_t end_byte = start_byte;
    for (size_t b = start_byte; b < utf8->size() && node != VocabTrie::kNone; ++b) {
      node = vocab.trie.Next(node, bytes[b]);
      if (node != VocabTrie::kNone && (*char_end)[b] != 0 && vocab.trie.Id(node) != VocabTrie::kNone) {
        id = vocab.trie.Id(node);
        end_byte = b + 1;
      }
    }
    if (id == VocabTrie::kNone) {  // not decomposable: the whole word is unknown
      pieces->resize(first_piece);
      pieces->push_back(unknown);
      return;
    }
    const size_t end_char = static_cast<size_t>((*char_end)[end_byte - 1]);
    if (pieces->size() < max_pieces) {
      pieces->push_back({id, word.chars[start_char].begin, word.chars[end_char - 1].end});
    }
    start_byte = end_byte;
    start_char = end_char;
  }
}

// Checks that text[offset, end) is valid UTF-8 without keeping anything.
absl::Status CheckUtf8(absl::string_view text, size_t offset) {
  while (offset < text.size()) {
    QKV_ASSIGN_OR_RETURN(const Utf8Char c, DecodeCharAt(text, offset));
    offset = static_cast<size_t>(c.end);
  }
  return absl::OkStatus();
}

void AppendSpecial(const Tokenizer& tokenizer, int32_t id, int32_t type_id, int32_t sequence,
                   Encoding* encoding) {
  encoding->ids.push_back(id);
  encoding->type_ids.push_back(type_id);
  encoding->tokens.push_back(tokenizer.IdToToken(id));
  encoding->offsets.emplace_back(0, 0);
  encoding->sequence.push_back(sequence);
  encoding->special.push_back(true);
}

void AppendPieces(const Tokenizer& tokenizer, const std::vector<Piece>& pieces, size_t count, int32_t type_id,
                  int32_t sequence, Encoding* encoding) {
  for (size_t i = 0; i < count; ++i) {
    const Piece& piece = pieces[i];
    encoding->ids.push_back(piece.id);
    encoding->type_ids.push_back(type_id);
    encoding->tokens.push_back(tokenizer.IdToToken(piece.id));
    encoding->offsets.emplace_back(piece.begin, piece.end);
    encoding->sequence.push_back(sequence);
    encoding->special.push_back(false);
  }
}

void Reserve(size_t size, Encoding* encoding) {
  encoding->ids.reserve(size);
  encoding->type_ids.reserve(size);
  encoding->tokens.reserve(size);
  encoding->offsets.reserve(size);
  encoding->sequence.reserve(size);
  encoding->special.reserve(size);
}

absl::Status CheckLimit(const LengthLimit& limit, int specials) {
  if (limit.max_length < 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_length must be >= 0, got ", limit.max_length));
  }
  if (limit.max_length > 0 && limit.max_length < specials) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_length ", limit.max_length, " cannot hold the ", specials, " special tokens"));
  }
  return absl::OkStatus();
}

absl::Status TooLong(const LengthLimit& limit, bool pair, const SpecialsTemplate& specials) {
  return absl::OutOfRangeError(absl::StrCat(pair ? "text pair" : "text", " is longer than max_length ",
                                            limit.max_length, " tokens (",
                                            pair ? specials.pair_description : specials.single_description,
                                            " included)"));
}

}  // namespace

absl::StatusOr<Tokenizer> Tokenizer::FromTokens(std::vector<std::string> tokens,
                                                const TokenizerOptions& options, const std::string& source,
                                                const std::vector<AddedToken>* added_tokens,
                                                size_t model_size) {
  if (options.max_chars_per_word <= 0 || options.max_chars_per_word > kMaxCharsPerWordLimit) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": max_chars_per_word must be in [1, ",
                                                   kMaxCharsPerWordLimit, "], got ",
                                                   options.max_chars_per_word));
  }
  if (tokens.empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": the vocabulary is empty"));
  if (tokens.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": the vocabulary is too large"));
  }
  // Tokens go out in responses as proto3 strings, which a client cannot parse unless they are UTF-8.
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!CheckUtf8(tokens[i], 0).ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": token ", i, " is not valid UTF-8"));
    }
  }
  Tokenizer tokenizer;
  tokenizer.options_ = options;
  tokenizer.token_to_id_.reserve(tokens.size());
  // A piece covers at most max_chars_per_word characters (4 bytes each) after its "##": longer tokens can
  // never match, and leaving them out bounds the trie by the limit rather than by the file.
  const size_t longest_piece =
      4 * static_cast<size_t>(options.max_chars_per_word) + kContinuationPrefix.size();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const int32_t id = static_cast<int32_t>(i);
    tokenizer.token_to_id_.emplace(tokens[i], id);  // duplicates: the first id stays
    if (i < model_size && !tokens[i].empty() && tokens[i].size() <= longest_piece) {
      tokenizer.trie_.Insert(tokens[i], id);
    }
  }
  tokenizer.continuation_root_ = tokenizer.trie_.Walk(VocabTrie::kRoot, kContinuationPrefix);
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
  // HF's two passes: normalized=false tokens in the raw text, the others (their contents normalized too)
  // in the normalized text between those.
  std::vector<AddedToken> raw;
  std::vector<AddedToken> normalized;
  for (AddedToken token : *added_tokens) {
    if (!token.normalized) {
      raw.push_back(std::move(token));
      continue;
    }
    absl::StatusOr<std::vector<Utf8Char>> content = DecodeUtf8(token.content);
    if (!content.ok()) continue;  // not a vocabulary entry (they are UTF-8): cannot be typed either
    std::vector<NormalizedChar> chars;
    Normalize(*content, options, &chars);
    token.content.clear();
    for (const NormalizedChar& c : chars) AppendUtf8(c.code_point, &token.content);
    normalized.push_back(std::move(token));
  }
  tokenizer.added_tokens_ = AddedTokens(raw);
  tokenizer.normalized_added_tokens_ = AddedTokens(normalized);
  tokenizer.specials_ = SpecialsTemplate::Bert(special.cls, special.sep);
  return tokenizer;
}

int32_t Tokenizer::TokenToId(absl::string_view token) const {
  const auto it = token_to_id_.find(token);
  return it == token_to_id_.end() ? -1 : it->second;
}

std::string Tokenizer::IdToToken(int32_t id) const {
  if (id >= 0 && static_cast<size_t>(id) < id_to_token_.size()) return id_to_token_[static_cast<size_t>(id)];
  return absl::StrCat(kPlaceholderPrefix, id, "]");
}

absl::Status Tokenizer::Pieces(absl::string_view text, size_t max_pieces, std::vector<Piece>* pieces) const {
  if (pipeline_ != nullptr) {
    QKV_RETURN_IF_ERROR(pipeline_->Pieces(text, max_pieces, added_tokens_, id_to_token_, pieces));
    if (pieces->size() > max_pieces) pieces->resize(max_pieces);
    return absl::OkStatus();
  }
  pieces->clear();
  if (text.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError("text is too long (more than 2^31-1 bytes)");
  }
  const WordPieceVocab vocab = {trie_, continuation_root_, special_.unk,
                                static_cast<size_t>(options_.max_chars_per_word)};
  const size_t keep = vocab.max_chars_per_word + 1;
  std::vector<Utf8Char> chunk;  // characters read but not normalized yet
  std::vector<NormalizedChar> normalized;
  Word word;
  std::string utf8;
  std::vector<int32_t> char_end;
  auto end_word = [&] {
    if (word.length == 0) return;
    AppendWordPieces(vocab, word, max_pieces, &utf8, &char_end, pieces);
    word.Clear();
  };
  // Normalizes the chunk and splits it into words (BertPreTokenizer): whitespace ends a word; every
  // punctuation character is a word of its own. A word may go on in the next chunk.
  auto add_char = [&](const NormalizedChar& n) {
    if (IsBertWhitespace(n.code_point)) {
      end_word();
    } else if (IsBertPunctuation(n.code_point)) {
      end_word();
      word.Add(n, keep);
      end_word();
    } else {
      word.Add(n, keep);
    }
  };
  // HF's second pass: the normalized=true added tokens, matched in the normalized stretch.
  std::string normalized_utf8;
  std::vector<size_t> char_at;  // char_at[byte of normalized_utf8]: its character in `normalized`
  auto add_normalized = [&] {
    normalized_utf8.clear();
    char_at.clear();
    for (size_t i = 0; i < normalized.size(); ++i) {
      AppendUtf8(normalized[i].code_point, &normalized_utf8);
      char_at.resize(normalized_utf8.size(), i);
    }
    size_t floor = 0;
    for (size_t at = 0; at < normalized_utf8.size();) {
      AddedTokens::Match match;
      const bool matched = normalized_added_tokens_.MatchAt(normalized_utf8, at, floor, &match);
      if (matched && !match.discarded) {
        end_word();  // lstrip / rstrip took only white space, which ends the word anyway
        if (pieces->size() < max_pieces) {
          pieces->push_back({match.id, normalized[char_at[match.begin]].begin,
                             normalized[char_at[match.end - 1]].end});
        }
        floor = at = match.end;
        continue;
      }
      const size_t plain_end = matched ? match.token_end : at + 1;
      while (at < plain_end) {
        const size_t i = char_at[at];
        add_char(normalized[i]);
        while (at < normalized_utf8.size() && char_at[at] == i) ++at;
      }
    }
  };
  auto end_chunk = [&] {
    if (chunk.empty()) return;
    Normalize(chunk, options_, &normalized);
    chunk.clear();
    if (!normalized_added_tokens_.empty()) return add_normalized();
    for (const NormalizedChar& n : normalized) add_char(n);
  };
  size_t offset = 0;
  size_t floor = 0;  // the end of the previous added token: lstrip goes back no further
  while (offset < text.size()) {
    // Enough pieces: the rest is only validated.
    if (pieces->size() >= max_pieces) return CheckUtf8(text, offset);
    // An added token typed in the raw text ends the text before it (matches start on character boundaries:
    // the tokens are UTF-8, and the text before `offset` decoded).
    AddedTokens::Match match;
    const bool matched = added_tokens_.MatchAt(text, offset, floor, &match);
    if (matched && !match.discarded) {
      // lstrip / rstrip take only white space, which makes no piece: it just leaves the chunk.
      while (!chunk.empty() && static_cast<size_t>(chunk.back().begin) >= match.begin) chunk.pop_back();
      end_chunk();
      end_word();
      if (pieces->size() < max_pieces) {
        pieces->push_back({match.id, static_cast<int32_t>(match.begin), static_cast<int32_t>(match.end)});
      }
      floor = offset = match.end;
      continue;
    }
    // A discarded single_word match is plain text with no token starting inside it.
    const size_t plain_end = matched ? match.token_end : offset;
    do {
      QKV_ASSIGN_OR_RETURN(const Utf8Char c, DecodeCharAt(text, offset));
      offset = static_cast<size_t>(c.end);
      // Normalized added tokens are matched in the whole normalized stretch: no chunks then.
      if (chunk.size() >= kChunkChars && normalized_added_tokens_.empty() &&
          StartsChunk(c.code_point, options_)) {
        end_chunk();
      }
      chunk.push_back(c);
    } while (offset < plain_end);
  }
  end_chunk();
  end_word();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Tokenizer::WordPieces(absl::string_view text) const {
  std::vector<Piece> pieces;
  QKV_RETURN_IF_ERROR(Pieces(text, std::numeric_limits<size_t>::max(), &pieces));
  std::vector<std::string> tokens;
  tokens.reserve(pieces.size());
  for (const Piece& piece : pieces) tokens.push_back(id_to_token_[piece.id]);
  return tokens;
}

void Tokenizer::Assemble(const std::vector<TemplateItem>& items, const std::vector<Piece>* pieces[2],
                         const size_t keep[2], Encoding* encoding) const {
  Reserve(keep[0] + keep[1] + items.size(), encoding);
  for (const TemplateItem& item : items) {
    if (item.special_id >= 0) {
      AppendSpecial(*this, item.special_id, item.type_id, item.sequence, encoding);
    } else {
      AppendPieces(*this, *pieces[item.sequence], keep[item.sequence], item.type_id, item.sequence, encoding);
    }
  }
}

absl::StatusOr<Encoding> Tokenizer::Encode(absl::string_view text, const LengthLimit& limit) const {
  const int specials = specials_.NumSpecials(/*pair=*/false);
  QKV_RETURN_IF_ERROR(CheckLimit(limit, specials));
  // With a limit, one piece past the budget says whether anything was cut.
  const size_t budget = limit.max_length > 0 ? static_cast<size_t>(limit.max_length - specials)
                                             : std::numeric_limits<size_t>::max() - 1;
  std::vector<Piece> pieces;
  QKV_RETURN_IF_ERROR(Pieces(text, budget + 1, &pieces));
  const bool over = pieces.size() > budget;
  if (over && limit.overflow == OverflowPolicy::kReject) return TooLong(limit, /*pair=*/false, specials_);
  const std::vector<Piece> none;
  const std::vector<Piece>* texts[2] = {&pieces, &none};
  const size_t keep[2] = {std::min(pieces.size(), budget), 0};

  Encoding encoding;
  encoding.truncated = over;
  Assemble(specials_.single, texts, keep, &encoding);
  return encoding;
}

absl::StatusOr<Encoding> Tokenizer::EncodePair(absl::string_view text_a, absl::string_view text_b,
                                               const LengthLimit& limit) const {
  const int specials = specials_.NumSpecials(/*pair=*/true);
  QKV_RETURN_IF_ERROR(CheckLimit(limit, specials));
  const size_t budget = limit.max_length > 0 ? static_cast<size_t>(limit.max_length - specials)
                                             : std::numeric_limits<size_t>::max() - 1;
  const bool reject = limit.overflow == OverflowPolicy::kReject;
  // Truncation needs at most budget + 1 pieces of each text: longest_first keeps at most `budget` of
  // either, and from (budget + 1, n) it reaches the same split as from any longer first text.
  std::vector<Piece> pieces_a;
  std::vector<Piece> pieces_b;
  QKV_RETURN_IF_ERROR(Pieces(text_a, budget + 1, &pieces_a));
  if (reject && pieces_a.size() > budget) {
    QKV_RETURN_IF_ERROR(CheckUtf8(text_b, 0));
    return TooLong(limit, /*pair=*/true, specials_);
  }
  QKV_RETURN_IF_ERROR(Pieces(text_b, reject ? budget - pieces_a.size() + 1 : budget + 1, &pieces_b));
  size_t keep_a = pieces_a.size();
  size_t keep_b = pieces_b.size();
  if (keep_a + keep_b > budget) {
    if (reject) return TooLong(limit, /*pair=*/true, specials_);
    // HF longest_first: drop one token at a time from the longer text; on a tie from the second.
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
  const std::vector<Piece>* texts[2] = {&pieces_a, &pieces_b};
  const size_t keep[2] = {keep_a, keep_b};
  Assemble(specials_.pair, texts, keep, &encoding);
  return encoding;
}

}  // namespace qkv
