// AssembleBertWeights: builds BertWeights from tensors looked up by their Hugging Face names in the
// config's family (BERT: "embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight",
// ...; DistilBERT: "transformer.layer.0.attention.q_lin.weight", ...; see model_family.h), checking each
// shape as it goes. Shared by the safetensors and ONNX loaders.
#ifndef QKV_CORE_BERT_WEIGHTS_ASSEMBLER_H_
#define QKV_CORE_BERT_WEIGHTS_ASSEMBLER_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/bert_weights.h"
#include "core/model_config.h"
#include "core/tensor.h"

namespace qkv {

// A tensor as a file stores it.
struct SourceTensor {
  Tensor tensor;
  // For Linear weights: true when stored [in, out] (ONNX MatMul operands), false when stored [out, in] as
  // PyTorch / Hugging Face do. Ignored for other tensors.
  bool in_out_layout = false;
};

// Returns the tensor called `name` (a canonical HF name, see CanonicalWeightName), std::nullopt when the
// file has none, or an error for a tensor that exists but cannot be read.
using TensorLookup = std::function<absl::StatusOr<std::optional<SourceTensor>>(const std::string& name)>;

// The base-model name of a tensor named `name` in a file: strips the family's task prefix ("bert.",
// "roberta.", "distilbert.", "mpnet.") that task models (*ForMaskedLM, *ForSequenceClassification, ...) put
// before the encoder's tensors. REQUIRES: config.ValidateSupport() is OK.
std::string CanonicalWeightName(const ModelConfig& config, absl::string_view name);

// Looks up every tensor `config` implies. `names` lists the canonical names of all tensors in the file; a
// name "<layer prefix>N...." (e.g. "encoder.layer.N.") with N >= num_hidden_layers is an error (the config
// does not match the file). Other unused tensors (cls.*, lm_head.*, embeddings.position_ids, ...) are
// ignored. The pooler is optional: absent when the file has neither pooler tensor (and never read for
// families without one). Errors name `file` and the tensor: NotFound for a missing
// tensor, InvalidArgument (with both shapes) for a wrong shape.
absl::StatusOr<BertWeights> AssembleBertWeights(const ModelConfig& config,
                                                const std::vector<std::string>& names,
                                                const TensorLookup& lookup, const std::string& file);

}  // namespace qkv

#endif  // QKV_CORE_BERT_WEIGHTS_ASSEMBLER_H_
