#include "core/dnnl_norm.h"

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace qkv {

absl::StatusOr<std::unique_ptr<LayerNormOp>> LayerNormOp::Create(int64_t width, double eps) {
  if (width <= 0 || !(eps > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("layer_norm: bad width ", width, " or eps ", eps));
  }
  std::unique_ptr<LayerNormOp> op(new LayerNormOp(width, static_cast<float>(eps)));
  try {
    op->Prebuild(16);  // fails here, not on the first request, if oneDNN cannot build it
  } catch (const dnnl::error& e) {
    return DnnlErrorToStatus(e, "layer_norm");
  }
  return op;
}

absl::StatusOr<LayerNormParams> LayerNormOp::MakeParams(const Tensor& gamma, const Tensor& beta,
                                                        const std::string& name) const {
  QKV_RETURN_IF_ERROR(CheckTensorShape(gamma, name + ".gamma", {width_}));
  QKV_RETURN_IF_ERROR(CheckTensorShape(beta, name + ".beta", {width_}));
  try {
    LayerNormParams params;
    params.gamma = dnnl::memory(PlainDesc({width_}), CpuEngine());
    params.beta = dnnl::memory(PlainDesc({width_}), CpuEngine());
    std::memcpy(params.gamma.get_data_handle(), gamma.data.data(), sizeof(float) * width_);
    std::memcpy(params.beta.get_data_handle(), beta.data.data(), sizeof(float) * width_);
    return params;
  } catch (const dnnl::error& e) {
    return DnnlErrorToStatus(e, name);
  }
}

const PrimitiveEntry& LayerNormOp::ForRows(int64_t rows) const {
  return table_.GetOrCreate(std::make_pair(rows, ThreadCount()), [&] {
    const dnnl::memory::desc md = PlainDesc({rows, width_});
    const dnnl::layer_normalization_forward::desc desc(
        dnnl::prop_kind::forward_inference, md, eps_,
        dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return PrimitiveEntry::Make<dnnl::layer_normalization_forward>(
        dnnl::layer_normalization_forward::primitive_desc(desc, attr, CpuEngine()),
        {{DNNL_ARG_SRC, md}, {DNNL_ARG_DST, md}});
  });
}

void LayerNormOp::Forward(float* x, int64_t rows, const LayerNormParams& params, ExecContext* ctx) const {
  ForEachRowChunk(rows, [&](int64_t begin, int64_t chunk) {
    const ScopedThreadLimit limit(SingleThreaded(chunk));
    float* data = x + begin * width_;
    ForRows(chunk).Execute(ctx, {data, data},
                           {{DNNL_ARG_SCALE, &params.gamma}, {DNNL_ARG_SHIFT, &params.beta}});
  });
}

void LayerNormOp::Prebuild(int64_t max_rows) const {
  PrebuildRowChunks(
      max_rows, [this](int64_t rows) { return SingleThreaded(rows); },
      [this](int64_t rows) { ForRows(rows); });
}

std::vector<std::string> LayerNormOp::KernelInfo() const { return table_.KernelLines("layer_norm: "); }

}  // namespace qkv
