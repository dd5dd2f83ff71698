#include "core/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

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

// Offsets (in floats, 64-byte aligned) of one group's regions in the scratch buffer: the scores, Q, K and V
// head-major ([count, H, Tb, Dh] each), and the padded context rows when some sequence is shorter than Tb.
struct ScratchLayout {
  int64_t scores, q, k, v, padded_context, total;
};

int64_t Align16(int64_t floats) { return (floats + 15) / 16 * 16; }

ScratchLayout Layout(int64_t count, int64_t heads, int64_t bucket, int64_t d, bool padded) {
  const int64_t head_block = Align16(count * bucket * d);
  ScratchLayout layout;
  layout.scores = 0;
  layout.q = Align16(count * heads * bucket * bucket);
  layout.k = layout.q + head_block;
  layout.v = layout.k + head_block;
  layout.padded_context = layout.v + head_block;
  layout.total = layout.padded_context + (padded ? head_block : 0);
  return layout;
}

}  // namespace

int64_t BucketLength(int64_t length) {
  const int64_t step = length <= 256 ? 16 : length <= 1024 ? 64 : 256;
  return (length + step - 1) / step * step;
}

absl::StatusOr<std::unique_ptr<SelfAttention>> SelfAttention::Create(
    int64_t num_heads, int64_t head_size, int64_t max_length, std::unique_ptr<RelativePositionBias> bias) {
  if (num_heads <= 0 || head_size <= 0 || max_length <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("attention: bad heads ", num_heads, ", head size ",
                                                   head_size, " or max length ", max_length));
  }
  std::unique_ptr<SelfAttention> attention(new SelfAttention(num_heads, head_size));
  SelfAttention& a = *attention;
  a.bias_ = std::move(bias);
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

// Q, K and V are dense head-major copies: oneDNN 2.6 runs batched matmuls on brgemm only for dense operands
// (strided views of the fused projection went to gemm:jit, 2-3x slower here), and a fused output scale or
// binary post-op on this matmul costs more than folding the scale into the Q copy and masking by hand.
const PrimitiveEntry& SelfAttention::Scores(int64_t count, int64_t bucket) const {
  return scores_table_.GetOrCreate(Key(count, bucket, ThreadCount()), [&] {
    const int64_t dh = head_size_;
    const dnnl::memory::desc q_md = PlainDesc({count, heads_, bucket, dh});
    // K^T: dims [count, H, Dh, Tb] over K stored [count, H, Tb, Dh].
    const dnnl::memory::desc kt_md({count, heads_, dh, bucket}, kF32, dnnl::memory::format_tag::abdc);
    const dnnl::memory::desc scores_md = PlainDesc({count, heads_, bucket, bucket});
    return PrimitiveEntry::Make<dnnl::matmul>(
        dnnl::matmul::primitive_desc(dnnl::matmul::desc(q_md, kt_md, scores_md), UserScratchpadAttr(),
                                     CpuEngine()),
        {{DNNL_ARG_SRC, q_md}, {DNNL_ARG_WEIGHTS, kt_md}, {DNNL_ARG_DST, scores_md}});
  });
}

const PrimitiveEntry& SelfAttention::Context(int64_t count, int64_t bucket) const {
  return context_table_.GetOrCreate(Key(count, bucket, ThreadCount()), [&] {
    const int64_t dh = head_size_;
    const int64_t d = heads_ * dh;
    const dnnl::memory::desc scores_md = PlainDesc({count, heads_, bucket, bucket});
    const dnnl::memory::desc v_md = PlainDesc({count, heads_, bucket, dh});
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
  const int64_t dh = head_size_;
  const int64_t d = heads_ * dh;
  const bool padded = std::any_of(lengths.begin(), lengths.end(), [&](int64_t t) { return t != bucket; });
  const ScratchLayout layout = Layout(count, heads_, bucket, d, padded);
  scratch->Reserve(layout.total);
  float* scores = scratch->data() + layout.scores;
  float* q = scratch->data() + layout.q;
  float* k = scratch->data() + layout.k;
  float* v = scratch->data() + layout.v;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)));

  // Head-major copies; rows past a sequence's length are zero (their keys are masked below, their
  // queries' results dropped).
  int64_t r = row;
  for (int64_t b = 0; b < count; ++b) {
    const int64_t t = lengths[b];
    for (int64_t h = 0; h < heads_; ++h) {
      const int64_t base = ((b * heads_ + h) * bucket) * dh;
      for (int64_t i = 0; i < t; ++i) {
        const float* src = qkv + (r + i) * 3 * d + h * dh;
        float* q_row = q + base + i * dh;
        for (int64_t j = 0; j < dh; ++j) q_row[j] = src[j] * scale;
        std::memcpy(k + base + i * dh, src + d, sizeof(float) * dh);
        std::memcpy(v + base + i * dh, src + 2 * d, sizeof(float) * dh);
      }
      if (t < bucket) {
        const size_t tail = sizeof(float) * (bucket - t) * dh;
        std::memset(q + base + t * dh, 0, tail);
        std::memset(k + base + t * dh, 0, tail);
        std::memset(v + base + t * dh, 0, tail);
      }
    }
    r += t;
  }
  float* block_context = padded ? scratch->data() + layout.padded_context : context + row * d;

  const ScopedThreadLimit limit(SingleThreaded(count, bucket));
  Scores(count, bucket).Execute(ctx, {q, k, scores});
  if (bias_ != nullptr) {
    for (int64_t b = 0; b < count; ++b) {
      for (int64_t h = 0; h < heads_; ++h) {
        bias_->AddTo(h, lengths[b], bucket, scores + (b * heads_ + h) * bucket * bucket);
      }
    }
  }
  // Keys past a sequence's length get the lowest float: probability exactly 0 after the softmax.
  for (int64_t b = 0; b < count; ++b) {
    const int64_t t = lengths[b];
    if (t == bucket) continue;
    for (int64_t i = 0; i < heads_ * bucket; ++i) {
      std::fill_n(scores + (b * heads_ * bucket + i) * bucket + t, bucket - t,
                  std::numeric_limits<float>::lowest());
    }
  }
  softmax_.Forward(scores, count * heads_ * bucket, bucket, ctx);
  Context(count, bucket).Execute(ctx, {scores, v, block_context});

  r = row;
  for (int64_t b = 0; b < count; ++b) {
    const int64_t t = lengths[b];
    if (padded) {
      std::memcpy(context + r * d, block_context + b * bucket * d, sizeof(float) * t * d);
    }
    if (!probs_out.empty() && probs_out[b] != nullptr) {
      for (int64_t h = 0; h < heads_; ++h) {
        for (int64_t i = 0; i < t; ++i) {
          std::memcpy(probs_out[b] + (h * t + i) * t, scores + ((b * heads_ + h) * bucket + i) * bucket,
                      sizeof(float) * t);
        }
      }
    }
    r += t;
  }
}

std::vector<std::string> SelfAttention::KernelInfo() const {
  std::vector<std::string> lines = scores_table_.KernelLines("matmul attention_scores: ");
  for (std::string& line : context_table_.KernelLines("matmul attention_context: "))
    lines.push_back(std::move(line));
  for (std::string& line : softmax_.KernelInfo()) lines.push_back(std::move(line));
  return lines;
}

}  // namespace qkv
