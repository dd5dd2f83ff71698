#include "core/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace qkv {
namespace {

// Largest group of same-bucket sequences run in one call.
constexpr int64_t kMaxGroup = 32;
// Scores held at once (floats) when grouping; a single sequence may exceed it.
constexpr int64_t kScoresBudget = int64_t{1} << 22;

using dims = dnnl::memory::dims;
constexpr auto kF32 = dnnl::memory::data_type::f32;

dnnl::primitive_attr UserScratchpadAttr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// Offsets (in floats, 64-byte aligned) of one group's regions in the scratch buffer.
struct ScratchLayout {
  int64_t mask, scores, padded_qkv, padded_context, total;
};

int64_t Align16(int64_t floats) { return (floats + 15) / 16 * 16; }

ScratchLayout Layout(int64_t count, int64_t heads, int64_t bucket, int64_t d, bool padded) {
  ScratchLayout layout;
  layout.mask = 0;
  layout.scores = Align16(count * bucket);
  layout.padded_qkv = layout.scores + Align16(count * heads * bucket * bucket);
  layout.padded_context = layout.padded_qkv + (padded ? Align16(count * bucket * 3 * d) : 0);
  layout.total = layout.padded_context + (padded ? Align16(count * bucket * d) : 0);
  return layout;
}

}  // namespace

int64_t BucketLength(int64_t length) {
  const int64_t step = length <= 256 ? 16 : length <= 1024 ? 64 : 256;
  return (length + step - 1) / step * step;
}

absl::StatusOr<std::unique_ptr<SelfAttention>> SelfAttention::Create(int64_t num_heads, int64_t head_size,
                                                                     int64_t max_length) {
  if (num_heads <= 0 || head_size <= 0 || max_length <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("attention: bad heads ", num_heads, ", head size ",
                                                   head_size, " or max length ", max_length));
  }
  std::unique_ptr<SelfAttention> attention(new SelfAttention(num_heads, head_size));
  SelfAttention& a = *attention;
  try {
    for (int64_t bucket = BucketLength(1); bucket <= BucketLength(max_length);
         bucket = BucketLength(bucket + 1)) {
      for (int64_t count = 1; count <= a.MaxGroup(bucket); count *= 2) {
        const ScopedThreadLimit limit(a.SingleThreaded(count, bucket));
        a.Scores(count, bucket);
        a.softmax_.Prebuild(count * num_heads * bucket, bucket);
        a.Context(count, bucket);
      }
    }
  } catch (const dnnl::error& e) {
    return DnnlErrorToStatus(e, "attention");
  }
  a.scores_table_.Seal();
  a.context_table_.Seal();
  a.softmax_.Seal();
  return attention;
}

int64_t SelfAttention::MaxGroup(int64_t bucket) const {
  const int64_t fit = std::max<int64_t>(1, kScoresBudget / (heads_ * bucket * bucket));
  int64_t count = 1;
  while (count * 2 <= std::min(fit, kMaxGroup)) count *= 2;
  return count;
}

bool SelfAttention::SingleThreaded(int64_t count, int64_t bucket) const {
  // Q K^T and P V: 4 * count * H * Tb^2 * Dh FLOPs.
  return 4.0 * static_cast<double>(count * heads_ * bucket * bucket * head_size_) < kParallelMinFlops;
}

const PrimitiveEntry& SelfAttention::Scores(int64_t count, int64_t bucket) const {
  return scores_table_.GetOrCreate(Key(count, bucket, ThreadCount()), [&] {
    const int64_t dh = head_size_;
    const int64_t d = heads_ * dh;
    // Element (b, h, i, j) of Q is block[(b*Tb + i) * 3D + h*Dh + j]; K^T swaps the last two axes.
    const dnnl::memory::desc q_md({count, heads_, bucket, dh}, kF32, dims{bucket * 3 * d, dh, 3 * d, 1});
    const dnnl::memory::desc kt_md({count, heads_, dh, bucket}, kF32, dims{bucket * 3 * d, dh, 1, 3 * d});
    const dnnl::memory::desc scores_md = PlainDesc({count, heads_, bucket, bucket});
    const dnnl::memory::desc mask_md = PlainDesc({count, 1, 1, bucket});
    dnnl::primitive_attr attr = UserScratchpadAttr();
    attr.set_output_scales(0, {static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)))});
    dnnl::post_ops post_ops;
    post_ops.append_binary(dnnl::algorithm::binary_add, mask_md);
    attr.set_post_ops(post_ops);
    return PrimitiveEntry::Make<dnnl::matmul>(
        dnnl::matmul::primitive_desc(dnnl::matmul::desc(q_md, kt_md, scores_md), attr, CpuEngine()),
        {{DNNL_ARG_SRC, q_md},
         {DNNL_ARG_WEIGHTS, kt_md},
         {DNNL_ARG_DST, scores_md},
         {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, mask_md}});
  });
}

const PrimitiveEntry& SelfAttention::Context(int64_t count, int64_t bucket) const {
  return context_table_.GetOrCreate(Key(count, bucket, ThreadCount()), [&] {
    const int64_t dh = head_size_;
    const int64_t d = heads_ * dh;
    const dnnl::memory::desc scores_md = PlainDesc({count, heads_, bucket, bucket});
    const dnnl::memory::desc v_md({count, heads_, bucket, dh}, kF32, dims{bucket * 3 * d, dh, 3 * d, 1});
    const dnnl::memory::desc context_md({count, heads_, bucket, dh}, kF32, dims{bucket * d, dh, d, 1});
    return PrimitiveEntry::Make<dnnl::matmul>(
        dnnl::matmul::primitive_desc(dnnl::matmul::desc(scores_md, v_md, context_md), UserScratchpadAttr(),
                                     CpuEngine()),
        {{DNNL_ARG_SRC, scores_md}, {DNNL_ARG_WEIGHTS, v_md}, {DNNL_ARG_DST, context_md}});
  });
}

void SelfAttention::Forward(const float* qkv, absl::Span<const int64_t> lengths,
                            absl::Span<float* const> probs_out, float* context, AlignedBuffer* scratch,
                            ExecContext* ctx) const {
  int64_t row = 0;
  size_t i = 0;
  while (i < lengths.size()) {
    const int64_t bucket = BucketLength(lengths[i]);
    size_t run = 1;
    while (i + run < lengths.size() && BucketLength(lengths[i + run]) == bucket) ++run;
    const int64_t max_group = MaxGroup(bucket);
    while (run > 0) {
      int64_t count = 1;
      while (count * 2 <= std::min<int64_t>(static_cast<int64_t>(run), max_group)) count *= 2;
      ForwardGroup(qkv, row, lengths.subspan(i, count), bucket,
                   probs_out.empty() ? probs_out : probs_out.subspan(i, count), context, scratch, ctx);
      for (int64_t s = 0; s < count; ++s) row += lengths[i + s];
      i += count;
      run -= count;
    }
  }
}

void SelfAttention::ForwardGroup(const float* qkv, int64_t row, absl::Span<const int64_t> lengths,
                                 int64_t bucket, absl::Span<float* const> probs_out, float* context,
                                 AlignedBuffer* scratch, ExecContext* ctx) const {
  const int64_t count = static_cast<int64_t>(lengths.size());
  const int64_t d = heads_ * head_size_;
  const bool padded = std::any_of(lengths.begin(), lengths.end(), [&](int64_t t) { return t != bucket; });
  const ScratchLayout layout = Layout(count, heads_, bucket, d, padded);
  scratch->Reserve(layout.total);
  float* mask = scratch->data() + layout.mask;
  float* scores = scratch->data() + layout.scores;

  const float* block = qkv + row * 3 * d;  // [count, Tb, 3D]
  float* block_context = context + row * d;  // [count, Tb, D]
  if (padded) {
    float* padded_qkv = scratch->data() + layout.padded_qkv;
    int64_t r = row;
    for (int64_t b = 0; b < count; ++b) {
      const int64_t t = lengths[b];
      float* dst = padded_qkv + b * bucket * 3 * d;
      std::memcpy(dst, qkv + r * 3 * d, sizeof(float) * t * 3 * d);
      std::memset(dst + t * 3 * d, 0, sizeof(float) * (bucket - t) * 3 * d);
      r += t;
    }
    block = padded_qkv;
    block_context = scratch->data() + layout.padded_context;
  }
  for (int64_t b = 0; b < count; ++b) {
    std::fill_n(mask + b * bucket, lengths[b], 0.f);
    std::fill_n(mask + b * bucket + lengths[b], bucket - lengths[b], std::numeric_limits<float>::lowest());
  }

  {
    const ScopedThreadLimit limit(SingleThreaded(count, bucket));
    Scores(count, bucket).Execute(ctx, {block, block + d, scores, mask});
    softmax_.Forward(scores, count * heads_ * bucket, bucket, ctx);
    Context(count, bucket).Execute(ctx, {scores, block + 2 * d, block_context});
  }

  int64_t r = row;
  for (int64_t b = 0; b < count; ++b) {
    const int64_t t = lengths[b];
    if (padded) {
      std::memcpy(context + r * d, block_context + b * bucket * d, sizeof(float) * t * d);
    }
    if (!probs_out.empty() && probs_out[b] != nullptr) {
      for (int64_t h = 0; h < heads_; ++h) {
        for (int64_t q = 0; q < t; ++q) {
          std::memcpy(probs_out[b] + (h * t + q) * t, scores + ((b * heads_ + h) * bucket + q) * bucket,
                      sizeof(float) * t);
        }
      }
    }
    r += t;
  }
}

std::vector<std::string> SelfAttention::KernelInfo() const {
  std::vector<std::string> lines;
  for (const std::string& impl : scores_table_.ImplNames()) {
    lines.push_back(absl::StrCat("matmul attention_scores: ", impl));
  }
  for (const std::string& impl : context_table_.ImplNames()) {
    lines.push_back(absl::StrCat("matmul attention_context: ", impl));
  }
  for (std::string& line : softmax_.KernelInfo()) lines.push_back(std::move(line));
  return lines;
}

}  // namespace qkv
