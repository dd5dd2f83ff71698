// RelativePositionBias: MPNet's bucketed relative position bias, added to every layer's attention scores
// before the softmax (HF MPNetEncoder.compute_position_bias): for head h, query i and key j,
//   scores[h, i, j] += table[RelativePositionBucket(i, j), h]      (model_family.h)
// Positions are indices within the sequence (HF buckets arange(T), not the padding-based position ids), so
// the bias of a sequence does not depend on its batch.
//
// The bias depends on j - i only: Create() expands the table to one row per head over every offset
// -(max_length - 1) .. max_length - 1, so that a query row's bias is one contiguous span.
//
// Thread safety: immutable after Create(); AddTo() is const.
#ifndef QKV_CORE_RELATIVE_POSITION_BIAS_H_
#define QKV_CORE_RELATIVE_POSITION_BIAS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"

namespace qkv {

class RelativePositionBias {
 public:
  // `table` is [kRelativeAttentionBuckets, num_heads] (HF relative_attention_bias.weight); `max_length` the
  // longest sequence AddTo() will see.
  static absl::StatusOr<std::unique_ptr<RelativePositionBias>> Create(const Tensor& table, int64_t num_heads,
                                                                      int64_t max_length);

  // scores[i * stride + j] += bias(head, i, j) for i, j in [0, length): one head's score rows.
  // REQUIRES: 0 <= head < num_heads, 1 <= length <= max_length, stride >= length.
  void AddTo(int64_t head, int64_t length, int64_t stride, float* scores) const;

 private:
  RelativePositionBias(int64_t max_length, std::vector<float> by_offset)
      : max_length_(max_length), by_offset_(std::move(by_offset)) {}

  const int64_t max_length_;
  // [H, 2 * max_length - 1]: entry (h, j - i + max_length - 1) is the bias of query i, key j.
  const std::vector<float> by_offset_;
};

}  // namespace qkv

#endif  // QKV_CORE_RELATIVE_POSITION_BIAS_H_
