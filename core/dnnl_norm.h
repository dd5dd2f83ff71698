// LayerNormOp: in-place LayerNorm over the last axis of packed rows, on oneDNN layer_normalization
// (forward_inference, separate scale and shift): x = (x - mean) / sqrt(var + eps) * gamma + beta.
//
// One op serves every LayerNorm of its width and eps; each LayerNorm's gamma/beta live in a LayerNormParams.
//
// Primitives: one per row chunk (primitive_cache.h), built by Prebuild() at load; Seal() then makes the table
// read-only and lock-free.
//
// Thread safety: Create()/Prebuild()/Seal() from one thread before sharing; then Forward() and MakeParams()
// may run from several threads, each with its own ExecContext.
#ifndef QKV_CORE_DNNL_NORM_H_
#define QKV_CORE_DNNL_NORM_H_

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

struct LayerNormParams {
  dnnl::memory gamma;  // [D]
  dnnl::memory beta;   // [D]
};

class LayerNormOp {
 public:
  static absl::StatusOr<std::unique_ptr<LayerNormOp>> Create(int64_t width, double eps);

  // Copies gamma [D] and beta [D]. `name` labels shape errors.
  absl::StatusOr<LayerNormParams> MakeParams(const Tensor& gamma, const Tensor& beta,
                                             const std::string& name) const;

  // Normalizes rows [0, rows) of x [rows, D] in place.
  // REQUIRES: x holds PaddedRows(rows) rows (rows past `rows` are scratch). Throws dnnl::error.
  void Forward(float* x, int64_t rows, const LayerNormParams& params, ExecContext* ctx) const;

  // Builds the primitives for every row chunk of batches up to `max_rows` rows now. Throws dnnl::error.
  void Prebuild(int64_t max_rows) const;
  // Ends the build phase (see the file comment).
  void Seal() { table_.Seal(); }

  int64_t width() const { return width_; }
  // "layer_norm: <impl>" for every distinct implementation in use.
  std::vector<std::string> KernelInfo() const;

 private:
  LayerNormOp(int64_t width, float eps) : width_(width), eps_(eps) {}
  // Whether a chunk of `rows` rows runs on the calling thread alone (about ten FLOPs per element).
  bool SingleThreaded(int64_t rows) const {
    return 10.0 * static_cast<double>(rows * width_) < kParallelMinFlops;
  }
  // The primitive for `rows` rows and the current ThreadCount().
  const PrimitiveEntry& ForRows(int64_t rows) const;

  const int64_t width_;
  const float eps_;
  PrimitiveTable<std::pair<int64_t, int>> table_;  // keyed by (chunk rows, ThreadCount())
};

}  // namespace qkv

#endif  // QKV_CORE_DNNL_NORM_H_
