#include "core/bert_encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "core/input_validation.h"
#include "core/primitive_cache.h"

namespace qkv {
namespace {

// Pooler batches (one row per sequence) up to this size get their primitives at load.
constexpr int64_t kPrebuiltPoolerRows = 256;

// [D, 3D] = query | key | value, column blocks side by side.
LinearWeights FuseQkv(const EncoderLayerWeights& layer, int64_t d) {
  LinearWeights fused;
  fused.weight.shape = {d, 3 * d};
  fused.weight.data.resize(static_cast<size_t>(d * 3 * d));
  fused.bias.shape = {3 * d};
  fused.bias.data.resize(static_cast<size_t>(3 * d));
  const LinearWeights* parts[] = {&layer.query, &layer.key, &layer.value};
  for (int p = 0; p < 3; ++p) {
    for (int64_t k = 0; k < d; ++k) {
      std::copy_n(parts[p]->weight.data.data() + k * d, d, fused.weight.data.data() + k * 3 * d + p * d);
    }
    std::copy_n(parts[p]->bias.data.data(), d, fused.bias.data.data() + p * d);
  }
  return fused;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Encoder>> Encoder::Create(const ModelConfig& config, BertWeights weights,
                                                         const EncoderOptions& options) {
  QKV_ASSIGN_OR_RETURN(std::unique_ptr<BertEncoder> encoder,
                       BertEncoder::Build(config, std::move(weights), options));
  return std::unique_ptr<Encoder>(std::move(encoder));
}

BertEncoder::BertEncoder(const ModelConfig& config, const EncoderOptions& options)
    : config_(config),
      max_batch_tokens_(std::max(options.max_batch_tokens, config.max_position_embeddings)),
      precision_(options.precision) {}

absl::StatusOr<std::unique_ptr<BertEncoder>> BertEncoder::Build(const ModelConfig& config,
                                                                BertWeights weights,
                                                                const EncoderOptions& options) {
  QKV_RETURN_IF_ERROR(config.Validate());  // also the supported model_type and hidden_act
  if (options.max_batch_tokens <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("EncoderOptions.max_batch_tokens must be positive, got ", options.max_batch_tokens));
  }
  QKV_RETURN_IF_ERROR(weights.Validate(config));
  if (options.precision == Precision::kBf16 && !NativeBf16Supported() && !options.allow_emulated_bf16) {
    return absl::FailedPreconditionError(absl::StrCat(
        "precision bf16 needs a CPU with native bf16 (AVX512-BF16 or AMX); this one is ", EffectiveCpuIsaName(),
        ", where oneDNN emulates bf16 several times slower than fp32. Use fp32 or int8, or force bf16 with "
        "--allow_emulated_bf16"));
  }
  const MatMulOptions matmul_options{options.precision, options.int8_activation_scaling};

  const int64_t d = config.hidden_size;
  const int64_t f = config.intermediate_size;
  std::unique_ptr<BertEncoder> encoder(new BertEncoder(config, options));
  BertEncoder& e = *encoder;
  const FamilyTraits& family = config.traits();
  QKV_ASSIGN_OR_RETURN(
      e.embeddings_,
      Embeddings::Create(std::move(weights.word_embeddings), std::move(weights.position_embeddings),
                         std::move(weights.token_type_embeddings),
                         PositionRule{family.positions, config.padding_idx()}));
  QKV_ASSIGN_OR_RETURN(e.norm_, LayerNormOp::Create(d, config.layer_norm_eps));
  QKV_ASSIGN_OR_RETURN(e.qkv_op_, MatMulOp::Create(d, 3 * d, Epilogue::kBias, "qkv", matmul_options));
  QKV_ASSIGN_OR_RETURN(e.attention_output_op_, MatMulOp::Create(d, d, Epilogue::kBiasResidual,
                                                                "attention_output", matmul_options));
  QKV_ASSIGN_OR_RETURN(e.intermediate_op_,
                       MatMulOp::Create(d, f, Epilogue::kBiasGelu, "intermediate", matmul_options));
  QKV_ASSIGN_OR_RETURN(e.output_op_,
                       MatMulOp::Create(f, d, Epilogue::kBiasResidual, "output", matmul_options));
  std::unique_ptr<RelativePositionBias> bias;
  if (family.relative_attention_bias) {
    QKV_ASSIGN_OR_RETURN(bias, RelativePositionBias::Create(weights.relative_attention_bias,
                                                            config.num_attention_heads, config.max_tokens()));
  }
  QKV_ASSIGN_OR_RETURN(e.attention_, SelfAttention::Create(config.num_attention_heads, config.head_size(),
                                                           config.max_tokens(), std::move(bias)));
  QKV_ASSIGN_OR_RETURN(
      e.embedding_norm_,
      e.norm_->MakeParams(weights.embedding_norm.gamma, weights.embedding_norm.beta, "embeddings.LayerNorm"));

  e.layers_.reserve(weights.layers.size());
  for (size_t l = 0; l < weights.layers.size(); ++l) {
    EncoderLayerWeights& w = weights.layers[l];
    const std::string prefix = absl::StrCat("layer ", l, " ");
    Layer layer;
    const LinearWeights qkv = FuseQkv(w, d);
    QKV_ASSIGN_OR_RETURN(layer.qkv, e.qkv_op_->Pack(qkv.weight, qkv.bias));
    QKV_ASSIGN_OR_RETURN(layer.attention_output,
                         e.attention_output_op_->Pack(w.attention_output.weight, w.attention_output.bias));
    QKV_ASSIGN_OR_RETURN(layer.attention_norm,
                         e.norm_->MakeParams(w.attention_norm.gamma, w.attention_norm.beta,
                                             prefix + "attention.output.LayerNorm"));
    QKV_ASSIGN_OR_RETURN(layer.intermediate,
                         e.intermediate_op_->Pack(w.intermediate.weight, w.intermediate.bias));
    QKV_ASSIGN_OR_RETURN(layer.output, e.output_op_->Pack(w.output.weight, w.output.bias));
    QKV_ASSIGN_OR_RETURN(layer.output_norm, e.norm_->MakeParams(w.output_norm.gamma, w.output_norm.beta,
                                                                prefix + "output.LayerNorm"));
    e.layers_.push_back(std::move(layer));
    w = EncoderLayerWeights();  // release the unpacked copy early
  }
  if (weights.pooler.has_value()) {
    QKV_ASSIGN_OR_RETURN(e.pooler_op_, MatMulOp::Create(d, d, Epilogue::kBiasTanh, "pooler"));
    QKV_ASSIGN_OR_RETURN(e.pooler_, e.pooler_op_->Pack(weights.pooler->weight, weights.pooler->bias));
  }
  // Settle the row-chunk primitives of every batch size now, then make the tables lock-free.
  try {
    for (MatMulOp* op :
         {e.qkv_op_.get(), e.attention_output_op_.get(), e.intermediate_op_.get(), e.output_op_.get()}) {
      op->Prebuild(e.max_batch_tokens_);
      op->Seal();
    }
    e.norm_->Prebuild(e.max_batch_tokens_);
    e.norm_->Seal();
    if (e.pooler_op_ != nullptr) {
      e.pooler_op_->Prebuild(kPrebuiltPoolerRows);
      e.pooler_op_->Seal();
    }
  } catch (const dnnl::error& error) {
    return DnnlErrorToStatus(error, "building encoder primitives");
  }
  return encoder;
}

std::unique_ptr<Workspace> BertEncoder::NewWorkspace() const { return std::make_unique<BertWorkspace>(); }

std::vector<std::string> BertEncoder::KernelInfo() const {
  std::vector<std::string> lines;
  auto append = [&lines](std::vector<std::string> more) {
    for (std::string& line : more) lines.push_back(std::move(line));
  };
  append(qkv_op_->KernelInfo());
  append(attention_output_op_->KernelInfo());
  append(intermediate_op_->KernelInfo());
  append(output_op_->KernelInfo());
  if (pooler_op_ != nullptr) append(pooler_op_->KernelInfo());
  append(attention_->KernelInfo());
  append(norm_->KernelInfo());
  return lines;
}

absl::Status BertEncoder::Run(absl::Span<const SequenceInput> inputs, Workspace* workspace,
                              std::vector<SequenceOutput>* outputs) const {
  auto* ws = dynamic_cast<BertWorkspace*>(workspace);
  if (ws == nullptr || outputs == nullptr) {
    return absl::InvalidArgumentError("Run needs a workspace from this encoder's NewWorkspace() and outputs");
  }
  QKV_RETURN_IF_ERROR(ValidateInputs(config_, has_pooler(), inputs));
  outputs->clear();
  outputs->resize(inputs.size());
  try {
    // Cut the batch into runs of whole sequences of at most max_batch_tokens_ tokens.
    size_t begin = 0;
    while (begin < inputs.size()) {
      size_t end = begin;
      int64_t tokens = 0;
      while (end < inputs.size() &&
             (end == begin ||
              tokens + static_cast<int64_t>(inputs[end].token_ids.size()) <= max_batch_tokens_)) {
        tokens += static_cast<int64_t>(inputs[end].token_ids.size());
        ++end;
      }
      RunBatch(inputs.subspan(begin, end - begin), ws, outputs->data() + begin);
      begin = end;
    }
  } catch (const dnnl::error& e) {
    outputs->clear();
    return DnnlErrorToStatus(e, "encoder run");
  } catch (const std::bad_alloc&) {
    outputs->clear();
    return absl::ResourceExhaustedError("encoder run: out of memory for activations");
  }
  return absl::OkStatus();
}

void BertEncoder::RunBatch(absl::Span<const SequenceInput> inputs, BertWorkspace* ws,
                           SequenceOutput* outputs) const {
  const int64_t d = config_.hidden_size;
  const int64_t f = config_.intermediate_size;
  const int64_t h = config_.num_attention_heads;
  const size_t n = inputs.size();

  ws->lengths_.resize(n);
  int64_t rows = 0;
  for (size_t i = 0; i < n; ++i) {
    ws->lengths_[i] = static_cast<int64_t>(inputs[i].token_ids.size());
    rows += ws->lengths_[i];
  }
  const int64_t padded = PaddedRows(rows);
  ws->hidden_.Reserve(padded * d);
  ws->qkv_.Reserve(padded * 3 * d);
  ws->context_.Reserve(padded * d);
  ws->intermediate_.Reserve(padded * f);
  float* hidden = ws->hidden_.data();

  // Output slots, allocated once per call.
  for (size_t i = 0; i < n; ++i) {
    const int64_t t = ws->lengths_[i];
    SequenceOutput& out = outputs[i];
    out.num_tokens = t;
    for (int layer : inputs[i].spec.hidden_state_layers) {
      out.hidden_states.push_back(LayerTensor{layer, std::vector<float>(static_cast<size_t>(t * d))});
    }
    for (int layer : inputs[i].spec.attention_layers) {
      out.attentions.push_back(LayerTensor{layer, std::vector<float>(static_cast<size_t>(h * t * t))});
    }
  }

  int64_t row = 0;
  for (size_t i = 0; i < n; ++i) {
    embeddings_->Lookup(inputs[i].token_ids, inputs[i].token_type_ids, hidden + row * d);
    row += ws->lengths_[i];
  }
  norm_->Forward(hidden, rows, embedding_norm_, &ws->exec_);
  CollectHiddenStates(0, inputs, *ws, outputs);

  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    // Attention probabilities go straight into the first output slot that asked for layer l.
    bool want_probs = false;
    ws->probs_.assign(n, nullptr);
    for (size_t i = 0; i < n; ++i) {
      for (LayerTensor& slot : outputs[i].attentions) {
        if (slot.layer == static_cast<int>(l)) {
          ws->probs_[i] = slot.data.data();
          want_probs = true;
          break;
        }
      }
    }
    qkv_op_->Forward(hidden, rows, layer.qkv, ws->qkv_.data(), &ws->exec_);
    attention_->Forward(ws->qkv_.data(), ws->lengths_,
                        want_probs ? absl::Span<float* const>(ws->probs_) : absl::Span<float* const>(),
                        ws->context_.data(), &ws->scores_, &ws->exec_);
    attention_output_op_->Forward(ws->context_.data(), rows, layer.attention_output, hidden, &ws->exec_);
    norm_->Forward(hidden, rows, layer.attention_norm, &ws->exec_);
    intermediate_op_->Forward(hidden, rows, layer.intermediate, ws->intermediate_.data(), &ws->exec_);
    output_op_->Forward(ws->intermediate_.data(), rows, layer.output, hidden, &ws->exec_);
    norm_->Forward(hidden, rows, layer.output_norm, &ws->exec_);
    CollectHiddenStates(static_cast<int>(l) + 1, inputs, *ws, outputs);
  }

  // A layer asked for twice gets the probabilities copied into its later slots too.
  for (size_t i = 0; i < n; ++i) {
    std::vector<LayerTensor>& slots = outputs[i].attentions;
    for (size_t j = 0; j < slots.size(); ++j) {
      for (size_t k = 0; k < j; ++k) {
        if (slots[k].layer == slots[j].layer) {
          slots[j].data = slots[k].data;
          break;
        }
      }
    }
  }

  row = 0;
  for (size_t i = 0; i < n; ++i) {
    if (inputs[i].spec.token_vectors) {
      const float* first = hidden + row * d;
      outputs[i].last_hidden.assign(first, first + ws->lengths_[i] * d);
    }
    row += ws->lengths_[i];
  }
  Pool(inputs, ws, outputs);
}

void BertEncoder::CollectHiddenStates(int layer, absl::Span<const SequenceInput> inputs,
                                      const BertWorkspace& ws, SequenceOutput* outputs) const {
  const int64_t d = config_.hidden_size;
  int64_t row = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    for (LayerTensor& slot : outputs[i].hidden_states) {
      if (slot.layer == layer) {
        std::memcpy(slot.data.data(), ws.hidden_.data() + row * d, sizeof(float) * slot.data.size());
      }
    }
    row += ws.lengths_[i];
  }
}

void BertEncoder::Pool(absl::Span<const SequenceInput> inputs, BertWorkspace* ws,
                       SequenceOutput* outputs) const {
  const int64_t d = config_.hidden_size;
  const float* hidden = ws->hidden_.data();

  // The pooler runs once over the first rows of every sequence that wants it.
  int64_t pooled_rows = 0;
  for (const SequenceInput& input : inputs) pooled_rows += input.spec.pooling == Pooling::kPooler;
  if (pooled_rows > 0) {
    const int64_t padded = PaddedRows(pooled_rows);
    ws->pool_in_.Reserve(padded * d);
    ws->pool_out_.Reserve(padded * d);
    int64_t row = 0, p = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].spec.pooling == Pooling::kPooler) {
        std::memcpy(ws->pool_in_.data() + p++ * d, hidden + row * d, sizeof(float) * d);
      }
      row += ws->lengths_[i];
    }
    pooler_op_->Forward(ws->pool_in_.data(), pooled_rows, *pooler_, ws->pool_out_.data(), &ws->exec_);
  }

  int64_t row = 0, p = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const OutputSpec& spec = inputs[i].spec;
    const int64_t t = ws->lengths_[i];
    const float* first = hidden + row * d;
    std::vector<float>& pooled = outputs[i].pooled;
    switch (spec.pooling) {
      case Pooling::kNone:
        break;
      case Pooling::kCls:
        pooled.assign(first, first + d);
        break;
      case Pooling::kMean: {
        pooled.resize(static_cast<size_t>(d));
        for (int64_t j = 0; j < d; ++j) {
          double sum = 0;
          for (int64_t r = 0; r < t; ++r) sum += first[r * d + j];
          pooled[j] = static_cast<float>(sum / static_cast<double>(t));
        }
        break;
      }
      case Pooling::kPooler: {
        const float* out = ws->pool_out_.data() + p++ * d;
        pooled.assign(out, out + d);
        break;
      }
    }
    if (spec.normalize && !pooled.empty()) {
      double norm2 = 0;
      for (float v : pooled) norm2 += static_cast<double>(v) * v;
      if (norm2 > 0) {
        const double inv = 1.0 / std::sqrt(norm2);
        for (float& v : pooled) v = static_cast<float>(v * inv);
      }
    }
    row += t;
  }
}

}  // namespace qkv
