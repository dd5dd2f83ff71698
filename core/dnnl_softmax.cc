#include "core/dnnl_softmax.h"

#include "absl/strings/str_cat.h"

namespace qkv {

const PrimitiveEntry& SoftmaxOp::ForShape(int64_t rows, int64_t cols) const {
  return table_.GetOrCreate(std::make_tuple(rows, cols, ThreadCount()), [&] {
    const dnnl::memory::desc md = PlainDesc({rows, cols});
    const dnnl::softmax_v2_forward::desc desc(dnnl::prop_kind::forward_inference,
                                              dnnl::algorithm::softmax_accurate, md, md, /*axis=*/1);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return PrimitiveEntry::Make<dnnl::softmax_v2_forward>(
        dnnl::softmax_v2_forward::primitive_desc(desc, attr, CpuEngine()),
        {{DNNL_ARG_SRC, md}, {DNNL_ARG_DST, md}});
  });
}

void SoftmaxOp::Forward(float* x, int64_t rows, int64_t cols, ExecContext* ctx) const {
  const ScopedThreadLimit limit(SingleThreaded(rows, cols));
  ForShape(rows, cols).Execute(ctx, {x, x});
}

void SoftmaxOp::Prebuild(int64_t rows, int64_t cols) const {
  const ScopedThreadLimit limit(SingleThreaded(rows, cols));
  ForShape(rows, cols);
}

std::vector<std::string> SoftmaxOp::KernelInfo() const { return table_.KernelLines("softmax: "); }

}  // namespace qkv
