// BertWeights: every tensor a BERT-family encoder (model_family.h) uses, in one canonical layout, whatever
// family and file it came from. Loaders (safetensors_model.h, onnx_model.h) fill it; Encoder::Create
// consumes it.
#ifndef QKV_CORE_BERT_WEIGHTS_H_
#define QKV_CORE_BERT_WEIGHTS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/model_config.h"
#include "core/tensor.h"

namespace qkv {

// y = x · weight + bias.
struct LinearWeights {
  Tensor weight;  // [in, out]  (note: Hugging Face / PyTorch store [out, in]; loaders transpose)
  Tensor bias;    // [out]
};

struct LayerNormWeights {
  Tensor gamma;  // [D]  (HF "weight")
  Tensor beta;   // [D]  (HF "bias")
};

struct EncoderLayerWeights {
  LinearWeights query;             // [D, D]
  LinearWeights key;               // [D, D]
  LinearWeights value;             // [D, D]
  LinearWeights attention_output;  // [D, D]
  LayerNormWeights attention_norm;
  LinearWeights intermediate;  // [D, F]
  LinearWeights output;        // [F, D]
  LayerNormWeights output_norm;
};

struct BertWeights {
  Tensor word_embeddings;        // [V, D]
  Tensor position_embeddings;    // [P, D]
  Tensor token_type_embeddings;  // [type_vocab_size, D]; empty for families without token types
  LayerNormWeights embedding_norm;
  std::vector<EncoderLayerWeights> layers;  // L entries
  std::optional<LinearWeights> pooler;      // [D, D]; absent in models saved without a pooler
  // [kRelativeAttentionBuckets, H] (HF nn.Embedding layout: row = bucket); families with a relative
  // attention bias only (MPNet), else empty.
  Tensor relative_attention_bias;

  // OK when `config` is valid, there are L layers and every tensor has the shape `config` implies (see
  // ListWeights). The message names the tensor, its shape and the expected shape.
  absl::Status Validate(const ModelConfig& config) const;
};

// One tensor of BertWeights: its Hugging Face name in the config's family (without the task prefix), the
// shape `config` implies in BertWeights' layout, and where it lives. `T` is Tensor or const Tensor.
template <typename T>
struct WeightRef {
  std::string name;            // e.g. "encoder.layer.0.attention.self.query.weight" (BERT)
  std::vector<int64_t> shape;  // [in, out] for a Linear weight
  bool linear_weight = false;  // a Linear weight: Hugging Face files store it [out, in]
  T* tensor = nullptr;
};

// Every tensor of `weights` with the shape `config` implies: the one list of weight names and shapes, named
// by the family's table (model_family.h), walked by the file assembler (bert_weights_assembler.h) and by
// Validate(). Lists weights.layers as they are (the caller checks there are L), the token type table and
// the relative attention bias only for families that have them, and the pooler only when it is present.
// REQUIRES: config.ValidateSupport() is OK. The pointers live as long as `weights`
// and its layers vector is not resized.
std::vector<WeightRef<Tensor>> ListWeights(const ModelConfig& config, BertWeights* weights);
std::vector<WeightRef<const Tensor>> ListWeights(const ModelConfig& config, const BertWeights& weights);

}  // namespace qkv

#endif  // QKV_CORE_BERT_WEIGHTS_H_
