#include "core/metaspace.h"

namespace qkv {

void MetaspacePreTokenizer::Split(const CharString& text, bool at_start,
                                  std::vector<CharString>* words) const {
  words->clear();
  if (text.empty()) return;
  CharString replaced;
  replaced.reserve(text.size() + 1);
  const bool starts_with_replacement =
      text.front().code_point == U' ' || text.front().code_point == replacement_;
  if (!starts_with_replacement &&
      (prepend_ == PrependScheme::kAlways || (prepend_ == PrependScheme::kFirst && at_start))) {
    replaced.push_back({replacement_, text.front().begin, text.front().end});
  }
  for (const Utf8Char& c : text) {
    replaced.push_back(c.code_point == U' ' ? Utf8Char{replacement_, c.begin, c.end} : c);
  }
  if (!split_) {
    words->push_back(std::move(replaced));
    return;
  }
  // MergedWithNext: each replacement character starts a word.
  CharString word;
  for (const Utf8Char& c : replaced) {
    if (c.code_point == replacement_ && !word.empty()) {
      words->push_back(std::move(word));
      word.clear();
    }
    word.push_back(c);
  }
  if (!word.empty()) words->push_back(std::move(word));
}

}  // namespace qkv
