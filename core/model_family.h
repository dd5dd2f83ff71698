// ModelFamily: the encoder architectures qkv runs, and what differs between them, as data. Every other file
// asks this table instead of testing model_type: the config field names, the weight names, how position ids
// are made, whether there are token types and whether attention adds a relative position bias.
//
//   family        model_type     positions                   token types  relative bias  weight prefix
//   kBert         bert           0..T-1                      yes          no             bert.
//   kRoberta      roberta        padding_idx + 1 onwards     1 (id 0)     no             roberta.
//   kXlmRoberta   xlm-roberta    padding_idx + 1 onwards     1 (id 0)     no             roberta.
//   kDistilBert   distilbert     0..T-1                      none         no             distilbert.
//   kMpnet        mpnet          padding_idx + 1 onwards     none         bucketed       mpnet.
//
// All are post-LayerNorm encoders with the same layer: fused QKV, attention, output projection + residual +
// LayerNorm, GELU feed-forward + residual + LayerNorm. The weight prefix is the one task models
// (*ForMaskedLM, *ForSequenceClassification, ...) put before the encoder's tensors; base models have none.
//
// Thread safety: the tables are immutable.
#ifndef QKV_CORE_MODEL_FAMILY_H_
#define QKV_CORE_MODEL_FAMILY_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace qkv {

enum class ModelFamily { kBert, kRoberta, kXlmRoberta, kDistilBert, kMpnet };

// How a sequence's position ids are made.
enum class PositionIds {
  kAbsolute,     // 0, 1, ..., T-1 (BERT, DistilBERT)
  kFromPadding,  // fairseq's make_positions, as HF's create_position_ids_from_input_ids: with
                 // m[t] = (ids[t] != padding_idx), position[t] = cumsum(m)[t] * m[t] + padding_idx; a
                 // sequence without padding tokens gets padding_idx + 1 .. padding_idx + T.
};

// The config.json keys of the dimensions (DistilBERT names them differently).
struct ConfigFieldNames {
  const char* hidden_size;
  const char* num_hidden_layers;
  const char* num_attention_heads;
  const char* intermediate_size;
  const char* hidden_act;
};

// Hugging Face tensor names (without the task prefix and without ".weight" / ".bias"). An empty name means
// the family has no such tensor.
struct WeightNames {
  absl::string_view task_prefix;  // stripped from file names when present, e.g. "roberta."
  absl::string_view word_embeddings;
  absl::string_view position_embeddings;
  absl::string_view token_type_embeddings;
  absl::string_view embedding_norm;
  absl::string_view layer_prefix;  // followed by the layer number and '.'
  // Relative to "<layer_prefix><N>.":
  absl::string_view query;
  absl::string_view key;
  absl::string_view value;
  absl::string_view attention_output;
  absl::string_view attention_norm;
  absl::string_view intermediate;
  absl::string_view output;
  absl::string_view output_norm;
  absl::string_view pooler;                   // optional in every file
  absl::string_view relative_attention_bias;  // [num_buckets, H] embedding table
};

struct FamilyTraits {
  ModelFamily family;
  const char* model_type;  // config.json "model_type"
  ConfigFieldNames config_names;
  WeightNames weights;
  PositionIds positions;
  // A token type table exists (type_vocab_size rows). Without one, only type id 0 is accepted.
  bool token_type_embeddings;
  // The Hugging Face tokenizer of the family returns token_type_ids to the model (BERT only); for the others
  // a tokenized pair's segment ids are not model inputs and are sent as 0.
  bool tokenizer_type_ids;
  // The layer_norm_eps config key; null when the family hard-codes `default_layer_norm_eps` (DistilBERT).
  const char* layer_norm_eps_key;
  double default_layer_norm_eps;
  int64_t default_pad_token_id;
  // padding_idx of the position rule: the config's pad_token_id, or a constant (MPNet hard-codes 1).
  int64_t fixed_padding_idx;  // -1 = pad_token_id
  bool relative_attention_bias;
};

// The family of `model_type`, or null when qkv does not run it.
const FamilyTraits* FindFamily(absl::string_view model_type);
const FamilyTraits& Traits(ModelFamily family);
// "bert, roberta, xlm-roberta, distilbert, mpnet": for error messages.
absl::string_view SupportedModelTypes();

// MPNet's relative position bias (HF MPNetEncoder.relative_position_bucket with num_buckets 32 and
// max_distance 128, bidirectional): the bucket of key position `key` seen from query position `query`.
// Half the buckets are for keys after the query; within a half, distances below 8 are exact and the rest
// share log-spaced buckets up to distance 128 (beyond it, the last bucket).
inline constexpr int64_t kRelativeAttentionBuckets = 32;
inline constexpr int64_t kRelativeAttentionMaxDistance = 128;
int64_t RelativePositionBucket(int64_t query, int64_t key);

}  // namespace qkv

#endif  // QKV_CORE_MODEL_FAMILY_H_
