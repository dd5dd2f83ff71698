// Bounded JSON for the files a model directory holds (config.json, tokenizer.json, tokenizer_config.json,
// safetensors headers, sentence-transformers configs), which qkv treats as untrusted input.
//
// nlohmann::json copies, compares, destroys (before 3.10) and dump()s values recursively, one stack frame
// per nesting level, so a file of 100k nested arrays could overflow the stack. ParseBoundedJson() refuses
// nesting deeper than kMaxJsonDepth before nlohmann builds anything, and JsonSummary() describes a value for
// an error message in bounded space and without recursion.
//
// Thread safety: pure functions.
#ifndef QKV_CORE_BOUNDED_JSON_H_
#define QKV_CORE_BOUNDED_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace qkv {

// Deepest array / object nesting accepted. Real model files nest fewer than 10 levels.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text`. InvalidArgument when it nests deeper than kMaxJsonDepth ("nested deeper than 64 levels at
// byte N") or is not JSON (nlohmann's message, cut to a few hundred bytes). The message does not name a
// file: callers prefix it.
absl::StatusOr<nlohmann::json> ParseBoundedJson(absl::string_view text);

// A short description of `value` for error messages: scalars as JSON (strings cut to 40 bytes), arrays of
// at most 8 scalars as JSON, e.g. "[3, 2]", larger arrays and objects by their size ("an array of 1000
// elements", "an object of 3 members").
std::string JsonSummary(const nlohmann::json& value);

}  // namespace qkv

#endif  // QKV_CORE_BOUNDED_JSON_H_
