#include "core/precision.h"

#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace qkv {
namespace {

// oneDNN's ISA values are bit supersets: an ISA includes another when it has all of the other's bits.
bool IsaIncludes(dnnl_cpu_isa_t isa, dnnl_cpu_isa_t feature) {
  return (static_cast<unsigned>(isa) & static_cast<unsigned>(feature)) == static_cast<unsigned>(feature);
}

constexpr std::pair<Precision, const char*> kPrecisionNames[] = {
    {Precision::kFp32, "fp32"}, {Precision::kBf16, "bf16"}, {Precision::kInt8, "int8"}};
static_assert(std::size(kPrecisionNames) == static_cast<size_t>(Precision::kInt8) + 1,
              "kPrecisionNames misses a Precision");

dnnl_cpu_isa_t EffectiveIsa() { return static_cast<dnnl_cpu_isa_t>(dnnl::get_effective_cpu_isa()); }

}  // namespace

const char* PrecisionName(Precision precision) {
  for (const auto& [p, name] : kPrecisionNames) {
    if (p == precision) return name;
  }
  return "fp32";
}

absl::StatusOr<Precision> ParsePrecision(absl::string_view name) {
  for (const auto& [p, p_name] : kPrecisionNames) {
    if (name == p_name) return p;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("precision \"", name, "\" is not one of fp32, bf16, int8"));
}

bool NativeBf16Supported() {
  const dnnl_cpu_isa_t isa = EffectiveIsa();
  return IsaIncludes(isa, dnnl_cpu_isa_avx512_core_bf16) || IsaIncludes(isa, dnnl_cpu_isa_avx512_core_amx);
}

bool NativeInt8DotSupported() {
  const dnnl_cpu_isa_t isa = EffectiveIsa();
  return IsaIncludes(isa, dnnl_cpu_isa_avx512_core_vnni) || IsaIncludes(isa, dnnl_cpu_isa_avx2_vnni);
}

std::string EffectiveCpuIsaName() {
  switch (EffectiveIsa()) {
    case dnnl_cpu_isa_sse41:
      return "sse41";
    case dnnl_cpu_isa_avx:
      return "avx";
    case dnnl_cpu_isa_avx2:
      return "avx2";
    case dnnl_cpu_isa_avx2_vnni:
      return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic:
    case dnnl_cpu_isa_avx512_mic_4ops:
      return "avx512_mic";
    case dnnl_cpu_isa_avx512_core:
      return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
      return "avx512_core_amx";
    default:
      return absl::StrCat("isa 0x", absl::Hex(static_cast<unsigned>(EffectiveIsa())));
  }
}

}  // namespace qkv
