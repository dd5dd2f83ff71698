// SoftmaxOp: in-place softmax over the last axis of a row-major [rows, cols] block, on oneDNN softmax_v2
// (softmax_accurate: subtracts the row max before exponentiating).
//
// Primitives are built per (rows, cols) shape: Prebuild() every shape the owner will run, then Seal(); after
// that Forward() reads the table without a lock (primitive_cache.h). A shape not prebuilt still works (built
// once, under a lock).
//
// Thread safety: Prebuild()/Seal() from one thread before sharing; then Forward() may run from several
// threads, each with its own ExecContext. An unsealed op is for one thread only.
#ifndef QKV_CORE_DNNL_SOFTMAX_H_
#define QKV_CORE_DNNL_SOFTMAX_H_

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "core/dnnl_context.h"
#include "core/primitive_cache.h"

namespace qkv {

class SoftmaxOp {
 public:
  SoftmaxOp() = default;

  // x[r, :] = softmax(x[r, :]) for r in [0, rows). Small blocks run on the calling thread alone
  // (dnnl_context.h). Throws dnnl::error.
  void Forward(float* x, int64_t rows, int64_t cols, ExecContext* ctx) const;

  // Builds the primitive Forward(_, rows, cols, _) will use with the calling thread's team size.
  void Prebuild(int64_t rows, int64_t cols) const;
  void Seal() { table_.Seal(); }

  // "softmax: <impl>" for every distinct implementation in use.
  std::vector<std::string> KernelInfo() const;

 private:
  bool SingleThreaded(int64_t rows, int64_t cols) const {
    return 10.0 * static_cast<double>(rows * cols) < kParallelMinFlops;
  }
  const PrimitiveEntry& ForShape(int64_t rows, int64_t cols) const;

  PrimitiveTable<std::tuple<int64_t, int64_t, int>> table_;  // keyed by (rows, cols, ThreadCount())
};

}  // namespace qkv

#endif  // QKV_CORE_DNNL_SOFTMAX_H_
