#include "core/dnnl_matmul.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace qkv {
namespace {

// The row count whose preferred weight layout is used for every row count (probed on avx512_core: the
// brgemm kernel accepts that layout for all M).
constexpr int64_t kLayoutRows = 256;

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dt WeightType(Precision precision) {
  switch (precision) {
    case Precision::kBf16:
      return dt::bf16;
    case Precision::kInt8:
      return dt::s8;
    case Precision::kFp32:
      break;
  }
  return dt::f32;
}

// The workspace's buffer for the input converted to `T` (bf16 bits, s8), room for `elements` values.
template <typename T>
T* ConvertedInput(ExecContext* ctx, int64_t elements) {
  AlignedBuffer& buffer = ctx->converted_input();
  buffer.Reserve((elements * static_cast<int64_t>(sizeof(T)) + 3) / 4);  // in floats
  return reinterpret_cast<T*>(buffer.data());
}

// int8 post-op positions (see the header): 0 weight scales, 1 row scales, 2 bias, then the epilogue.
constexpr int kWeightScalesPostOp = 0;
constexpr int kRowScalesPostOp = 1;
constexpr int kBiasPostOp = 2;

}  // namespace

MatMulOp::MatMulOp(int64_t in, int64_t out, Epilogue epilogue, std::string name, const MatMulOptions& options)
    : in_(in), out_(out), epilogue_(epilogue), name_(std::move(name)), options_(options) {}

absl::StatusOr<std::unique_ptr<MatMulOp>> MatMulOp::Create(int64_t in_features, int64_t out_features,
                                                           Epilogue epilogue, std::string name,
                                                           const MatMulOptions& options) {
  if (in_features <= 0 || out_features <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("matmul ", name, ": bad shape [", in_features, ", ", out_features, "]"));
  }
  std::unique_ptr<MatMulOp> op(new MatMulOp(in_features, out_features, epilogue, std::move(name), options));
  try {
    const dt type = WeightType(options.precision);
    const dnnl::memory::desc any = options.precision == Precision::kInt8
                                       ? dnnl::memory::desc({1, in_features, out_features}, type, tag::any)
                                       : dnnl::memory::desc({in_features, out_features}, type, tag::any);
    op->weights_md_ = op->MakeDesc(kLayoutRows, any).weights_desc();
    op->Prebuild(16);  // fails here, not on the first request, if oneDNN cannot build this matmul
  } catch (const dnnl::error& e) {
    return DnnlErrorToStatus(e, absl::StrCat("matmul ", op->name_));
  }
  return op;
}

dnnl::matmul::primitive_desc MatMulOp::MakeDesc(int64_t rows, const dnnl::memory::desc& weights) const {
  const bool int8 = options_.precision == Precision::kInt8;
  dnnl::post_ops post_ops;
  if (int8) {
    post_ops.append_binary(dnnl::algorithm::binary_mul, dnnl::memory::desc({1, 1, out_}, dt::f32, tag::abc));
    post_ops.append_binary(dnnl::algorithm::binary_mul, dnnl::memory::desc({1, rows, 1}, dt::f32, tag::abc));
    post_ops.append_binary(dnnl::algorithm::binary_add, dnnl::memory::desc({1, 1, out_}, dt::f32, tag::abc));
  }
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
  if (int8) {
    const dnnl::matmul::desc desc(dnnl::memory::desc({1, rows, in_}, dt::s8, tag::abc), weights,
                                  dnnl::memory::desc({1, rows, out_}, dt::f32, tag::abc));
    return dnnl::matmul::primitive_desc(desc, attr, CpuEngine());
  }
  const dt src_type = options_.precision == Precision::kBf16 ? dt::bf16 : dt::f32;
  const dnnl::matmul::desc desc(dnnl::memory::desc({rows, in_}, src_type, tag::ab), weights,
                                PlainDesc({1, out_}), PlainDesc({rows, out_}));
  return dnnl::matmul::primitive_desc(desc, attr, CpuEngine());
}

const PrimitiveEntry& MatMulOp::ForRows(int64_t rows) const {
  return table_.GetOrCreate(std::make_pair(rows, ThreadCount()), [&] {
    const dnnl::matmul::primitive_desc pd = MakeDesc(rows, weights_md_);
    PrimitiveEntry::PointerArgs args = {{DNNL_ARG_SRC, pd.src_desc()}, {DNNL_ARG_DST, pd.dst_desc()}};
    if (options_.precision == Precision::kInt8) {
      args.emplace_back(DNNL_ARG_ATTR_MULTIPLE_POST_OP(kRowScalesPostOp) | DNNL_ARG_SRC_1,
                        dnnl::memory::desc({1, rows, 1}, dt::f32, tag::abc));
    }
    return PrimitiveEntry::Make<dnnl::matmul>(pd, std::move(args));
  });
}

absl::StatusOr<PackedLinear> MatMulOp::Pack(const Tensor& weight, const Tensor& bias) const {
  // The op's own contract (it reads in * out weights); BertWeights are checked against the config before.
  QKV_RETURN_IF_ERROR(CheckTensorShape(weight, absl::StrCat(name_, ".weight"), {in_, out_}));
  QKV_RETURN_IF_ERROR(CheckTensorShape(bias, absl::StrCat(name_, ".bias"), {out_}));
  if (options_.precision == Precision::kInt8) return PackInt8(weight, bias);
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

absl::StatusOr<PackedLinear> MatMulOp::PackInt8(const Tensor& weight, const Tensor& bias) const {
  // Symmetric per-column scales; the reorder multiplies by 1/scale, rounds to nearest and adds the
  // compensation the s8 x s8 kernel needs.
  std::vector<float> scales(static_cast<size_t>(out_), 0.f);
  for (int64_t k = 0; k < in_; ++k) {
    const float* row = weight.data.data() + k * out_;
    for (int64_t n = 0; n < out_; ++n) scales[n] = std::max(scales[n], std::fabs(row[n]));
  }
  std::vector<float> inverse(scales.size());
  for (size_t n = 0; n < scales.size(); ++n) {
    if (!std::isfinite(scales[n])) {
      return absl::InvalidArgumentError(
          absl::StrCat("matmul ", name_, ": weight column ", n, " is not finite; cannot quantize to int8"));
    }
    scales[n] = scales[n] > 0.f ? scales[n] / 127.f : 1.f;
    inverse[n] = 1.f / scales[n];
  }
  try {
    PackedLinear packed;
    packed.weight = dnnl::memory(weights_md_, CpuEngine());
    const dnnl::memory::desc plain_md({1, in_, out_}, dt::f32, tag::abc);
    dnnl::memory plain(plain_md, CpuEngine(), const_cast<float*>(weight.data.data()));
    dnnl::primitive_attr attr;
    attr.set_output_scales(/*mask=*/1 << 2, inverse);
    const dnnl::reorder::primitive_desc pd(CpuEngine(), plain_md, CpuEngine(), weights_md_, attr);
    dnnl::stream stream(CpuEngine());
    dnnl::reorder(pd).execute(stream, plain, packed.weight);
    stream.wait();
    const dnnl::memory::desc vector_md({1, 1, out_}, dt::f32, tag::abc);
    packed.bias = dnnl::memory(vector_md, CpuEngine());
    std::memcpy(packed.bias.get_data_handle(), bias.data.data(), sizeof(float) * out_);
    packed.scales = dnnl::memory(vector_md, CpuEngine());
    std::memcpy(packed.scales.get_data_handle(), scales.data(), sizeof(float) * out_);
    return packed;
  } catch (const dnnl::error& e) {
    return DnnlErrorToStatus(e, absl::StrCat("matmul ", name_, ": quantizing weights"));
  }
}

void MatMulOp::Forward(const float* src, int64_t rows, const PackedLinear& weights, float* dst,
                       ExecContext* ctx) const {
  const int64_t padded = PaddedRows(rows);
  switch (options_.precision) {
    case Precision::kFp32:
      ForwardPlain(src, rows, weights, dst, ctx);
      return;
    case Precision::kBf16: {
      uint16_t* converted = ConvertedInput<uint16_t>(ctx, padded * in_);
      ConvertToBf16(src, padded * in_, converted);
      ForwardPlain(converted, rows, weights, dst, ctx);
      return;
    }
    case Precision::kInt8: {
      int8_t* quantized = ConvertedInput<int8_t>(ctx, padded * in_);
      AlignedBuffer& scale_buffer = ctx->row_scales();
      scale_buffer.Reserve(padded);
      float* row_scales = scale_buffer.data();
      QuantizeRowsS8(src, rows, in_, options_.activation_scaling, quantized, row_scales);
      // Padding rows (read by the last chunk, results discarded): zeros.
      std::memset(quantized + rows * in_, 0, static_cast<size_t>((padded - rows) * in_));
      std::fill(row_scales + rows, row_scales + padded, 0.f);
      ForEachRowChunk(rows, [&](int64_t begin, int64_t chunk) {
        const ScopedThreadLimit limit(SingleThreaded(chunk));
        ForRows(chunk).Execute(
            ctx, {quantized + begin * in_, dst + begin * out_, row_scales + begin},
            {{DNNL_ARG_WEIGHTS, &weights.weight},
             {DNNL_ARG_ATTR_MULTIPLE_POST_OP(kWeightScalesPostOp) | DNNL_ARG_SRC_1, &weights.scales},
             {DNNL_ARG_ATTR_MULTIPLE_POST_OP(kBiasPostOp) | DNNL_ARG_SRC_1, &weights.bias}});
      });
      return;
    }
  }
}

template <typename Input>
void MatMulOp::ForwardPlain(const Input* src, int64_t rows, const PackedLinear& weights, float* dst,
                            ExecContext* ctx) const {
  ForEachRowChunk(rows, [&](int64_t begin, int64_t chunk) {
    const ScopedThreadLimit limit(SingleThreaded(chunk));
    ForRows(chunk).Execute(ctx, {src + begin * in_, dst + begin * out_},
                           {{DNNL_ARG_WEIGHTS, &weights.weight}, {DNNL_ARG_BIAS, &weights.bias}});
  });
}

void MatMulOp::Prebuild(int64_t max_rows) const {
  PrebuildRowChunks(
      max_rows, [this](int64_t rows) { return SingleThreaded(rows); },
      [this](int64_t rows) { ForRows(rows); });
}

std::vector<std::string> MatMulOp::KernelInfo() const {
  return table_.KernelLines(absl::StrCat("matmul ", name_, ": "),
                            absl::StrCat(" (", PrecisionName(options_.precision), ")"));
}

}  // namespace qkv
