// Encoder: the forward pass of BERT-family encoders (BERT, RoBERTa, XLM-RoBERTa, DistilBERT, MPNet; see
// model_family.h) on oneDNN, over ragged batches.
//
//   QKV_ASSIGN_OR_RETURN(LoadedModel model, LoadModel("models/bert-tiny-random"));
//   QKV_ASSIGN_OR_RETURN(std::unique_ptr<Encoder> encoder,
//                        Encoder::Create(model.config, std::move(model.weights)));
//   std::unique_ptr<Workspace> ws = encoder->NewWorkspace();
//   std::vector<SequenceOutput> out;
//   QKV_RETURN_IF_ERROR(encoder->Run({SequenceInput{ids, {}, spec}}, ws.get(), &out));
//
// Sequences of different lengths run in one call without padding FLOPs: projections and feed-forward
// work on the packed rows [sum(T_i), D]; attention runs per sequence. A sequence's outputs do not depend on
// what else is in its batch.
//
// Thread safety: an Encoder is immutable after Create(); Run() is const and may be called from several
// threads at once, as long as each thread passes its own Workspace. A Workspace is not thread-safe.
#ifndef QKV_CORE_ENCODER_H_
#define QKV_CORE_ENCODER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/bert_weights.h"
#include "core/model_config.h"
#include "core/precision.h"
#include "core/quantize.h"

namespace qkv {

enum class Pooling {
  kNone,    // no pooled vector
  kCls,     // last_hidden[0]
  kMean,    // mean of last_hidden over the sequence's tokens
  kPooler,  // tanh(last_hidden[0] · W_pool + b_pool); REQUIRES the model to have a pooler
};

// What to compute for one sequence. Layer numbers are already resolved (non-negative).
struct OutputSpec {
  bool token_vectors = true;  // fill SequenceOutput::last_hidden
  Pooling pooling = Pooling::kCls;
  bool normalize = false;  // L2-normalize the pooled vector
  // Hidden states to return: 0 = embeddings output, l in 1..L = output of layer l (HF hidden_states order).
  std::vector<int> hidden_state_layers;
  // Attention probabilities to return: l in 0..L-1 (the l-th layer). Copied only when asked.
  std::vector<int> attention_layers;
};

struct SequenceInput {
  absl::Span<const int32_t> token_ids;       // [T], 1 <= T <= config.max_tokens(), 0 <= id < V
  absl::Span<const int32_t> token_type_ids;  // [T] or empty (all 0); only 0s without token types
  OutputSpec spec;
};

struct LayerTensor {
  int layer = 0;
  std::vector<float> data;
};

struct SequenceOutput {
  int64_t num_tokens = 0;                  // T
  std::vector<float> last_hidden;          // [T, D] when spec.token_vectors, else empty
  std::vector<float> pooled;               // [D] unless pooling == kNone
  std::vector<LayerTensor> hidden_states;  // each [T, D], in spec.hidden_state_layers order
  std::vector<LayerTensor> attentions;  // each [H, T, T] (head, query, key), in spec.attention_layers order
};

struct EncoderOptions {
  // Largest sum(T_i) one Run() may take; Run() splits bigger batches internally. Bounds workspace memory.
  int64_t max_batch_tokens = 16384;
  // Number format of the projection and feed-forward matmuls (precision.h). fp32 is exact.
  Precision precision = Precision::kFp32;
  // Create() refuses bf16 on a CPU without native bf16 (FailedPrecondition: oneDNN would emulate it, slower
  // than fp32) unless this is set.
  bool allow_emulated_bf16 = false;
  // int8 only: how activations are scaled (per token is the default; per tensor is kept for comparison).
  ActivationScaling int8_activation_scaling = ActivationScaling::kPerToken;
};

// Per-thread scratch state: activations and oneDNN scratchpads. Create with Encoder::NewWorkspace().
class Workspace {
 public:
  virtual ~Workspace() = default;
};

class Encoder {
 public:
  // Builds every oneDNN primitive and pre-packs (for int8: quantizes) the weights. Consumes `weights`.
  // FailedPrecondition for bf16 on a CPU without native bf16 unless options.allow_emulated_bf16.
  static absl::StatusOr<std::unique_ptr<Encoder>> Create(const ModelConfig& config, BertWeights weights,
                                                         const EncoderOptions& options = {});
  virtual ~Encoder() = default;

  virtual std::unique_ptr<Workspace> NewWorkspace() const = 0;

  // Runs the batch; `outputs` is resized to inputs.size(). InvalidArgument (naming the sequence index and
  // field) for an empty sequence, an id out of range, a sequence longer than max positions, a layer out of
  // range or kPooler without a pooler. REQUIRES: `workspace` came from this encoder's NewWorkspace() and is
  // used by one thread at a time.
  virtual absl::Status Run(absl::Span<const SequenceInput> inputs, Workspace* workspace,
                           std::vector<SequenceOutput>* outputs) const = 0;

  virtual const ModelConfig& config() const = 0;
  virtual bool has_pooler() const = 0;
  virtual Precision precision() const = 0;
  // oneDNN implementation names of the primitives in use, e.g. "matmul qkv: brg:avx512_core" (for tests that
  // assert no reference kernel is used, and for the startup log).
  virtual std::vector<std::string> KernelInfo() const = 0;
};

}  // namespace qkv

#endif  // QKV_CORE_ENCODER_H_
