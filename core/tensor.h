// Tensor: an owned, row-major float32 array with a shape. The one container for weights in core.
#ifndef QKV_CORE_TENSOR_H_
#define QKV_CORE_TENSOR_H_

#include <cstdint>
#include <functional>
#include <numeric>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace qkv {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;  // size == NumElements()

  int64_t NumElements() const {
    return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
  }
  bool empty() const { return data.empty(); }
};

// The one weight shape check of core. OK when `tensor` has shape `expected` and as many values; otherwise
// InvalidArgument "tensor <name> has shape [a, b], expected [c, d]<layout>" (`layout` says how the tensor
// is stored when that matters, e.g. " ([out, in])"), or "tensor <name> has N values for shape [...]".
absl::Status CheckTensorShape(const Tensor& tensor, absl::string_view name,
                              absl::Span<const int64_t> expected, absl::string_view layout = "");

}  // namespace qkv

#endif  // QKV_CORE_TENSOR_H_
