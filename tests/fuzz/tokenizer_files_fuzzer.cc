// libFuzzer target: loading a tokenizer from a model directory: vocab.txt, tokenizer.json (its WordPiece
// vocabulary and BertNormalizer options, or a byte-level BPE pipeline) and tokenizer_config.json.
//
// Input: three parts split by kPartSeparator: vocab.txt, tokenizer.json, tokenizer_config.json; an empty
// part means the file is absent. Any bytes must give a Status; a tokenizer that loads must encode a few
// fixed texts correctly (CheckEncoding).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "core/tokenizer.h"
#include "tests/fuzz/encoding_checks.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts = qkv::fuzz::SplitParts(data, size, 3);
  static const char* const kNames[] = {"vocab.txt", "tokenizer.json", "tokenizer_config.json"};
  qkv::fuzz::ClearScratchDir();
  for (int i = 0; i < 3; ++i) {
    if (!parts[i].empty()) qkv::fuzz::WriteScratchFile(kNames[i], parts[i]);
  }
  absl::StatusOr<qkv::Tokenizer> tokenizer = qkv::Tokenizer::FromModelDirectory(qkv::fuzz::ScratchDir());
  if (!tokenizer.ok()) return 0;
  static const char* const kTexts[] = {"", "The quick brown foxes", "Ünïcödé 中文 [MASK]!"};
  for (const char* text : kTexts) {
    absl::StatusOr<qkv::Encoding> single = tokenizer->Encode(text);
    qkv::fuzz::Check(single.ok(), "a loaded tokenizer encodes valid UTF-8");
    qkv::fuzz::CheckEncoding(*tokenizer, *single, text, "", false, 0);
    int pair_limit = 4;
    absl::StatusOr<qkv::Encoding> pair = tokenizer->EncodePair(text, "fox", pair_limit);
    // A post-processor may place more than 4 special tokens around a pair: then max_length 4 is refused.
    if (!pair.ok() && pair.status().code() == absl::StatusCode::kInvalidArgument &&
        absl::StrContains(pair.status().message(), "cannot hold")) {
      pair_limit = 0;
      pair = tokenizer->EncodePair(text, "fox", pair_limit);
    }
    qkv::fuzz::Check(pair.ok(), "a loaded tokenizer encodes valid UTF-8 pairs");
    qkv::fuzz::CheckEncoding(*tokenizer, *pair, text, "fox", true, pair_limit);
  }
  return 0;
}
