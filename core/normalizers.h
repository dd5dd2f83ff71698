// Normalizers of tokenizer.json besides BERT's, Precompiled and the Unicode forms (unicode_normalizers.h):
// Sequence (several in order), Replace (a literal string or a regular expression, every non-overlapping
// match replaced), Strip, Lowercase and Prepend, with Hugging Face tokenizers' offset alignment: a kept
// character keeps its range; Replace's characters take the range of the last character matched, Prepend's
// the range of the first character, a lowercase expansion the range of the character it came from.
//
// Thread safety: immutable after construction; Normalize is const and safe from any number of threads.
#ifndef QKV_CORE_NORMALIZERS_H_
#define QKV_CORE_NORMALIZERS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tokenizer_components.h"
#include "unicode/uregex.h"

namespace qkv {

// A pattern of Replace or Split: a literal string or an ICU regular expression, compiled once. Find's
// cost is linear in the text for a literal (Knuth-Morris-Pratt), whatever the pattern's length.
// Thread safety: immutable after Create; Find is const and safe from any number of threads (each call
// clones the compiled expression, which shares the compiled pattern).
class TextPattern {
 public:
  // InvalidArgument when `pattern` is empty or not UTF-8, or (`regex`) when it does not compile; the
  // message is a predicate ("is empty") for the caller to prefix with the field.
  static absl::StatusOr<TextPattern> Create(const std::string& pattern, bool regex);
  // A regular expression given as UTF-16.
  static absl::StatusOr<TextPattern> CreateRegex(const std::u16string& regex);

  // The matches [begin, end) in characters of `text`: leftmost first, in order, not overlapping; empty
  // matches are left out.
  std::vector<std::pair<size_t, size_t>> Find(const CharString& text) const;

 private:
  struct RegexCloser {
    void operator()(URegularExpression* regex) const;
  };
  std::vector<std::pair<size_t, size_t>> FindLiteral(const CharString& text) const;

  std::u32string literal_;                     // when not a regex
  std::vector<size_t> failure_;                // failure_[k]: KMP's border of literal_[0, k]
  std::shared_ptr<URegularExpression> regex_;  // when a regex; only ever cloned, never matched with
};

// `utf8` as UTF-16, for ICU's regular expressions; invalid UTF-8 gives an empty string.
std::u16string ToUtf16(const std::string& utf8);

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> normalizers)
      : normalizers_(std::move(normalizers)) {}
  void Normalize(CharString* text) const override;

 private:
  std::vector<std::unique_ptr<Normalizer>> normalizers_;
};

class ReplaceNormalizer : public Normalizer {
 public:
  // `pattern` is a literal string (`regex` false) or an ICU regular expression (the simple patterns
  // tokenizer.json files use, e.g. " {2,}", read as Oniguruma reads them). InvalidArgument when the pattern
  // is empty or does not compile.
  static absl::StatusOr<std::unique_ptr<ReplaceNormalizer>> Create(const std::string& pattern, bool regex,
                                                                   const std::string& content);
  void Normalize(CharString* text) const override;

 private:
  ReplaceNormalizer(TextPattern pattern, std::u32string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}

  TextPattern pattern_;
  std::u32string content_;
};

// Removes the white space (Rust's char::is_whitespace) at the start (`left`) and / or end (`right`).
class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void Normalize(CharString* text) const override;

 private:
  bool left_;
  bool right_;
};

// Rust's char::to_lowercase, character by character (core/unicode_text.h's Lowercase).
class LowercaseNormalizer : public Normalizer {
 public:
  void Normalize(CharString* text) const override;
};

// Puts `prefix` before a text that is not empty.
class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::u32string prefix) : prefix_(std::move(prefix)) {}
  void Normalize(CharString* text) const override;

 private:
  std::u32string prefix_;
};

}  // namespace qkv

#endif  // QKV_CORE_NORMALIZERS_H_
