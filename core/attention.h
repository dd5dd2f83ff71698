// SelfAttention: multi-head scaled dot-product self-attention over a ragged batch, reading Q, K and V from
// the fused QKV projection (copied head-major, Q pre-scaled by 1/sqrt(Dh), so that oneDNN's brgemm kernel
// runs the batched matmuls).
//
// For each sequence (T rows of the packed batch) and head h (columns h*Dh .. h*Dh+Dh-1 of Q, K and V):
//   P = softmax(Q_h K_h^T / sqrt(Dh) + B_h)     // [T, T], rows sum to 1; B = MPNet's relative position
//                                               // bias (relative_position_bias.h), absent for the others
//   context_h = P V_h                     // written into columns h*Dh.. of context rows [T, D]
// Each sequence attends only to itself, over its own length.
//
// Length buckets: a sequence of length T runs in the primitive shape of its bucket Tb >= T (BucketLength:
// multiples of 16 up to 256, of 64 up to 1024, of 256 beyond). Padding rows are zero and the scores of keys
// past T are set to the lowest float before the softmax, so their probabilities are exactly 0 and the result
// equals the unpadded computation up to float summation order. Consecutive sequences of one bucket run as
// one oneDNN call (groups of 1, 2, 4, ... 32 sequences, bounded by the scores budget).
//
// Primitives: Create() builds every (bucket, group size) for lengths up to max_length into a table that is
// read without a lock afterwards (primitive_cache.h). Longer sequences still run; their shapes are built on
// first use under a lock.
//
// Thread safety: immutable after Create(); Forward() may run from several threads, each with its own
// ExecContext and scratch buffer.
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
#include "core/relative_position_bias.h"

namespace qkv {

// The bucket (padded length) of a sequence of `length` >= 1 tokens.
int64_t BucketLength(int64_t length);

class SelfAttention {
 public:
  // Builds the primitives for every sequence length in [1, max_length]. `bias`, when given, is added to
  // the scores of every head (fp32, before the padding mask and the softmax); it must cover max_length.
  static absl::StatusOr<std::unique_ptr<SelfAttention>> Create(
      int64_t num_heads, int64_t head_size, int64_t max_length,
      std::unique_ptr<RelativePositionBias> bias = nullptr);

  // qkv:      [sum(lengths), 3D]  per row Q | K | V, D = H * Dh
  // context:  [sum(lengths), D]   output
  // probs_out: empty, or one entry per sequence: null, or room for [H, T_i, T_i] attention probabilities
  //            (head, query, key) that are copied out after the softmax.
  // scratch:  head-major copies, scores and padded context; grown as needed. Throws dnnl::error.
  void Forward(const float* qkv, absl::Span<const int64_t> lengths, absl::Span<float* const> probs_out,
               float* context, AlignedBuffer* scratch, ExecContext* ctx) const;

  int64_t num_heads() const { return heads_; }
  int64_t head_size() const { return head_size_; }
  // "matmul attention_scores: <impl>", "matmul attention_context: <impl>", "softmax: <impl>".
  std::vector<std::string> KernelInfo() const;

 private:
  using Key = std::tuple<int64_t, int64_t, int>;  // (sequences in the group, bucket length, ThreadCount())

  SelfAttention(int64_t heads, int64_t head_size) : heads_(heads), head_size_(head_size) {}
  // The largest group of sequences of bucket `bucket` run in one call.
  int64_t MaxGroup(int64_t bucket) const;
  // Whether a group's attention runs on the calling thread alone (dnnl_context.h).
  bool SingleThreaded(int64_t count, int64_t bucket) const;
  // Builds (or finds) the group's primitives. Requires the ScopedThreadLimit of SingleThreaded().
  const PrimitiveEntry& Scores(int64_t count, int64_t bucket) const;
  const PrimitiveEntry& Context(int64_t count, int64_t bucket) const;
  // Runs `count` sequences of bucket `bucket`, the first at packed row `row` and index `first`.
  void ForwardGroup(const float* qkv, int64_t row, absl::Span<const int64_t> lengths, int64_t bucket,
                    absl::Span<float* const> probs_out, float* context, AlignedBuffer* scratch,
                    ExecContext* ctx) const;

  const int64_t heads_;
  const int64_t head_size_;
  PrimitiveTable<Key> scores_table_;   // (Q / sqrt(Dh)) K^T -> [count, H, Tb, Tb]
  PrimitiveTable<Key> context_table_;  // P V               -> [count, Tb, D] rows
  SoftmaxOp softmax_;
  std::unique_ptr<RelativePositionBias> bias_;  // null: no bias
};

}  // namespace qkv

#endif  // QKV_CORE_ATTENTION_H_
