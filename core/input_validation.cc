#include "core/input_validation.h"

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace qkv {
namespace {

absl::Status Invalid(size_t sequence, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("sequence ", sequence, ": ", what));
}

absl::Status ValidateOne(const ModelConfig& config, bool has_pooler, size_t index,
                         const SequenceInput& input) {
  const int64_t t = static_cast<int64_t>(input.token_ids.size());
  if (t == 0) return Invalid(index, "token_ids is empty");
  if (t > config.max_position_embeddings) {
    return Invalid(index, absl::StrCat("token_ids has ", t, " tokens, more than max_position_embeddings ",
                                       config.max_position_embeddings));
  }
  for (int64_t i = 0; i < t; ++i) {
    const int32_t id = input.token_ids[i];
    if (id < 0 || id >= config.vocab_size) {
      return Invalid(
          index, absl::StrCat("token_ids[", i, "] = ", id, " is out of range [0, ", config.vocab_size, ")"));
    }
  }
  if (!input.token_type_ids.empty()) {
    if (static_cast<int64_t>(input.token_type_ids.size()) != t) {
      return Invalid(index, absl::StrCat("token_type_ids has ", input.token_type_ids.size(),
                                         " entries, expected ", t, " (one per token) or none"));
    }
    for (int64_t i = 0; i < t; ++i) {
      const int32_t type = input.token_type_ids[i];
      if (type < 0 || type >= config.type_vocab_size) {
        return Invalid(index, absl::StrCat("token_type_ids[", i, "] = ", type, " is out of range [0, ",
                                           config.type_vocab_size, ")"));
      }
    }
  }
  const OutputSpec& spec = input.spec;
  for (size_t i = 0; i < spec.hidden_state_layers.size(); ++i) {
    const int layer = spec.hidden_state_layers[i];
    if (layer < 0 || layer > config.num_hidden_layers) {
      return Invalid(index, absl::StrCat("hidden_state_layers[", i, "] = ", layer, " is out of range [0, ",
                                         config.num_hidden_layers, "]"));
    }
  }
  for (size_t i = 0; i < spec.attention_layers.size(); ++i) {
    const int layer = spec.attention_layers[i];
    if (layer < 0 || layer >= config.num_hidden_layers) {
      return Invalid(index, absl::StrCat("attention_layers[", i, "] = ", layer, " is out of range [0, ",
                                         config.num_hidden_layers, ")"));
    }
  }
  if (spec.pooling == Pooling::kPooler && !has_pooler) {
    return Invalid(index, "pooling is kPooler but the model has no pooler weights");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateInputs(const ModelConfig& config, bool has_pooler,
                            absl::Span<const SequenceInput> inputs) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    absl::Status status = ValidateOne(config, has_pooler, i, inputs[i]);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace qkv
