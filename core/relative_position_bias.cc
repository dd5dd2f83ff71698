#include "core/relative_position_bias.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "core/model_family.h"

namespace qkv {

absl::StatusOr<std::unique_ptr<RelativePositionBias>> RelativePositionBias::Create(const Tensor& table,
                                                                                   int64_t num_heads,
                                                                                   int64_t max_length) {
  if (num_heads <= 0 || max_length <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("relative position bias: bad heads ", num_heads, " or max length ", max_length));
  }
  QKV_RETURN_IF_ERROR(
      CheckTensorShape(table, "relative_attention_bias.weight", {kRelativeAttentionBuckets, num_heads}));
  const int64_t offsets = 2 * max_length - 1;
  std::vector<float> by_offset(static_cast<size_t>(num_heads * offsets));
  for (int64_t o = 0; o < offsets; ++o) {
    // Offset o is key j = o - (max_length - 1) seen from query 0.
    const int64_t bucket = RelativePositionBucket(0, o - (max_length - 1));
    for (int64_t h = 0; h < num_heads; ++h) {
      by_offset[h * offsets + o] = table.data[bucket * num_heads + h];
    }
  }
  return std::unique_ptr<RelativePositionBias>(new RelativePositionBias(max_length, std::move(by_offset)));
}

void RelativePositionBias::AddTo(int64_t head, int64_t length, int64_t stride, float* scores) const {
  const int64_t offsets = 2 * max_length_ - 1;
  const float* head_row = by_offset_.data() + head * offsets;
  for (int64_t i = 0; i < length; ++i) {
    const float* bias = head_row + (max_length_ - 1 - i);  // bias[j] is offset j - i
    float* row = scores + i * stride;
    for (int64_t j = 0; j < length; ++j) row[j] += bias[j];
  }
}

}  // namespace qkv
