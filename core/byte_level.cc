#include "core/byte_level.h"

#include <array>
#include <string>
#include <utility>

#include "common/utf8.h"
#include "unicode/uchar.h"

namespace qkv {
namespace {

constexpr char32_t kSpace = U' ';

std::array<char32_t, 256> MakeByteTable() {
  std::array<char32_t, 256> table{};
  char32_t next = 0x100;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    table[static_cast<size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
  }
  return table;
}

bool IsLetter(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK) != 0;
}

bool IsNumber(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0;
}

bool IsSpace(char32_t c) { return IsBertWhitespace(c); }

bool IsOther(char32_t c) { return !IsSpace(c) && !IsLetter(c) && !IsNumber(c); }

// The length of the contraction ('s 't 're 've 'm 'll 'd) at text[i], or 0.
size_t ContractionAt(const CharString& text, size_t i) {
  if (text[i].code_point != U'\'' || i + 1 >= text.size()) return 0;
  const char32_t a = text[i + 1].code_point;
  if (a == U's' || a == U't' || a == U'm' || a == U'd') return 2;
  if (i + 2 >= text.size()) return 0;
  const char32_t b = text[i + 2].code_point;
  if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) return 3;
  return 0;
}

}  // namespace

char32_t ByteLevelChar(uint8_t byte) {
  static const std::array<char32_t, 256> kTable = MakeByteTable();
  return kTable[byte];
}

std::vector<std::pair<size_t, size_t>> Gpt2Split(const CharString& text) {
  std::vector<std::pair<size_t, size_t>> words;
  const size_t n = text.size();
  size_t i = 0;
  auto run = [&](size_t from, bool (*in_class)(char32_t)) {
    while (from < n && in_class(text[from].code_point)) ++from;
    return from;
  };
  while (i < n) {
    size_t end = i + ContractionAt(text, i);
    if (end == i) {
      // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": the optional space only when a class run follows.
      const size_t start = text[i].code_point == kSpace && i + 1 < n ? i + 1 : i;
      for (bool (*in_class)(char32_t) : {IsLetter, IsNumber, IsOther}) {
        if (in_class(text[start].code_point)) {
          end = run(start, in_class);
          break;
        }
      }
    }
    if (end == i) {
      // "\s+(?!\S)" backs off one character before a non-space; "\s+" takes a lone space.
      const size_t space_end = run(i, IsSpace);
      end = space_end == n || space_end - i == 1 ? space_end : space_end - 1;
    }
    words.emplace_back(i, end);
    i = end;
  }
  return words;
}

void ByteLevelPreTokenizer::Split(const CharString& text, bool /*at_start*/,
                                  std::vector<CharString>* words) const {
  words->clear();
  if (text.empty()) return;
  CharString prefixed;
  const CharString* source = &text;
  if (add_prefix_space_ && text.front().code_point != kSpace) {
    prefixed.reserve(text.size() + 1);
    prefixed.push_back({kSpace, text.front().begin, text.front().end});
    prefixed.insert(prefixed.end(), text.begin(), text.end());
    source = &prefixed;
  }
  std::vector<std::pair<size_t, size_t>> ranges;
  if (use_regex_) {
    ranges = Gpt2Split(*source);
  } else {
    ranges.emplace_back(0, source->size());
  }
  std::string utf8;
  for (const auto& [begin, end] : ranges) {
    CharString word;
    for (size_t i = begin; i < end; ++i) {
      const Utf8Char& c = (*source)[i];
      utf8.clear();
      AppendUtf8(c.code_point, &utf8);
      for (const char byte : utf8)
        word.push_back({ByteLevelChar(static_cast<uint8_t>(byte)), c.begin, c.end});
    }
    if (!word.empty()) words->push_back(std::move(word));
  }
}

}  // namespace qkv
