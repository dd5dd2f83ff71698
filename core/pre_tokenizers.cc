#include "core/pre_tokenizers.h"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/normalizers.h"
#include "core/unicode_text.h"

namespace qkv {
namespace {

// A stretch [begin, end) of a text's characters, and whether it is a match (a delimiter).
struct Segment {
  size_t begin;
  size_t end;
  bool match;
};

// The segments of `text` with the matches [begin, end) (in order, not overlapping) and the gaps between.
std::vector<Segment> Segments(const std::vector<std::pair<size_t, size_t>>& matches, size_t length) {
  std::vector<Segment> segments;
  size_t previous = 0;
  for (const auto& [begin, end] : matches) {
    if (previous < begin) segments.push_back({previous, begin, false});
    segments.push_back({begin, end, true});
    previous = end;
  }
  if (previous < length) segments.push_back({previous, length, false});
  return segments;
}

// Each character for which `is_delimiter` holds is a match of its own.
template <typename Predicate>
std::vector<std::pair<size_t, size_t>> CharMatches(const CharString& text, Predicate is_delimiter) {
  std::vector<std::pair<size_t, size_t>> matches;
  for (size_t i = 0; i < text.size(); ++i) {
    if (is_delimiter(text[i].code_point)) matches.emplace_back(i, i + 1);
  }
  return matches;
}

// HF's NormalizedString::split: the words `behavior` makes of the segments, appended to `words`.
void SplitBy(const CharString& text, std::vector<Segment> segments, SplitBehavior behavior,
             std::vector<CharString>* words) {
  std::vector<Segment> kept;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const Segment& s : segments) {
        if (!s.match) kept.push_back(s);
      }
      break;
    case SplitBehavior::kIsolated:
      kept = std::move(segments);
      break;
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Segment& s : segments) {
        if (s.match && !previous_match && !kept.empty()) {
          kept.back().end = s.end;
        } else {
          kept.push_back(s);
        }
        previous_match = s.match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool next_match = false;  // walking backwards: whether the segment after was a match
      for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
        if (it->match && !next_match && !kept.empty()) {
          kept.back().begin = it->begin;
        } else {
          kept.push_back(*it);
        }
        next_match = it->match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      for (const Segment& s : segments) {
        if (s.match == previous_match && !kept.empty()) {
          kept.back().end = s.end;
        } else {
          kept.push_back(s);
        }
        previous_match = s.match;
      }
      break;
    }
  }
  for (const Segment& s : kept) {
    if (s.begin < s.end) {
      words->emplace_back(text.begin() + static_cast<std::ptrdiff_t>(s.begin),
                          text.begin() + static_cast<std::ptrdiff_t>(s.end));
    }
  }
}

// The regular expressions HF's converters emit for Split, which mean the same in ICU as in Oniguruma once
// \s and \S name White_Space (ICU's \s leaves out U+000B and U+0085).
constexpr const char* kAcceptedRegexes[] = {
    // GPT-2's (ByteLevel's own, as a Split).
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
    // CLIP's.
    R"('s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+)",
    // The Whitespace pre-tokenizer's.
    R"(\w+|[^\w\s]+)",
};

}  // namespace

void SequencePreTokenizer::Split(const CharString& text, bool at_start,
                                 std::vector<CharString>* words) const {
  words->assign(1, text);
  std::vector<CharString> next;
  std::vector<CharString> parts;
  bool first = true;
  for (const auto& pre_tokenizer : pre_tokenizers_) {
    next.clear();
    for (const CharString& word : *words) {
      // HF's Metaspace "first" asks whether the word starts the text.
      pre_tokenizer->Split(word, first ? at_start : word.front().begin == 0, &parts);
      for (CharString& part : parts) next.push_back(std::move(part));
    }
    words->swap(next);
    first = false;
  }
}

void CharClassPreTokenizer::Split(const CharString& text, bool /*at_start*/,
                                  std::vector<CharString>* words) const {
  words->clear();
  if (text.empty()) return;
  switch (kind_) {
    case Kind::kWhitespaceSplit:
      SplitBy(text, Segments(CharMatches(text, IsBertWhitespace), text.size()), SplitBehavior::kRemoved,
              words);
      return;
    case Kind::kPunctuation:
      SplitBy(text, Segments(CharMatches(text, IsBertPunctuation), text.size()), behavior_, words);
      return;
    case Kind::kDigits:
      SplitBy(text, Segments(CharMatches(text, IsRustNumeric), text.size()), behavior_, words);
      return;
    case Kind::kBert: {
      std::vector<CharString> pieces;
      SplitBy(text, Segments(CharMatches(text, IsBertWhitespace), text.size()), SplitBehavior::kRemoved,
              &pieces);
      for (const CharString& piece : pieces) {
        SplitBy(piece, Segments(CharMatches(piece, IsBertPunctuation), piece.size()),
                SplitBehavior::kIsolated, words);
      }
      return;
    }
    case Kind::kWhitespace: {
      // \w+|[^\w\s]+ with the matches kept: runs of one class, white space dropped.
      std::vector<std::pair<size_t, size_t>> runs;
      for (size_t i = 0; i < text.size();) {
        const char32_t c = text[i].code_point;
        if (IsBertWhitespace(c)) {
          ++i;
          continue;
        }
        const bool word = IsRegexWordChar(c);
        size_t end = i + 1;
        while (end < text.size() && !IsBertWhitespace(text[end].code_point) &&
               IsRegexWordChar(text[end].code_point) == word) {
          ++end;
        }
        runs.emplace_back(i, end);
        i = end;
      }
      for (const auto& [begin, end] : runs) {
        words->emplace_back(text.begin() + static_cast<std::ptrdiff_t>(begin),
                            text.begin() + static_cast<std::ptrdiff_t>(end));
      }
      return;
    }
  }
}

absl::StatusOr<std::unique_ptr<SplitPreTokenizer>> SplitPreTokenizer::Create(const std::string& pattern,
                                                                             bool regex,
                                                                             SplitBehavior behavior,
                                                                             bool invert) {
  auto split = std::unique_ptr<SplitPreTokenizer>(new SplitPreTokenizer());
  split->behavior_ = behavior;
  split->invert_ = invert;
  absl::StatusOr<TextPattern> compiled = TextPattern::Create(pattern, false);
  if (regex) {
    bool accepted = false;
    for (const char* known : kAcceptedRegexes) accepted = accepted || pattern == known;
    if (!accepted) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the regex ", pattern, " is not supported (only those of HF's GPT-2, CLIP and Whitespace)"));
    }
    compiled = TextPattern::CreateRegex(
        ToUtf16(absl::StrReplaceAll(pattern, {{"\\s", "\\p{White_Space}"}, {"\\S", "\\P{White_Space}"}})));
  }
  if (!compiled.ok())
    return absl::InvalidArgumentError(absl::StrCat("the pattern ", compiled.status().message()));
  split->pattern_ = *std::move(compiled);
  return split;
}

void SplitPreTokenizer::Split(const CharString& text, bool /*at_start*/,
                              std::vector<CharString>* words) const {
  words->clear();
  if (text.empty()) return;
  const std::vector<std::pair<size_t, size_t>> matches = pattern_.Find(text);
  std::vector<Segment> segments = Segments(matches, text.size());
  if (invert_) {
    for (Segment& s : segments) s.match = !s.match;
  }
  SplitBy(text, std::move(segments), behavior_, words);
}

}  // namespace qkv
