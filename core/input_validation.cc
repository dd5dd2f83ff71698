#include "core/input_validation.h"

#include <cstddef>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace qkv {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// Each value in [low, end), else "<field>[j]: <noun> v out of range [low, end)", or "[low, end - 1]" when
// `closed`; j counts from `first_index` (for a sub-span).
absl::Status ValidateRange(absl::Span<const int32_t> values, int64_t low, int64_t end,
                           absl::string_view field, absl::string_view noun, bool closed,
                           size_t first_index = 0) {
  for (size_t j = 0; j < values.size(); ++j) {
    if (values[j] < low || values[j] >= end) {
      return Invalid(absl::StrCat(field, "[", first_index + j, "]"),
                     closed ? absl::StrCat(noun, " ", values[j], " out of range [", low, ", ", end - 1, "]")
                            : absl::StrCat(noun, " ", values[j], " out of range [", low, ", ", end, ")"));
    }
  }
  return absl::OkStatus();
}

// The limit's name in "<n> tokens > <name> <limit>".
std::string MaxTokensName(const ModelConfig& config) {
  if (config.capped_by_max_seq_length()) return absl::StrCat("max_seq_length (", config.max_seq_length_file, ")");
  if (config.position_offset() == 0) return "max_position_embeddings";
  return absl::StrCat("the limit of max_position_embeddings ", config.max_position_embeddings,
                      " - padding_idx ", config.padding_idx(), " - 1 =");
}

// The checks of one sequence, naming its fields; the caller adds the batch position.
absl::Status ValidateSequence(const ModelConfig& config, bool has_pooler, const SequenceInput& input) {
  QKV_RETURN_IF_ERROR(
      ValidateTokenIds(config, input.token_ids, input.token_type_ids, {"token_ids", "token_type_ids"}));
  QKV_RETURN_IF_ERROR(ValidateLength(static_cast<int64_t>(input.token_ids.size()), config.max_tokens(),
                                     "token_ids", MaxTokensName(config)));
  const OutputSpec& spec = input.spec;  // layers are resolved: no negatives; repeats are allowed
  QKV_RETURN_IF_ERROR(ValidateRange(spec.hidden_state_layers, 0, config.num_hidden_layers + 1,
                                    "hidden_state_layers", "layer", /*closed=*/true));
  QKV_RETURN_IF_ERROR(ValidateRange(spec.attention_layers, 0, config.num_hidden_layers, "attention_layers",
                                    "layer", /*closed=*/true));
  return ValidatePooling(spec.pooling, has_pooler, "pooling", "kPooler", "");
}

}  // namespace

absl::Status ValidateTokenIds(const ModelConfig& config, absl::Span<const int32_t> ids,
                              absl::Span<const int32_t> type_ids, const TokenIdFields& fields) {
  if (ids.empty()) return Invalid(fields.ids, "empty sequence");
  if (!type_ids.empty() && type_ids.size() != ids.size()) {
    return Invalid(fields.type_ids, absl::StrCat(type_ids.size(), " type ids for ", ids.size(), " ids"));
  }
  QKV_RETURN_IF_ERROR(ValidateRange(ids, 0, config.vocab_size, fields.ids, "id", /*closed=*/false));
  if (!config.traits().token_type_embeddings) {
    for (size_t j = 0; j < type_ids.size(); ++j) {
      if (type_ids[j] != 0) {
        return Invalid(absl::StrCat(fields.type_ids, "[", j, "]"),
                       absl::StrCat("type id ", type_ids[j], ", but model_type ", config.model_type,
                                    " has no token types (send 0 or no type ids)"));
      }
    }
    return absl::OkStatus();
  }
  return ValidateRange(type_ids, 0, config.type_vocab_size, fields.type_ids, "type id", /*closed=*/false);
}

absl::Status ValidateLength(int64_t tokens, int64_t limit, absl::string_view field,
                            absl::string_view limit_name) {
  if (tokens <= limit) return absl::OkStatus();
  return Invalid(field, absl::StrCat(tokens, " tokens > ", limit_name, " ", limit));
}

absl::StatusOr<std::vector<int>> ResolveIndices(absl::Span<const int32_t> requested, int count,
                                                IndexRules rules, absl::string_view field,
                                                absl::string_view noun) {
  const int low = rules.allow_negative ? -count : 0;
  std::vector<int> resolved;
  absl::flat_hash_set<int> seen;
  for (size_t i = 0; i < requested.size(); ++i) {
    // One index at a time, range then repeat: a long list of repeats fails at its second entry, before
    // anything grows past count + 1 entries.
    QKV_RETURN_IF_ERROR(
        ValidateRange(requested.subspan(i, 1), low, count, field, noun, /*closed=*/true, /*first_index=*/i));
    const int r = requested[i] < 0 ? requested[i] + count : requested[i];
    if (!rules.allow_repeats && !seen.insert(r).second) {
      return Invalid(absl::StrCat(field, "[", i, "]"), absl::StrCat(noun, " ", r, " requested twice"));
    }
    resolved.push_back(r);
  }
  return resolved;
}

absl::Status ValidatePooling(Pooling pooling, bool has_pooler, absl::string_view field,
                             absl::string_view value, absl::string_view model_name) {
  if (pooling != Pooling::kPooler || has_pooler) return absl::OkStatus();
  return Invalid(field, absl::StrCat(value, ", but ",
                                     model_name.empty() ? "the model" : absl::StrCat("model ", model_name),
                                     " has no pooler weights"));
}

absl::Status ValidateInputs(const ModelConfig& config, bool has_pooler,
                            absl::Span<const SequenceInput> inputs) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const absl::Status status = ValidateSequence(config, has_pooler, inputs[i]);
    if (!status.ok())
      return absl::Status(status.code(), absl::StrCat("sequence ", i, ": ", status.message()));
  }
  return absl::OkStatus();
}

}  // namespace qkv
