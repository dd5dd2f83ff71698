// ModelConfig: the architecture of a BERT-family encoder (model_family.h: BERT, RoBERTa, XLM-RoBERTa,
// DistilBERT, MPNet), read from a Hugging Face config.json.
#ifndef QKV_CORE_MODEL_CONFIG_H_
#define QKV_CORE_MODEL_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/model_family.h"

namespace qkv {

// Attention keeps H * T * T float scores per sequence (T <= P), so a config with H * P^2 above this is
// refused at load, naming max_position_embeddings: 2^32 scores (16 GiB) admits every BERT-family model
// (e.g. 64 heads at 8192 positions; BERT-base is 12 * 512^2 = 2^21.6).
inline constexpr int64_t kMaxAttentionScores = int64_t{1} << 32;
// The most elements of one weight matrix the config may imply (V * D, P * D, D * 3D, D * F), 2^32; bounds
// what the encoder allocates per token and per layer from config fields.
inline constexpr int64_t kMaxWeightElements = int64_t{1} << 32;

// Dimension names used across core: V vocab, D hidden, H heads, Dh = D / H head size, F intermediate (FFN),
// P max positions, L layers, T sequence length, B sequences in a batch.
// Fields keep Hugging Face BertConfig's names whatever the family calls them in config.json (DistilBERT's
// dim, n_layers, n_heads, hidden_dim and activation are read into hidden_size, ... and hidden_act).
struct ModelConfig {
  std::string model_type = "bert";      // selects the family (model_family.h)
  int64_t vocab_size = 0;               // V
  int64_t hidden_size = 0;              // D
  int64_t num_hidden_layers = 0;        // L
  int64_t num_attention_heads = 0;      // H; D % H == 0
  int64_t intermediate_size = 0;        // F
  int64_t max_position_embeddings = 0;  // P (rows of the position table; see max_tokens())
  // Rows of the token type table; 1 for families without one (then only type id 0 is accepted).
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  std::string hidden_act = "gelu";  // only exact erf "gelu" is supported
  int64_t pad_token_id = 0;
  std::string position_embedding_type = "absolute";  // only "absolute" is supported
  // MPNet: rows of the relative attention bias table; HF buckets with 32 whatever this says, so only 32 runs.
  int64_t relative_attention_num_buckets = kRelativeAttentionBuckets;
  // sentence-transformers' max_seq_length (sentence_bert_config.json, set by LoadModel): the model's token
  // limit when below position_limit(), as sentence-transformers and TEI truncate; 0 = no such cap.
  int64_t max_seq_length = 0;
  // The file max_seq_length came from, without its directory (sentence_bert_config.json or a legacy
  // sentence_<family>_config.json), for messages; empty when max_seq_length is 0.
  std::string max_seq_length_file;

  int64_t head_size() const { return hidden_size / num_attention_heads; }

  // The family's traits; REQUIRES ValidateSupport() to be OK (else the BERT row).
  const FamilyTraits& traits() const;
  // padding_idx of the position rule (PositionIds::kFromPadding): pad_token_id, or MPNet's constant 1.
  int64_t padding_idx() const;
  // The first position id a sequence uses: 0, or padding_idx + 1 for kFromPadding families.
  int64_t position_offset() const;
  // The longest sequence the position table holds: max_position_embeddings - position_offset() (RoBERTa's
  // 514 rows hold 512 tokens).
  int64_t position_limit() const { return max_position_embeddings - position_offset(); }
  // True when max_seq_length is what limits the tokens (a positive cap below position_limit()).
  bool capped_by_max_seq_length() const { return max_seq_length > 0 && max_seq_length < position_limit(); }
  // The longest sequence the model takes: position_limit(), or max_seq_length when that is lower.
  int64_t max_tokens() const { return capped_by_max_seq_length() ? max_seq_length : position_limit(); }

  // ValidateSupport() and ValidateDimensions(); the error names the field. ParseModelConfig runs both parts,
  // Encoder::Create this.
  absl::Status Validate() const;
  // The one check of what qkv runs, else Unimplemented naming the field: model_type one of the families of
  // model_family.h, hidden_act "gelu" (exact erf), position_embedding_type "absolute", and for MPNet
  // relative_attention_num_buckets 32.
  absl::Status ValidateSupport() const;
  // Every dimension is positive, at most 2^20 (layers: 1000) and consistent (D % H == 0, pad id < V, weight
  // matrices of at most kMaxWeightElements, H * P^2 <= kMaxAttentionScores, position_limit() >= 1,
  // max_seq_length >= 0, ...).
  absl::Status ValidateDimensions() const;
};

// Parses config.json text with the family's key names. `file_name` only labels error messages. What
// ValidateSupport refuses is found before the dimensions are read, and named. Missing optional keys take
// the family's defaults (pad_token_id 0 for BERT and DistilBERT, 1 for the others; layer_norm_eps 1e-12;
// DistilBERT always uses 1e-12, as HF does). type_vocab_size is 1 for families without token types.
absl::StatusOr<ModelConfig> ParseModelConfig(absl::string_view json_text, absl::string_view file_name);

// Reads and parses `path` (a config.json).
absl::StatusOr<ModelConfig> ReadModelConfig(const std::string& path);

}  // namespace qkv

#endif  // QKV_CORE_MODEL_CONFIG_H_
