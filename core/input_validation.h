// ValidateInputs: the checks Encoder::Run performs on a batch before computing anything.
#ifndef QKV_CORE_INPUT_VALIDATION_H_
#define QKV_CORE_INPUT_VALIDATION_H_

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "core/encoder.h"
#include "core/model_config.h"

namespace qkv {

// OK when every sequence can run on a model with `config`. Otherwise InvalidArgument naming the first bad
// sequence's index and field: empty token_ids, an id outside [0, V), token_type_ids of the wrong size or
// with an id outside [0, type_vocab_size), T > max_position_embeddings, a hidden-state layer outside
// [0, L], an attention layer outside [0, L), or kPooler when `has_pooler` is false.
absl::Status ValidateInputs(const ModelConfig& config, bool has_pooler,
                            absl::Span<const SequenceInput> inputs);

}  // namespace qkv

#endif  // QKV_CORE_INPUT_VALIDATION_H_
