// SelfAttention: multi-head scaled dot-product self-attention over a ragged batch, reading Q, K and V as
// strided views of the fused QKV projection (no split-heads copies).
//
// For each sequence (T rows of the packed batch) and head h (columns h*Dh .. h*Dh+Dh-1 of Q, K and V):
//   P = softmax(Q_h K_h^T / sqrt(Dh))     // [T, T], rows sum to 1
//   context_h = P V_h                     // written into columns h*Dh.. of context rows [T, D]
// Each sequence attends only to itself, over its own length: no padding, no mask. Runs of consecutive
// sequences with the same length are batched into one oneDNN call (groups of 1, 2, 4, ... sequences), which
// does not change any sequence's result.
//
// Thread safety: immutable after Create() (primitive caches are internally locked); Forward() may run from
// several threads, each with its own ExecContext and scores buffer.
#ifndef QKV_CORE_ATTENTION_H_
#define QKV_CORE_ATTENTION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/dnnl_context.h"
#include "core/dnnl_softmax.h"
#include "core/primitive_cache.h"

namespace qkv {

class SelfAttention {
 public:
  static absl::StatusOr<std::unique_ptr<SelfAttention>> Create(int64_t num_heads, int64_t head_size);

  // qkv:      [sum(lengths), 3D]  per row Q | K | V, D = H * Dh
  // context:  [sum(lengths), D]   output
  // probs_out: empty, or one entry per sequence: null, or room for [H, T_i, T_i] attention probabilities
  //            (head, query, key) that are copied out after the softmax.
  // scores:   scratch; grown as needed. Throws dnnl::error.
  void Forward(const float* qkv, absl::Span<const int64_t> lengths, absl::Span<float* const> probs_out,
               float* context, AlignedBuffer* scores, ExecContext* ctx) const;

  int64_t num_heads() const { return heads_; }
  int64_t head_size() const { return head_size_; }
  // "matmul attention_scores: <impl>", "matmul attention_context: <impl>", "softmax: <impl>".
  std::vector<std::string> KernelInfo() const;

 private:
  using Key = std::tuple<int64_t, int64_t, int>;  // (sequences in the group, T, ThreadCount())

  SelfAttention(int64_t heads, int64_t head_size) : heads_(heads), head_size_(head_size) {}
  // Runs one group of `count` sequences of length t starting at packed row `row`.
  void ForwardGroup(const float* qkv, int64_t row, int64_t count, int64_t t, float* context, float* scores,
                    ExecContext* ctx) const;

  const int64_t heads_;
  const int64_t head_size_;
  PrimitiveCache<Key> scores_cache_;   // Q K^T * scale  -> [count, H, T, T]
  PrimitiveCache<Key> context_cache_;  // P V            -> context rows
  SoftmaxOp softmax_;
};

}  // namespace qkv

#endif  // QKV_CORE_ATTENTION_H_
