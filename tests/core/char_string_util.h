// Test helpers: CharString (core/tokenizer_components.h) from and to plain code points, for normalizer and
// pre-tokenizer tests that compare characters and their byte ranges.
#ifndef QKV_TESTS_CORE_CHAR_STRING_UTIL_H_
#define QKV_TESTS_CORE_CHAR_STRING_UTIL_H_

#include <cstdint>
#include <string>

#include "core/tokenizer_components.h"

namespace qkv {
namespace testing_util {

// Each character of `text` covers one byte: ranges are character indices.
inline CharString Chars(const std::u32string& text) {
  CharString chars;
  for (size_t i = 0; i < text.size(); ++i) {
    chars.push_back({text[i], static_cast<int32_t>(i), static_cast<int32_t>(i + 1)});
  }
  return chars;
}

// The code points of `chars`, without their ranges.
inline std::u32string Text(const CharString& chars) {
  std::u32string text;
  for (const Utf8Char& c : chars) text.push_back(c.code_point);
  return text;
}

}  // namespace testing_util
}  // namespace qkv

#endif  // QKV_TESTS_CORE_CHAR_STRING_UTIL_H_
