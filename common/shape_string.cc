#include "common/shape_string.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace qkv {

std::string ShapeString(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace qkv
