// Request checks against a model: the one place they are written. Encoder::Run checks each batch with
// ValidateInputs; the server validates a request with the same functions before any work, naming its own
// fields (e.g. "inputs[3].ids.ids[7]: id 40000 out of range [0, 30522)").
//
// Every check takes the field path its messages start with, so that each caller names the field as its user
// knows it: core names a batch position ("sequence 3: token_ids"), the server the request field. All errors
// are InvalidArgument.
//
// Thread safety: pure functions.
#ifndef QKV_CORE_INPUT_VALIDATION_H_
#define QKV_CORE_INPUT_VALIDATION_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/encoder.h"
#include "core/model_config.h"

namespace qkv {

// The field paths of one sequence's token ids and token type ids in error messages.
struct TokenIdFields {
  absl::string_view ids;
  absl::string_view type_ids;
};

// `ids` is not empty, each id is in [0, V), `type_ids` is empty or has one entry per id, each in
// [0, type_vocab_size) (only 0 for a family without token types). Messages: "<ids>: empty sequence",
// "<ids>[7]: id 40000 out of range [0, 30522)",
// "<type_ids>: 2 type ids for 3 ids", "<type_ids>[1]: type id 2 out of range [0, 2)".
absl::Status ValidateTokenIds(const ModelConfig& config, absl::Span<const int32_t> ids,
                              absl::Span<const int32_t> type_ids, const TokenIdFields& fields);

// `tokens` <= `limit`, else "<field>: 600 tokens > <limit_name> 512".
absl::Status ValidateLength(int64_t tokens, int64_t limit, absl::string_view field,
                            absl::string_view limit_name);

// Resolves `requested` indices into [0, count): with `allow_negative`, -count..-1 count from the end.
// Messages: "<field>[1]: <noun> 3 out of range [-3, 2]", and unless `allow_repeats`,
// "<field>[1]: <noun> 2 requested twice" (after resolving).
struct IndexRules {
  bool allow_negative = false;
  bool allow_repeats = false;
};
absl::StatusOr<std::vector<int>> ResolveIndices(absl::Span<const int32_t> requested, int count,
                                                IndexRules rules, absl::string_view field,
                                                absl::string_view noun);

// `pooling` can run on a model with (`has_pooler`) or without pooler weights, else
// "<field>: <value>, but model <model_name> has no pooler weights" ("the model" when `model_name` is empty).
absl::Status ValidatePooling(Pooling pooling, bool has_pooler, absl::string_view field,
                             absl::string_view value, absl::string_view model_name);

// OK when every sequence can run on a model with `config`: the checks above for each sequence (T at most
// ModelConfig::max_tokens(), layers already resolved), naming the first bad sequence's batch index
// ("sequence 1: token_ids[2]: id 60 out of range [0, 60)").
absl::Status ValidateInputs(const ModelConfig& config, bool has_pooler,
                            absl::Span<const SequenceInput> inputs);

}  // namespace qkv

#endif  // QKV_CORE_INPUT_VALIDATION_H_
