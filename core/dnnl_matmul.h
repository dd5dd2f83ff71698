// MatMulOp: y = epilogue(x · W + b) on oneDNN matmul with the epilogue fused as post-ops, over packed rows,
// in one of three precisions (precision.h).
//
//   QKV_ASSIGN_OR_RETURN(std::unique_ptr<MatMulOp> op,
//                        MatMulOp::Create(D, F, Epilogue::kBiasGelu, "intermediate", Precision::kInt8));
//   QKV_ASSIGN_OR_RETURN(PackedLinear w, op->Pack(weight, bias));   // once, at load
//   op->Prebuild(max_rows); op->Seal();                              // once, at load
//   op->Forward(x, rows, w, y, &exec_context);                       // per call: converts x, executes
//
// Inputs and outputs are always fp32 rows. Per precision:
//   fp32: W is f32. x is used as is.
//   bf16: W is bf16. x is rounded to bf16 into the ExecContext per call; accumulation and y are f32.
//   int8: W is s8 with one symmetric scale per output column (max |W[:, n]| / 127), quantized at Pack().
//         x is quantized per call to s8 with one scale per row (or one per call, ActivationScaling), and
//         y = s_x[r] * s_w[n] * (q_x · q_W)[r, n] + b[n] then the epilogue, all fused into the s8 x s8 -> f32
//         kernel as post-ops (the matmul runs as a [1, rows, K] x [1, K, N] batch so that the per-row scale
//         is a broadcast oneDNN 2.6's brgemm kernel accepts; a 2-D [rows, 1] operand sends it to ref_int8).
//
// One op serves every weight of its shape (e.g. all layers' FFN inputs). Weights are reordered once into the
// layout the brgemm kernel wants (format_tag::any); primitives are built per row chunk (primitive_cache.h),
// so a fixed M always gets the fast kernel.
//
// Thread safety: Create()/Pack()/Prebuild()/Seal() from one thread before sharing; afterwards the op and its
// PackedLinears are immutable and Forward() may run from several threads, each with its own ExecContext.
#ifndef QKV_CORE_DNNL_MATMUL_H_
#define QKV_CORE_DNNL_MATMUL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/dnnl_context.h"
#include "core/precision.h"
#include "core/primitive_cache.h"
#include "core/quantize.h"
#include "core/tensor.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace qkv {

enum class Epilogue {
  kBias,          // y = x·W + b
  kBiasGelu,      // y = gelu_erf(x·W + b)   (exact erf GELU)
  kBiasTanh,      // y = tanh(x·W + b)
  kBiasResidual,  // y = x·W + b + y         (y holds the residual on entry)
};

// A weight matrix in the kernel's layout plus its bias. Immutable; share freely.
struct PackedLinear {
  dnnl::memory weight;  // [K, N] ([1, K, N] for int8), blocked, in the op's precision
  dnnl::memory bias;    // [1, N] f32 ([1, 1, N] for int8)
  dnnl::memory scales;  // int8 only: [1, 1, N] f32 per-column weight scales
};

struct MatMulOptions {
  Precision precision = Precision::kFp32;
  ActivationScaling activation_scaling = ActivationScaling::kPerToken;  // int8 only
};

class MatMulOp {
 public:
  // `name` labels KernelInfo() lines and errors. Builds one primitive to settle the weight layout.
  static absl::StatusOr<std::unique_ptr<MatMulOp>> Create(int64_t in_features, int64_t out_features,
                                                          Epilogue epilogue, std::string name,
                                                          const MatMulOptions& options = {});

  // Converts `weight` [K, N] (row-major) to the op's precision and layout and copies `bias` [N]. Errors name
  // the tensor shapes.
  absl::StatusOr<PackedLinear> Pack(const Tensor& weight, const Tensor& bias) const;

  // dst[rows, N] = epilogue(src[rows, K] · W + b). Rows are contiguous (strides K and N).
  // REQUIRES: src and dst hold PaddedRows(rows) rows (rows past `rows` are scratch: read and overwritten);
  // src is finite. Throws dnnl::error (only if oneDNN fails to build a primitive for an unforeseen chunk).
  void Forward(const float* src, int64_t rows, const PackedLinear& weights, float* dst,
               ExecContext* ctx) const;

  // Builds the primitives for every row chunk of batches up to `max_rows` rows now, so that requests only
  // execute. Throws dnnl::error.
  void Prebuild(int64_t max_rows) const;
  // Ends the build phase: the primitive table becomes read-only and lock-free (primitive_cache.h).
  void Seal() { table_.Seal(); }

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  Precision precision() const { return options_.precision; }
  const std::string& name() const { return name_; }
  // "matmul <name>: <impl> (<precision>)" for every distinct implementation in use.
  std::vector<std::string> KernelInfo() const;

 private:
  MatMulOp(int64_t in, int64_t out, Epilogue epilogue, std::string name, const MatMulOptions& options);
  dnnl::matmul::primitive_desc MakeDesc(int64_t rows, const dnnl::memory::desc& weights) const;
  // Whether a chunk of `rows` rows runs on the calling thread alone (dnnl_context.h).
  bool SingleThreaded(int64_t rows) const {
    return 2.0 * static_cast<double>(rows * in_ * out_) < kParallelMinFlops;
  }
  // The primitive for `rows` rows and the current ThreadCount().
  const PrimitiveEntry& ForRows(int64_t rows) const;
  // Forward for fp32 and bf16: `src` is [rows, in] (padded to PaddedRows) in the weights' number format.
  template <typename Input>
  void ForwardPlain(const Input* src, int64_t rows, const PackedLinear& weights, float* dst,
                    ExecContext* ctx) const;
  absl::StatusOr<PackedLinear> PackInt8(const Tensor& weight, const Tensor& bias) const;

  const int64_t in_;
  const int64_t out_;
  const Epilogue epilogue_;
  const std::string name_;
  const MatMulOptions options_;
  dnnl::memory::desc weights_md_;                 // the packed layout; set by Create()
  PrimitiveTable<std::pair<int64_t, int>> table_;  // keyed by (chunk rows, ThreadCount())
};

}  // namespace qkv

#endif  // QKV_CORE_DNNL_MATMUL_H_
