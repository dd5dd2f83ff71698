#include "core/dnnl_matmul.h"

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/shape_string.h"

namespace qkv {
namespace {

// The row count whose preferred weight layout is used for every row count (probed on avx512_core: the
// brgemm kernel accepts that layout for all M).
constexpr int64_t kLayoutRows = 256;

}  // namespace

MatMulOp::MatMulOp(int64_t in, int64_t out, Epilogue epilogue, std::string name)
    : in_(in), out_(out), epilogue_(epilogue), name_(std::move(name)) {}

absl::StatusOr<std::unique_ptr<MatMulOp>> MatMulOp::Create(int64_t in_features, int64_t out_features,
                                                           Epilogue epilogue, std::string name) {
  if (in_features <= 0 || out_features <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("matmul ", name, ": bad shape [", in_features, ", ", out_features, "]"));
  }
  std::unique_ptr<MatMulOp> op(new MatMulOp(in_features, out_features, epilogue, std::move(name)));
  try {
    const dnnl::memory::desc any({in_features, out_features}, dnnl::memory::data_type::f32,
                                 dnnl::memory::format_tag::any);
    op->weights_md_ = op->MakeDesc(kLayoutRows, any).weights_desc();
    op->Prebuild(16);  // fails here, not on the first request, if oneDNN cannot build this matmul
  } catch (const dnnl::error& e) {
    return DnnlErrorToStatus(e, absl::StrCat("matmul ", op->name_));
  }
  return op;
}

dnnl::matmul::primitive_desc MatMulOp::MakeDesc(int64_t rows, const dnnl::memory::desc& weights) const {
  dnnl::post_ops post_ops;
  switch (epilogue_) {
    case Epilogue::kBias:
      break;
    case Epilogue::kBiasGelu:
      post_ops.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
      break;
    case Epilogue::kBiasTanh:
      post_ops.append_eltwise(1.f, dnnl::algorithm::eltwise_tanh, 0.f, 0.f);
      break;
    case Epilogue::kBiasResidual:
      post_ops.append_sum(1.f);
      break;
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(post_ops);
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::desc desc(PlainDesc({rows, in_}), weights, PlainDesc({1, out_}),
                                PlainDesc({rows, out_}));
  return dnnl::matmul::primitive_desc(desc, attr, CpuEngine());
}

const PrimitiveEntry& MatMulOp::ForRows(int64_t rows) const {
  return cache_.GetOrCreate(std::make_pair(rows, ThreadCount()),
                            [&] { return PrimitiveEntry::Make<dnnl::matmul>(MakeDesc(rows, weights_md_)); });
}

absl::StatusOr<PackedLinear> MatMulOp::Pack(const Tensor& weight, const Tensor& bias) const {
  if (weight.shape != std::vector<int64_t>{in_, out_} ||
      static_cast<int64_t>(weight.data.size()) != in_ * out_) {
    return absl::InvalidArgumentError(absl::StrCat("matmul ", name_, ": weight has shape ",
                                                   ShapeString(weight.shape), ", expected [", in_, ", ", out_,
                                                   "]"));
  }
  if (bias.shape != std::vector<int64_t>{out_} || static_cast<int64_t>(bias.data.size()) != out_) {
    return absl::InvalidArgumentError(absl::StrCat("matmul ", name_, ": bias has shape ",
                                                   ShapeString(bias.shape), ", expected [", out_, "]"));
  }
  try {
    PackedLinear packed;
    packed.weight = dnnl::memory(weights_md_, CpuEngine());
    dnnl::memory plain = WrapMemory(PlainDesc({in_, out_}), weight.data.data());
    dnnl::stream stream(CpuEngine());
    dnnl::reorder(plain, packed.weight).execute(stream, plain, packed.weight);
    stream.wait();
    packed.bias = dnnl::memory(PlainDesc({1, out_}), CpuEngine());
    std::memcpy(packed.bias.get_data_handle(), bias.data.data(), sizeof(float) * out_);
    return packed;
  } catch (const dnnl::error& e) {
    return DnnlErrorToStatus(e, absl::StrCat("matmul ", name_, ": packing weights"));
  }
}

void MatMulOp::Forward(const float* src, int64_t rows, const PackedLinear& weights, float* dst,
                       ExecContext* ctx) const {
  ForEachRowChunk(rows, [&](int64_t begin, int64_t chunk) {
    const ScopedThreadLimit limit(SingleThreaded(chunk));
    const PrimitiveEntry& entry = ForRows(chunk);
    entry.Execute(ctx, {{DNNL_ARG_SRC, WrapMemory(PlainDesc({chunk, in_}), src + begin * in_)},
                        {DNNL_ARG_WEIGHTS, weights.weight},
                        {DNNL_ARG_BIAS, weights.bias},
                        {DNNL_ARG_DST, WrapMemory(PlainDesc({chunk, out_}), dst + begin * out_)}});
  });
}

void MatMulOp::Prebuild(int64_t max_rows) const {
  for (int64_t rows : RowChunkSizes(max_rows)) {
    const ScopedThreadLimit limit(SingleThreaded(rows));
    ForRows(rows);
  }
}

std::vector<std::string> MatMulOp::KernelInfo() const {
  std::vector<std::string> lines;
  for (const std::string& impl : cache_.ImplNames())
    lines.push_back(absl::StrCat("matmul ", name_, ": ", impl));
  return lines;
}

}  // namespace qkv
