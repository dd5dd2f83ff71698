// Test helpers: write .safetensors files (valid or deliberately corrupt) and encode float16 / bfloat16.
#ifndef QKV_TESTS_CORE_SAFETENSORS_WRITER_H_
#define QKV_TESTS_CORE_SAFETENSORS_WRITER_H_

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace qkv {
namespace testing_util {

struct RawTensor {
  std::string name;
  std::string dtype;  // "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;
  std::string bytes;  // little-endian data
};

inline uint32_t FloatBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

// float -> binary16 for values exactly representable as normal halves (or zero); aborts otherwise, so a
// test can never write a rounded value and then compare against the unrounded one.
inline uint16_t FloatToHalfExact(float f) {
  const uint32_t bits = FloatBits(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  if ((bits & 0x7fffffffu) == 0) return sign;
  const int exponent = static_cast<int>((bits >> 23) & 0xffu) - 127 + 15;
  const uint32_t mantissa = bits & 0x7fffffu;
  if (exponent <= 0 || exponent >= 31 || (mantissa & 0x1fffu) != 0) std::abort();
  return static_cast<uint16_t>(sign | (exponent << 10) | (mantissa >> 13));
}

// float -> bfloat16 for values whose low 16 bits are zero; aborts otherwise.
inline uint16_t FloatToBFloat16Exact(float f) {
  const uint32_t bits = FloatBits(f);
  if ((bits & 0xffffu) != 0) std::abort();
  return static_cast<uint16_t>(bits >> 16);
}

inline std::string EncodeFloats(const std::vector<float>& values, const std::string& dtype) {
  std::string out;
  for (float v : values) {
    if (dtype == "F32") {
      const uint32_t bits = FloatBits(v);
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
    } else {
      const uint16_t bits = dtype == "F16" ? FloatToHalfExact(v) : FloatToBFloat16Exact(v);
      out.push_back(static_cast<char>(bits & 0xff));
      out.push_back(static_cast<char>(bits >> 8));
    }
  }
  return out;
}

inline std::string EncodeU16(const std::vector<uint16_t>& values) {
  std::string out;
  for (uint16_t v : values) {
    out.push_back(static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>(v >> 8));
  }
  return out;
}

// An 8-byte little-endian `header_length`, then `header`, then `data`.
inline std::string RawSafetensors(uint64_t header_length, const std::string& header,
                                  const std::string& data) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((header_length >> (8 * i)) & 0xff));
  return out + header + data;
}

inline std::string RawSafetensors(const std::string& header, const std::string& data) {
  return RawSafetensors(header.size(), header, data);
}

// A well-formed file: tensors laid out back to back in the given order, header space-padded to 8 bytes.
inline std::string SafetensorsBytes(const std::vector<RawTensor>& tensors) {
  nlohmann::json header = {{"__metadata__", {{"format", "pt"}}}};
  std::string data;
  for (const RawTensor& t : tensors) {
    header[t.name] = {{"dtype", t.dtype},
                      {"shape", t.shape},
                      {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return RawSafetensors(text, data);
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace testing_util
}  // namespace qkv

#endif  // QKV_TESTS_CORE_SAFETENSORS_WRITER_H_
