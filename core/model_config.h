// ModelConfig: the architecture of a BERT-family encoder, read from a Hugging Face config.json.
#ifndef QKV_CORE_MODEL_CONFIG_H_
#define QKV_CORE_MODEL_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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
struct ModelConfig {
  std::string model_type = "bert";
  int64_t vocab_size = 0;               // V
  int64_t hidden_size = 0;              // D
  int64_t num_hidden_layers = 0;        // L
  int64_t num_attention_heads = 0;      // H; D % H == 0
  int64_t intermediate_size = 0;        // F
  int64_t max_position_embeddings = 0;  // P
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  std::string hidden_act = "gelu";  // only exact erf "gelu" is supported
  int64_t pad_token_id = 0;

  int64_t head_size() const { return hidden_size / num_attention_heads; }

  // ValidateSupport() and ValidateDimensions(); the error names the field. ParseModelConfig runs both parts,
  // Encoder::Create this.
  absl::Status Validate() const;
  // The one check of what qkv runs: model_type "bert" and hidden_act "gelu" (exact erf); else Unimplemented.
  absl::Status ValidateSupport() const;
  // Every dimension is positive, at most 2^20 (layers: 1000) and consistent (D % H == 0, pad id < V, weight
  // matrices of at most kMaxWeightElements, H * P^2 <= kMaxAttentionScores, ...).
  absl::Status ValidateDimensions() const;
};

// Parses config.json text. `file_name` only labels error messages. Unsupported model_type (anything but
// bert-family encoders using absolute positions) or hidden_act is an error that names the field.
absl::StatusOr<ModelConfig> ParseModelConfig(absl::string_view json_text, absl::string_view file_name);

// Reads and parses `path` (a config.json).
absl::StatusOr<ModelConfig> ReadModelConfig(const std::string& path);

}  // namespace qkv

#endif  // QKV_CORE_MODEL_CONFIG_H_
