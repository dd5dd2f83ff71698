// Invariants every successful tokenizer result must satisfy, checked by the tokenizer fuzz targets; a
// violation aborts (libFuzzer reports it as a crash with the input).
#ifndef QKV_TESTS_FUZZ_ENCODING_CHECKS_H_
#define QKV_TESTS_FUZZ_ENCODING_CHECKS_H_

#include <cstdio>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "core/tokenizer.h"

namespace qkv {
namespace fuzz {

inline void Check(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

// `encoding` came from tokenizer.Encode(a, max_length) (`pair` false) or EncodePair(a, b, max_length).
inline void CheckEncoding(const Tokenizer& tokenizer, const Encoding& encoding, absl::string_view a,
                          absl::string_view b, bool pair, int max_length) {
  const size_t t = encoding.ids.size();
  Check(encoding.type_ids.size() == t && encoding.tokens.size() == t && encoding.offsets.size() == t &&
            encoding.sequence.size() == t && encoding.special.size() == t,
        "all vectors of an Encoding have the same length");
  Check(t >= (pair ? 3u : 2u), "[CLS] and [SEP] are always present");
  if (max_length > 0) Check(t <= static_cast<size_t>(max_length), "max_length bounds the tokens");
  for (size_t i = 0; i < t; ++i) {
    Check(encoding.ids[i] >= 0 && encoding.ids[i] < tokenizer.vocab_size(), "ids lie in the vocabulary");
    Check(encoding.sequence[i] == 0 || (pair && encoding.sequence[i] == 1), "sequences are 0, or 1 in b");
    Check(encoding.type_ids[i] >= 0, "type ids are not negative");
    if (tokenizer.model_type() == "WordPiece") {
      Check(encoding.type_ids[i] == encoding.sequence[i], "WordPiece's type id is its text");
    }
    const auto [begin, end] = encoding.offsets[i];
    const size_t text_size = encoding.sequence[i] == 0 ? a.size() : b.size();
    Check(begin >= 0 && begin <= end && static_cast<size_t>(end) <= text_size, "offsets lie in the text");
    Check(tokenizer.IdToToken(encoding.ids[i]) == encoding.tokens[i], "a token is its id's vocabulary entry");
  }
}

}  // namespace fuzz
}  // namespace qkv

#endif  // QKV_TESTS_FUZZ_ENCODING_CHECKS_H_
