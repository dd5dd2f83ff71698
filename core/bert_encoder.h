// BertEncoder: the Encoder implementation for post-LayerNorm BERT-family models (every family of
// model_family.h) on oneDNN, and its Workspace. The four projection/feed-forward matmuls of each layer run in
// EncoderOptions::precision; all else (embeddings, attention, softmax, LayerNorm, GELU, residuals, pooler)
// stays fp32. Encoder::Create (declared in encoder.h) builds one.
//
// Per layer, over the packed rows [M = sum(T_i), D] of a ragged batch:
//   qkv     = h · W_qkv + b_qkv                          // [M, 3D], one matmul, W_qkv = query | key | value
//   context = attention(qkv) per sequence                // [M, D]   (attention.h)
//   h       = LayerNorm(context · W_o + b_o + h)         // residual fused as a sum post-op
//   inter   = gelu_erf(h · W_1 + b_1)                    // [M, F]
//   h       = LayerNorm(inter · W_2 + b_2 + h)
// Embeddings: h = LayerNorm(word + position + token type), positions and token types as the family has them
// (embeddings.h); MPNet adds its relative position bias to the attention scores (relative_position_bias.h).
// Pooler: tanh(h[0] · W_p + b_p).
//
// Primitives: Create() builds the projection, FFN and LayerNorm primitives for every row chunk of a batch of
// up to max_batch_tokens, and the attention primitives for every length bucket up to
// ModelConfig::max_tokens() (primitive_cache.h, attention.h); requests then only look them up, without a
// lock.
//
// Thread safety: see encoder.h. The model is immutable after Create().
#ifndef QKV_CORE_BERT_ENCODER_H_
#define QKV_CORE_BERT_ENCODER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/attention.h"
#include "core/bert_weights.h"
#include "core/dnnl_context.h"
#include "core/dnnl_matmul.h"
#include "core/dnnl_norm.h"
#include "core/embeddings.h"
#include "core/encoder.h"
#include "core/model_config.h"

namespace qkv {

// Activations and oneDNN execution state for one thread. Buffers grow to the largest batch seen.
class BertWorkspace final : public Workspace {
 public:
  BertWorkspace() = default;

 private:
  friend class BertEncoder;

  ExecContext exec_;
  AlignedBuffer hidden_;        // [M, D]
  AlignedBuffer qkv_;           // [M, 3D]
  AlignedBuffer context_;       // [M, D]
  AlignedBuffer intermediate_;  // [M, F]
  AlignedBuffer scores_;        // attention scratch of one group of sequences (attention.h)
  AlignedBuffer pool_in_;       // [B, D] first rows of the sequences that use the pooler
  AlignedBuffer pool_out_;      // [B, D]
  std::vector<int64_t> lengths_;
  std::vector<float*> probs_;
};

class BertEncoder final : public Encoder {
 public:
  static absl::StatusOr<std::unique_ptr<BertEncoder>> Build(const ModelConfig& config, BertWeights weights,
                                                            const EncoderOptions& options);

  std::unique_ptr<Workspace> NewWorkspace() const override;
  absl::Status Run(absl::Span<const SequenceInput> inputs, Workspace* workspace,
                   std::vector<SequenceOutput>* outputs) const override;
  const ModelConfig& config() const override { return config_; }
  bool has_pooler() const override { return pooler_.has_value(); }
  Precision precision() const override { return precision_; }
  std::vector<std::string> KernelInfo() const override;

 private:
  struct Layer {
    PackedLinear qkv;               // [D, 3D]
    PackedLinear attention_output;  // [D, D]
    LayerNormParams attention_norm;
    PackedLinear intermediate;  // [D, F]
    PackedLinear output;        // [F, D]
    LayerNormParams output_norm;
  };

  BertEncoder(const ModelConfig& config, const EncoderOptions& options);
  // Runs sequences whose tokens fit one workspace batch; `outputs` points at their SequenceOutputs.
  void RunBatch(absl::Span<const SequenceInput> inputs, BertWorkspace* ws, SequenceOutput* outputs) const;
  // Copies hidden-state layer `layer` out of ws->hidden_ for every sequence that asked for it.
  void CollectHiddenStates(int layer, absl::Span<const SequenceInput> inputs, const BertWorkspace& ws,
                           SequenceOutput* outputs) const;
  // Fills SequenceOutput::pooled for every sequence from the final hidden states.
  void Pool(absl::Span<const SequenceInput> inputs, BertWorkspace* ws, SequenceOutput* outputs) const;

  const ModelConfig config_;
  const int64_t max_batch_tokens_;
  const Precision precision_;
  std::unique_ptr<Embeddings> embeddings_;
  std::unique_ptr<LayerNormOp> norm_;
  std::unique_ptr<MatMulOp> qkv_op_;
  std::unique_ptr<MatMulOp> attention_output_op_;
  std::unique_ptr<MatMulOp> intermediate_op_;
  std::unique_ptr<MatMulOp> output_op_;
  std::unique_ptr<MatMulOp> pooler_op_;  // null without a pooler
  std::unique_ptr<SelfAttention> attention_;
  LayerNormParams embedding_norm_;
  std::vector<Layer> layers_;
  std::optional<PackedLinear> pooler_;
};

}  // namespace qkv

#endif  // QKV_CORE_BERT_ENCODER_H_
