// libFuzzer target: the WordPiece tokenizer on arbitrary bytes, single texts and pairs, over the bundled
// bert-tiny-random vocabulary (30522 tokens) with every combination of the casing / cleaning options.
//
// Input: byte 0 picks the options (bits 0-3: lower_case, strip_accents, tokenize_chinese_chars,
// clean_text), bit 4 a pair, bits 5-7 max_length from {0, 1, 2, 3, 5, 8, 16, 64}; the rest is the text, or
// for a pair text_a and text_b split at the first kPartSeparator. Invalid UTF-8 must be InvalidArgument;
// every result must satisfy CheckEncoding, and WordPieces must agree with it when nothing was truncated.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tokenizer.h"
#include "tests/fuzz/encoding_checks.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using qkv::fuzz::Check;

// The 16 option combinations, loaded once.
const std::vector<std::unique_ptr<qkv::Tokenizer>>& Tokenizers() {
  static const auto* const tokenizers = [] {
    auto* all = new std::vector<std::unique_ptr<qkv::Tokenizer>>;
    const std::string vocab = qkv::fuzz::SourceDir() + "/models/bert-tiny-random/vocab.txt";
    for (int bits = 0; bits < 16; ++bits) {
      qkv::TokenizerOptions options;
      options.lower_case = bits & 1;
      options.strip_accents = bits & 2;
      options.tokenize_chinese_chars = bits & 4;
      options.clean_text = bits & 8;
      absl::StatusOr<qkv::Tokenizer> tokenizer = qkv::Tokenizer::FromVocabFile(vocab, options);
      if (!tokenizer.ok()) {
        std::fprintf(stderr, "%s\n", tokenizer.status().ToString().c_str());
        std::abort();
      }
      all->push_back(std::make_unique<qkv::Tokenizer>(*std::move(tokenizer)));
    }
    return all;
  }();
  return *tokenizers;
}

}  // namespace

// Loads the fixtures before fuzzing starts, so that their cost is not charged to the first input's -timeout.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  Tokenizers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr int kMaxLengths[] = {0, 1, 2, 3, 5, 8, 16, 64};
  const qkv::Tokenizer& tokenizer = *Tokenizers()[data[0] & 15];
  const bool pair = data[0] & 16;
  const int max_length = kMaxLengths[data[0] >> 5];
  const std::vector<std::string> texts = qkv::fuzz::SplitParts(data + 1, size - 1, pair ? 2 : 1);
  const std::string& a = texts[0];
  const std::string b = pair ? texts[1] : "";

  absl::StatusOr<qkv::Encoding> encoding =
      pair ? tokenizer.EncodePair(a, b, max_length) : tokenizer.Encode(a, max_length);
  if (!encoding.ok()) {
    Check(encoding.status().code() == absl::StatusCode::kInvalidArgument, "errors are InvalidArgument");
    return 0;
  }
  qkv::fuzz::CheckEncoding(tokenizer, *encoding, a, b, pair, max_length);
  if (!pair && !encoding->truncated) {
    absl::StatusOr<std::vector<std::string>> pieces = tokenizer.WordPieces(a);
    Check(pieces.ok(), "WordPieces accepts what Encode accepts");
    Check(pieces->size() + 2 == encoding->tokens.size(), "WordPieces gives Encode's tokens without specials");
    for (size_t i = 0; i < pieces->size(); ++i) {
      Check((*pieces)[i] == encoding->tokens[i + 1], "WordPieces gives Encode's tokens without specials");
    }
  }
  return 0;
}
