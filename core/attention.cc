#include "core/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace qkv {
namespace {

// Largest group of equal-length sequences run in one call.
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

}  // namespace

absl::StatusOr<std::unique_ptr<SelfAttention>> SelfAttention::Create(int64_t num_heads, int64_t head_size) {
  if (num_heads <= 0 || head_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("attention: bad heads ", num_heads, " or head size ", head_size));
  }
  std::unique_ptr<SelfAttention> attention(new SelfAttention(num_heads, head_size));
  try {
    // Build one group's primitives now so an unsupported configuration fails at load.
    const int64_t t = 16;
    const int64_t d = num_heads * head_size;
    std::vector<float> qkv(t * 3 * d, 0.f), context(t * d);
    AlignedBuffer scores;
    ExecContext ctx;
    const int64_t lengths[] = {t};
    attention->Forward(qkv.data(), lengths, {}, context.data(), &scores, &ctx);
  } catch (const dnnl::error& e) {
    return DnnlErrorToStatus(e, "attention");
  }
  return attention;
}

void SelfAttention::Forward(const float* qkv, absl::Span<const int64_t> lengths,
                            absl::Span<float* const> probs_out, float* context, AlignedBuffer* scores,
                            ExecContext* ctx) const {
  int64_t row = 0;
  size_t i = 0;
  while (i < lengths.size()) {
    const int64_t t = lengths[i];
    // The run of sequences of length t starting at i, cut into power-of-two groups that fit the budget.
    size_t run = 1;
    while (i + run < lengths.size() && lengths[i + run] == t) ++run;
    const int64_t per_sequence = heads_ * t * t;
    const int64_t fit = std::max<int64_t>(1, kScoresBudget / per_sequence);
    while (run > 0) {
      int64_t count = 1;
      while (count * 2 <= std::min<int64_t>({static_cast<int64_t>(run), fit, kMaxGroup})) count *= 2;
      scores->Reserve(count * per_sequence);
      ForwardGroup(qkv, row, count, t, context, scores->data(), ctx);
      for (int64_t s = 0; s < count; ++s) {
        if (!probs_out.empty() && probs_out[i + s] != nullptr) {
          std::memcpy(probs_out[i + s], scores->data() + s * per_sequence, sizeof(float) * per_sequence);
        }
      }
      row += count * t;
      i += count;
      run -= count;
    }
  }
}

void SelfAttention::ForwardGroup(const float* qkv, int64_t row, int64_t count, int64_t t, float* context,
                                 float* scores, ExecContext* ctx) const {
  const int64_t dh = head_size_;
  const int64_t d = heads_ * dh;
  // Views of the fused projection: element (b, h, i, j) of Q is qkv[(row + b*T + i) * 3D + h*Dh + j];
  // K^T swaps the last two axes; K starts at column D and V at column 2D.
  const dnnl::memory::desc q_md({count, heads_, t, dh}, kF32, dims{t * 3 * d, dh, 3 * d, 1});
  const dnnl::memory::desc kt_md({count, heads_, dh, t}, kF32, dims{t * 3 * d, dh, 1, 3 * d});
  const dnnl::memory::desc v_md = q_md;
  const dnnl::memory::desc scores_md = PlainDesc({count, heads_, t, t});
  const dnnl::memory::desc context_md({count, heads_, t, dh}, kF32, dims{t * d, dh, d, 1});
  // Q K^T and P V: 4 * count * H * T^2 * Dh FLOPs; small groups stay on the calling thread.
  const ScopedThreadLimit limit(4.0 * static_cast<double>(count * heads_ * t * t * dh) < kParallelMinFlops);
  const Key key(count, t, ThreadCount());

  const PrimitiveEntry& qk = scores_cache_.GetOrCreate(key, [&] {
    dnnl::primitive_attr attr = UserScratchpadAttr();
    attr.set_output_scales(0, {static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)))});
    return PrimitiveEntry::Make<dnnl::matmul>(
        dnnl::matmul::primitive_desc(dnnl::matmul::desc(q_md, kt_md, scores_md), attr, CpuEngine()));
  });
  const PrimitiveEntry& pv = context_cache_.GetOrCreate(key, [&] {
    return PrimitiveEntry::Make<dnnl::matmul>(dnnl::matmul::primitive_desc(
        dnnl::matmul::desc(scores_md, v_md, context_md), UserScratchpadAttr(), CpuEngine()));
  });

  const float* base = qkv + row * 3 * d;
  qk.Execute(ctx, {{DNNL_ARG_SRC, WrapMemory(q_md, base)},
                   {DNNL_ARG_WEIGHTS, WrapMemory(kt_md, base + d)},
                   {DNNL_ARG_DST, WrapMemory(scores_md, scores)}});
  softmax_.Forward(scores, count * heads_ * t, t, ctx);
  pv.Execute(ctx, {{DNNL_ARG_SRC, WrapMemory(scores_md, scores)},
                   {DNNL_ARG_WEIGHTS, WrapMemory(v_md, base + 2 * d)},
                   {DNNL_ARG_DST, WrapMemory(context_md, context + row * d)}});
}

std::vector<std::string> SelfAttention::KernelInfo() const {
  std::vector<std::string> lines;
  for (const std::string& impl : scores_cache_.ImplNames()) {
    lines.push_back(absl::StrCat("matmul attention_scores: ", impl));
  }
  for (const std::string& impl : context_cache_.ImplNames()) {
    lines.push_back(absl::StrCat("matmul attention_context: ", impl));
  }
  for (std::string& line : softmax_.KernelInfo()) lines.push_back(std::move(line));
  return lines;
}

}  // namespace qkv
