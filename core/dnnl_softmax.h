// SoftmaxOp: in-place softmax over the last axis of a row-major [rows, cols] block, on oneDNN softmax_v2
// (softmax_accurate: subtracts the row max before exponentiating).
//
// Thread safety: Forward() may run from several threads, each with its own ExecContext; primitives are built
// once per (rows, cols) in an internally locked cache, so callers should keep the set of shapes small.
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

  // "softmax: <impl>" for every distinct implementation in use.
  std::vector<std::string> KernelInfo() const;

 private:
  PrimitiveCache<std::tuple<int64_t, int64_t, int>> cache_;  // keyed by (rows, cols, ThreadCount())
};

}  // namespace qkv

#endif  // QKV_CORE_DNNL_SOFTMAX_H_
