#include "core/dnnl_softmax.h"

#include "absl/strings/str_cat.h"

namespace qkv {

void SoftmaxOp::Forward(float* x, int64_t rows, int64_t cols, ExecContext* ctx) const {
  const ScopedThreadLimit limit(10.0 * static_cast<double>(rows * cols) < kParallelMinFlops);
  const dnnl::memory::desc md = PlainDesc({rows, cols});
  const PrimitiveEntry& entry = cache_.GetOrCreate(std::make_tuple(rows, cols, ThreadCount()), [&] {
    const dnnl::softmax_v2_forward::desc desc(dnnl::prop_kind::forward_inference,
                                              dnnl::algorithm::softmax_accurate, md, md, /*axis=*/1);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return PrimitiveEntry::Make<dnnl::softmax_v2_forward>(
        dnnl::softmax_v2_forward::primitive_desc(desc, attr, CpuEngine()));
  });
  const dnnl::memory data = WrapMemory(md, x);
  entry.Execute(ctx, {{DNNL_ARG_SRC, data}, {DNNL_ARG_DST, data}});
}

std::vector<std::string> SoftmaxOp::KernelInfo() const {
  std::vector<std::string> lines;
  for (const std::string& impl : cache_.ImplNames()) lines.push_back(absl::StrCat("softmax: ", impl));
  return lines;
}

}  // namespace qkv
