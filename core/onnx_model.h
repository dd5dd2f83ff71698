// ReadOnnxBertWeights: loads the weights of an encoder of any family of model_family.h exported to ONNX
// (torch.onnx.export / optimum of a HF BertModel, RobertaModel, DistilBertModel, MPNetModel, ..., opset
// 11+) into BertWeights.
//
// Exporters keep the Hugging Face names for embeddings, LayerNorms, biases and Gemm weights, but constant
// folding turns each Linear weight that feeds a MatMul into an unnamed initializer ("onnx::MatMul_282",
// "182") holding W^T, i.e. [in, out]. Such a weight is named from the graph: the MatMul's output goes to an
// Add with a named bias initializer ("encoder.layer.0.attention.self.query.bias"), so the weight is
// "encoder.layer.0.attention.self.query.weight". Names follow the config's family and lose its task prefix. A
// Gemm weight is [out, in] when transB = 1, else [in, out].
#ifndef QKV_CORE_ONNX_MODEL_H_
#define QKV_CORE_ONNX_MODEL_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/bert_weights.h"
#include "core/model_config.h"

namespace qkv {

// Reads `path` (a .onnx file). FLOAT, FLOAT16, BFLOAT16 and DOUBLE initializers, stored as raw_data or in the
// typed fields, are converted to float32. Weights in external data files are Unimplemented. Errors name the
// file and the tensor.
absl::StatusOr<BertWeights> ReadOnnxBertWeights(const std::string& path, const ModelConfig& config);

}  // namespace qkv

#endif  // QKV_CORE_ONNX_MODEL_H_
