// ShapeString: a tensor shape as error messages print it, "[2, 128, 768]" ("[]" for a scalar).
#ifndef QKV_COMMON_SHAPE_STRING_H_
#define QKV_COMMON_SHAPE_STRING_H_

#include <cstdint>
#include <string>

#include "absl/types/span.h"

namespace qkv {

std::string ShapeString(absl::Span<const int64_t> shape);

}  // namespace qkv

#endif  // QKV_COMMON_SHAPE_STRING_H_
