#include "core/tensor.h"

#include "absl/strings/str_cat.h"
#include "common/shape_string.h"

namespace qkv {

absl::Status CheckTensorShape(const Tensor& tensor, absl::string_view name,
                              absl::Span<const int64_t> expected, absl::string_view layout) {
  if (absl::Span<const int64_t>(tensor.shape) != expected) {
    return absl::InvalidArgumentError(absl::StrCat("tensor ", name, " has shape ", ShapeString(tensor.shape),
                                                   ", expected ", ShapeString(expected), layout));
  }
  // The shape equals `expected`, which the caller bounds, so the product cannot overflow.
  if (static_cast<int64_t>(tensor.data.size()) != tensor.NumElements()) {
    return absl::InvalidArgumentError(absl::StrCat("tensor ", name, " has ", tensor.data.size(),
                                                   " values for shape ", ShapeString(tensor.shape)));
  }
  return absl::OkStatus();
}

}  // namespace qkv
