// Tensor: an owned, row-major float32 array with a shape. The one container for weights in core.
#ifndef QKV_CORE_TENSOR_H_
#define QKV_CORE_TENSOR_H_

#include <cstdint>
#include <functional>
#include <numeric>
#include <vector>

namespace qkv {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;  // size == NumElements()

  int64_t NumElements() const {
    return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
  }
  bool empty() const { return data.empty(); }
};

}  // namespace qkv

#endif  // QKV_CORE_TENSOR_H_
