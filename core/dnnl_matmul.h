// MatMulOp: y = epilogue(x · W + b) on oneDNN matmul with the epilogue fused as post-ops, over packed rows.
//
//   QKV_ASSIGN_OR_RETURN(std::unique_ptr<MatMulOp> op,
//                        MatMulOp::Create(D, F, Epilogue::kBiasGelu, "intermediate"));
//   QKV_ASSIGN_OR_RETURN(PackedLinear w, op->Pack(weight, bias));   // once, at load
//   op->Forward(x, rows, w, y, &exec_context);                      // per call: only executes
//
// One op serves every weight of its shape (e.g. all layers' FFN inputs). Weights are reordered once into the
// layout the brgemm kernel wants (format_tag::any); primitives are built per row chunk (primitive_cache.h),
// so a fixed M always gets the fast kernel.
//
// Thread safety: a MatMulOp and its PackedLinears are immutable after Create()/Pack() (the primitive cache
// is internally locked); Forward() may run from several threads, each with its own ExecContext.
#ifndef QKV_CORE_DNNL_MATMUL_H_
#define QKV_CORE_DNNL_MATMUL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/dnnl_context.h"
#include "core/primitive_cache.h"
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
  dnnl::memory weight;  // [K, N], blocked
  dnnl::memory bias;    // [1, N]
};

class MatMulOp {
 public:
  // `name` labels KernelInfo() lines and errors. Builds one primitive to settle the weight layout.
  static absl::StatusOr<std::unique_ptr<MatMulOp>> Create(int64_t in_features, int64_t out_features,
                                                          Epilogue epilogue, std::string name);

  // Reorders `weight` [K, N] (row-major) and copies `bias` [N]. Errors name the tensor shapes.
  absl::StatusOr<PackedLinear> Pack(const Tensor& weight, const Tensor& bias) const;

  // dst[rows, N] = epilogue(src[rows, K] · W + b). Rows are contiguous (strides K and N).
  // REQUIRES: src and dst hold PaddedRows(rows) rows (rows past `rows` are scratch: read and overwritten).
  // Throws dnnl::error (only if oneDNN fails to build a primitive for a new row chunk).
  void Forward(const float* src, int64_t rows, const PackedLinear& weights, float* dst,
               ExecContext* ctx) const;

  // Builds the primitives for every row chunk of batches up to `max_rows` rows now, so that requests only
  // execute. Throws dnnl::error.
  void Prebuild(int64_t max_rows) const;

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  const std::string& name() const { return name_; }
  // "matmul <name>: <impl>" for every distinct implementation in use.
  std::vector<std::string> KernelInfo() const;

 private:
  MatMulOp(int64_t in, int64_t out, Epilogue epilogue, std::string name);
  dnnl::matmul::primitive_desc MakeDesc(int64_t rows, const dnnl::memory::desc& weights) const;
  // Whether a chunk of `rows` rows runs on the calling thread alone (dnnl_context.h).
  bool SingleThreaded(int64_t rows) const {
    return 2.0 * static_cast<double>(rows * in_ * out_) < kParallelMinFlops;
  }
  // The primitive for `rows` rows and the current ThreadCount().
  const PrimitiveEntry& ForRows(int64_t rows) const;

  const int64_t in_;
  const int64_t out_;
  const Epilogue epilogue_;
  const std::string name_;
  dnnl::memory::desc weights_md_;                  // the packed layout; set by Create()
  PrimitiveCache<std::pair<int64_t, int>> cache_;  // keyed by (chunk rows, ThreadCount())
};

}  // namespace qkv

#endif  // QKV_CORE_DNNL_MATMUL_H_
