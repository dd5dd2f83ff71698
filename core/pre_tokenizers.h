// Pre-tokenizers of tokenizer.json besides ByteLevel and Metaspace, as Hugging Face tokenizers runs them:
// Sequence (each one on every word of the one before), WhitespaceSplit, Whitespace, BertPreTokenizer,
// Punctuation, Digits and Split (a literal string, or one of the regular expressions HF's converters
// emit). A word keeps the characters (and so the original ranges) of the text it came from.
//
// Thread safety: immutable after construction; Split is const and safe from any number of threads.
#ifndef QKV_CORE_PRE_TOKENIZERS_H_
#define QKV_CORE_PRE_TOKENIZERS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/normalizers.h"
#include "core/tokenizer_components.h"

namespace qkv {

// HF's SplitDelimiterBehavior: what becomes of the matched characters (the delimiters).
enum class SplitBehavior {
  kRemoved,             // dropped
  kIsolated,            // each match a word of its own
  kMergedWithPrevious,  // appended to the word before it
  kMergedWithNext,      // prepended to the word after it
  kContiguous,          // adjacent matches one word
};

// The Sequence pre-tokenizer: each pre-tokenizer splits every word the previous ones made.
class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> pre_tokenizers)
      : pre_tokenizers_(std::move(pre_tokenizers)) {}
  void Split(const CharString& text, bool at_start, std::vector<CharString>* words) const override;

 private:
  std::vector<std::unique_ptr<PreTokenizer>> pre_tokenizers_;
};

// The pre-tokenizers that split on a class of characters, each matched character a delimiter:
// WhitespaceSplit (white space, removed), Punctuation (HF's punctuation, `behavior`), Digits (Rust's
// char::is_numeric, isolated or contiguous), BertPreTokenizer (white space removed, then punctuation
// isolated) and Whitespace (the words of HF's \w+|[^\w\s]+: runs of word characters, runs of other characters
// but white space).
class CharClassPreTokenizer : public PreTokenizer {
 public:
  enum class Kind { kWhitespaceSplit, kWhitespace, kBert, kPunctuation, kDigits };
  CharClassPreTokenizer(Kind kind, SplitBehavior behavior) : kind_(kind), behavior_(behavior) {}
  void Split(const CharString& text, bool at_start, std::vector<CharString>* words) const override;

 private:
  Kind kind_;
  SplitBehavior behavior_;  // for kPunctuation and kDigits
};

// The Split pre-tokenizer: the matches of a literal string or of a regular expression are the delimiters
// (`invert`: the words). Regular expressions run on ICU; only those HF's converters emit are accepted
// (SplitPreTokenizer::Create names any other), as their meaning is the same in ICU and Oniguruma.
class SplitPreTokenizer : public PreTokenizer {
 public:
  // InvalidArgument for an empty pattern, or a regex that is not one of the accepted ones.
  static absl::StatusOr<std::unique_ptr<SplitPreTokenizer>> Create(const std::string& pattern, bool regex,
                                                                   SplitBehavior behavior, bool invert);
  void Split(const CharString& text, bool at_start, std::vector<CharString>* words) const override;

 private:
  SplitPreTokenizer() = default;

  TextPattern pattern_;
  SplitBehavior behavior_ = SplitBehavior::kRemoved;
  bool invert_ = false;
};

}  // namespace qkv

#endif  // QKV_CORE_PRE_TOKENIZERS_H_
