// Activation conversions for the low-precision matmuls (precision.h), done at run time on packed rows:
// fp32 -> s8 with one symmetric scale per row (token) or per block, and fp32 -> bf16.
//
// The loops are compiled for several ISAs and picked at run time by the CPU (GCC target_clones), so one
// binary runs everywhere. Each splits its rows across the calling thread's OpenMP team when the block is
// large enough to pay for waking it. Thread-safe (no state).
#ifndef QKV_CORE_QUANTIZE_H_
#define QKV_CORE_QUANTIZE_H_

#include <cstdint>

namespace qkv {

enum class ActivationScaling {
  kPerToken,   // one scale per row: max |x[r, :]| / 127
  kPerTensor,  // one scale for the whole block: max |x| / 127
};

// q[r, c] = round(x[r, c] / scale[r]) in [-127, 127], with scale[r] as `scaling` says; a row (or block) of
// zeros gets scale 1. Round to nearest even. x and q are row-major [rows, cols]; scales has `rows` entries.
// REQUIRES: x is finite.
void QuantizeRowsS8(const float* x, int64_t rows, int64_t cols, ActivationScaling scaling, int8_t* q,
                    float* scales);

// out[i] = bf16(x[i]) for i in [0, n), rounding to nearest even (NaN stays NaN).
void ConvertToBf16(const float* x, int64_t n, uint16_t* out);

}  // namespace qkv

#endif  // QKV_CORE_QUANTIZE_H_
