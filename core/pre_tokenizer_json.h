// Reads a tokenizer.json pre_tokenizer (Hugging Face tokenizers' serialization) into a PreTokenizer:
// ByteLevel, Metaspace, Sequence, WhitespaceSplit, Whitespace, BertPreTokenizer, Punctuation, Digits and
// Split. Any other type, or a setting qkv does not run (e.g. an unknown prepend_scheme, a Split regex that
// is not one of the accepted ones), is InvalidArgument naming the field.
#ifndef QKV_CORE_PRE_TOKENIZER_JSON_H_
#define QKV_CORE_PRE_TOKENIZER_JSON_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/tokenizer_components.h"
#include "nlohmann/json.hpp"

namespace qkv {

// `json` is the pre-tokenizer object; `field` names it in errors ("pre_tokenizer",
// "pre_tokenizer.pretokenizers[1]"); `depth` is its Sequence nesting (at most 4). InvalidArgument naming
// the innermost component for anything refused, a value of the wrong JSON type included.
absl::StatusOr<std::unique_ptr<PreTokenizer>> ReadPreTokenizer(const nlohmann::json& json,
                                                               const std::string& field, int depth);

}  // namespace qkv

#endif  // QKV_CORE_PRE_TOKENIZER_JSON_H_
