#include "core/quantize.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/base/config.h"

namespace qkv {
namespace {

// Blocks smaller than this many elements run on the calling thread alone.
constexpr int64_t kParallelMinElements = 1 << 16;

// ThreadSanitizer builds compile the default version only: TSan instruments the ifunc resolver that
// target_clones generates, and the dynamic linker runs that resolver while relocating the executable,
// before the TSan runtime is initialized (a segfault before main).
#ifdef ABSL_HAVE_THREAD_SANITIZER
#define QKV_MULTIVERSION
#else
#define QKV_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

// max |x[i]|. On the bit patterns: for finite floats, |x| orders like its bits with the sign cleared, and an
// integer max reduction vectorizes where a float one (NaN rules) does not.
QKV_MULTIVERSION float AbsMax(const float* x, int64_t n) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &x[i], sizeof(bits));
    m = std::max(m, bits & 0x7fffffffu);
  }
  float result;
  std::memcpy(&result, &m, sizeof(result));
  return result;
}

// q[i] = round_half_even(x[i] * inv), clamped to [-127, 127]. The 1.5 * 2^23 trick rounds exactly for
// |x * inv| < 2^22 (here |x * inv| <= 127 up to rounding); the clamp is on integers so that the loop has
// no float min/max (whose NaN rules keep GCC from vectorizing).
QKV_MULTIVERSION void QuantizeRow(const float* x, int64_t n, float inv, int8_t* q) {
  constexpr float kMagic = 12582912.f;  // 1.5 * 2^23
  for (int64_t i = 0; i < n; ++i) {
    const int32_t r = static_cast<int32_t>((x[i] * inv + kMagic) - kMagic);
    q[i] = static_cast<int8_t>(std::min(127, std::max(-127, r)));
  }
}

QKV_MULTIVERSION void ToBf16(const float* x, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &x[i], sizeof(bits));
    const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
    const uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
    out[i] = static_cast<uint16_t>(nan ? ((bits >> 16) | 0x40u) : (rounded >> 16));
  }
}

float ScaleFor(float abs_max) { return abs_max > 0.f ? abs_max / 127.f : 1.f; }

}  // namespace

void QuantizeRowsS8(const float* x, int64_t rows, int64_t cols, ActivationScaling scaling, int8_t* q,
                    float* scales) {
  const bool parallel = rows * cols >= kParallelMinElements && omp_get_max_threads() > 1;
  if (scaling == ActivationScaling::kPerTensor) {
    float abs_max = 0.f;
#pragma omp parallel for if (parallel) reduction(max : abs_max)
    for (int64_t r = 0; r < rows; ++r) abs_max = std::max(abs_max, AbsMax(x + r * cols, cols));
    std::fill(scales, scales + rows, ScaleFor(abs_max));
  } else {
#pragma omp parallel for if (parallel)
    for (int64_t r = 0; r < rows; ++r) scales[r] = ScaleFor(AbsMax(x + r * cols, cols));
  }
#pragma omp parallel for if (parallel)
  for (int64_t r = 0; r < rows; ++r) QuantizeRow(x + r * cols, cols, 1.f / scales[r], q + r * cols);
}

void ConvertToBf16(const float* x, int64_t n, uint16_t* out) {
  constexpr int64_t kBlock = 1 << 14;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  const bool parallel = n >= kParallelMinElements && omp_get_max_threads() > 1;
#pragma omp parallel for if (parallel)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t begin = b * kBlock;
    ToBf16(x + begin, std::min(kBlock, n - begin), out + begin);
  }
}

}  // namespace qkv
