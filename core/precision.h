// Precision: the number format the encoder's projection and feed-forward matmuls compute in, and what the
// CPU running this process supports natively (probed at run time through oneDNN, never at build time).
//
//   kFp32: fp32 everywhere (the default; exact to the reference within float rounding).
//   kBf16: bf16 weights and activations into the matmuls, fp32 accumulation and fp32 outputs. Needs
//          AVX512-BF16 (or AMX) to be fast; oneDNN emulates it several times slower than fp32 otherwise.
//   kInt8: s8 weights (symmetric, one scale per output channel, quantized at load) and s8 activations
//          (symmetric, one scale per token, quantized at run time), s32 accumulation, fp32 outputs.
// In every precision embeddings, LayerNorm, softmax, GELU, residuals, attention and the pooler stay fp32.
#ifndef QKV_CORE_PRECISION_H_
#define QKV_CORE_PRECISION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qkv {

enum class Precision { kFp32, kBf16, kInt8 };

// "fp32", "bf16" or "int8".
const char* PrecisionName(Precision precision);

// Parses "fp32" | "bf16" | "int8" (exact, lower case). InvalidArgument naming the accepted values otherwise.
absl::StatusOr<Precision> ParsePrecision(absl::string_view name);

// Whether this CPU runs bf16 matmuls natively (oneDNN's effective ISA includes AVX512-BF16 or AMX). Honors
// ONEDNN_MAX_CPU_ISA. Thread-safe.
bool NativeBf16Supported();

// Whether this CPU has int8 dot-product instructions (AVX512-VNNI or AVX-VNNI). Without them int8 still runs,
// on slower kernels. Thread-safe.
bool NativeInt8DotSupported();

// oneDNN's name for the effective ISA, e.g. "avx512_core_bf16" (for logs and benchmark reports).
std::string EffectiveCpuIsaName();

}  // namespace qkv

#endif  // QKV_CORE_PRECISION_H_
