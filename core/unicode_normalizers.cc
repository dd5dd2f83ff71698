#include "core/unicode_normalizers.h"

#include <algorithm>
#include <cstddef>
#include <vector>

#include "unicode/uchar.h"
#include "unicode/unorm2.h"

namespace qkv {
namespace {

// A code point on its way through normalization, with HF's alignment change: 0 replaces the next original
// character, 1 is inserted after the previous one, -n replaces the next one and removes n more.
struct Item {
  char32_t code_point;
  int change;
};

// Whether `c` was assigned by Unicode 9.0, the data HF's normalizers use.
bool InUnicode9(char32_t c) {
  UVersionInfo age;
  u_charAge(static_cast<UChar32>(c), age);
  return age[0] != 0 && age[0] <= 9;  // unassigned code points have age 0.0
}

uint8_t CombiningClass(char32_t c) {
  return InUnicode9(c) ? u_getCombiningClass(static_cast<UChar32>(c)) : 0;
}

// The full decomposition of `c` (canonical or compatibility) appended to `items`, the first part with change
// 0.
void Decompose(char32_t c, const UNormalizer2* decomposer, std::vector<Item>* items) {
  UChar buffer[32];
  UErrorCode error = U_ZERO_ERROR;
  const int32_t length =
      c < 0xA0 || !InUnicode9(c)
          ? -1
          : unorm2_getDecomposition(decomposer, static_cast<UChar32>(c), buffer, 32, &error);
  if (U_FAILURE(error) || length <= 0) {
    items->push_back({c, 0});
    return;
  }
  bool first = true;
  for (int32_t i = 0; i < length;) {
    UChar32 part;
    U16_NEXT(buffer, i, length, part);
    items->push_back({static_cast<char32_t>(part), first ? 0 : 1});
    first = false;
  }
}

// Canonical ordering: each run of non-starters sorted by combining class, stably.
void Reorder(std::vector<Item>* items) {
  const auto by_class = [](const Item& a, const Item& b) {
    return CombiningClass(a.code_point) < CombiningClass(b.code_point);
  };
  for (auto start = items->begin(); start != items->end();) {
    if (CombiningClass(start->code_point) == 0) {
      ++start;
      continue;
    }
    auto end = start;
    while (end != items->end() && CombiningClass(end->code_point) != 0) ++end;
    std::stable_sort(start, end, by_class);
    start = end;
  }
}

// The canonical composition of `items` (in canonical order), tracking the changes: a composite's change is
// its parts' changes summed, minus one.
std::vector<Item> Compose(const std::vector<Item>& items) {
  const UNormalizer2* nfc = nullptr;
  UErrorCode error = U_ZERO_ERROR;
  nfc = unorm2_getNFCInstance(&error);
  const auto compose = [&](char32_t a, char32_t b, char32_t* out) {
    if (U_FAILURE(error) || !InUnicode9(a) || !InUnicode9(b)) return false;
    const UChar32 composite = unorm2_composePair(nfc, static_cast<UChar32>(a), static_cast<UChar32>(b));
    if (composite < 0 || !InUnicode9(static_cast<char32_t>(composite))) return false;
    *out = static_cast<char32_t>(composite);
    return true;
  };
  std::vector<Item> out;
  out.reserve(items.size());
  bool has_starter = false;
  Item starter{0, 0};
  std::vector<Item> blocked;  // non-starters after the starter that did not compose with it
  int last_class = -1;        // the class of blocked's last item; -1 when blocked is empty
  for (const Item& item : items) {
    const int item_class = CombiningClass(item.code_point);
    if (!has_starter) {
      if (item_class != 0) {
        out.push_back(item);
      } else {
        starter = item;
        has_starter = true;
      }
      continue;
    }
    char32_t composite;
    const bool reachable = last_class < 0 || last_class < item_class;
    if (reachable && compose(starter.code_point, item.code_point, &composite)) {
      starter = {composite, starter.change + item.change - 1};
      continue;
    }
    if (item_class == 0) {
      out.push_back(starter);
      out.insert(out.end(), blocked.begin(), blocked.end());
      blocked.clear();
      last_class = -1;
      starter = item;
      continue;
    }
    blocked.push_back(item);
    last_class = item_class;
  }
  if (has_starter) out.push_back(starter);
  out.insert(out.end(), blocked.begin(), blocked.end());
  return out;
}

}  // namespace

void UnicodeNormalizer::Normalize(CharString* text) const {
  if (std::all_of(text->begin(), text->end(), [](const Utf8Char& c) { return c.code_point < 0xA0; })) {
    return;  // nothing below U+00A0 decomposes, and no pair of them composes
  }
  UErrorCode error = U_ZERO_ERROR;
  const bool compatibility = form_ == UnicodeForm::kNfkc || form_ == UnicodeForm::kNfkd;
  const UNormalizer2* decomposer =
      compatibility ? unorm2_getNFKDInstance(&error) : unorm2_getNFDInstance(&error);
  if (U_FAILURE(error)) return;
  std::vector<Item> items;
  items.reserve(text->size());
  for (const Utf8Char& c : *text) Decompose(c.code_point, decomposer, &items);
  Reorder(&items);
  if (form_ == UnicodeForm::kNfc || form_ == UnicodeForm::kNfkc) items = Compose(items);
  // HF's transform: a change <= 0 takes the next original character's range (and skips -change more);
  // an insertion takes the range of the original character consumed last.
  CharString out;
  out.reserve(items.size());
  size_t next = 0;
  for (const Item& item : items) {
    Utf8Char c{item.code_point, (*text)[0].begin, (*text)[0].begin};
    if (item.change > 0) {
      if (next > 0) c = {item.code_point, (*text)[next - 1].begin, (*text)[next - 1].end};
    } else {
      const size_t at = std::min(next, text->size() - 1);
      c = {item.code_point, (*text)[at].begin, (*text)[at].end};
      next += 1 + static_cast<size_t>(-item.change);
    }
    out.push_back(c);
  }
  *text = std::move(out);
}

void StripAccentsNormalizer::Normalize(CharString* text) const {
  text->erase(std::remove_if(text->begin(), text->end(),
                             [](const Utf8Char& c) { return IsHfCombiningMark(c.code_point); }),
              text->end());
}

}  // namespace qkv
