// BertWeights: every tensor a BERT encoder uses, in one canonical layout, whatever file it came from.
// Loaders (safetensors_model.h, onnx_model.h) fill it; Encoder::Create consumes it.
#ifndef QKV_CORE_BERT_WEIGHTS_H_
#define QKV_CORE_BERT_WEIGHTS_H_

#include <optional>
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
  Tensor token_type_embeddings;  // [type_vocab_size, D]
  LayerNormWeights embedding_norm;
  std::vector<EncoderLayerWeights> layers;  // L entries
  std::optional<LinearWeights> pooler;      // [D, D]; absent in models saved without a pooler

  // OK when every tensor has the shape `config` implies. The message names the tensor, its shape and the
  // expected shape.
  absl::Status Validate(const ModelConfig& config) const;
};

}  // namespace qkv

#endif  // QKV_CORE_BERT_WEIGHTS_H_
