// Exact conversions from IEEE half (binary16) and bfloat16 bit patterns to float32, for weight loaders.
// Every half and bfloat16 value (subnormals, infinities, NaNs included) is exactly representable in float32.
#ifndef QKV_CORE_FLOAT16_H_
#define QKV_CORE_FLOAT16_H_

#include <cstdint>
#include <cstring>

namespace qkv {

inline float BitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// IEEE 754 binary16 -> float32.
inline float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return BitsToFloat(sign | 0x7f800000u | (mantissa << 13));  // inf / NaN
  if (exponent != 0) return BitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return BitsToFloat(sign);  // +-0
  // Subnormal: value = mantissa * 2^-24; normalize into a float32 normal.
  int e = -1;
  do {
    ++e;
    mantissa <<= 1;
  } while ((mantissa & 0x400u) == 0);
  return BitsToFloat(sign | static_cast<uint32_t>(112 - e) << 23 | ((mantissa & 0x3ffu) << 13));
}

// bfloat16 -> float32 (the upper 16 bits of a float32).
inline float BFloat16ToFloat(uint16_t b) { return BitsToFloat(static_cast<uint32_t>(b) << 16); }

}  // namespace qkv

#endif  // QKV_CORE_FLOAT16_H_
