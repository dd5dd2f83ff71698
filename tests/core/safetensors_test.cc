// SafetensorsReader: exact dtype conversion and strict header validation on hand-written files.
#include "core/safetensors.h"

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/safetensors_writer.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;
using testing_util::EncodeFloats;
using testing_util::EncodeU16;
using testing_util::RawSafetensors;
using testing_util::RawTensor;
using testing_util::SafetensorsBytes;
using testing_util::WriteFile;

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "safetensors_test_" + name + ".safetensors";
}

TEST(SafetensorsReaderTest, ConvertsHalfAndBFloat16BitPatternsExactly) {
  const std::string path = TempPath("bits");
  // 1, -2, 65504 (max half), 2^-24 (smallest subnormal), 2^-14 (smallest normal), -0, +inf.
  const std::vector<uint16_t> half_bits = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x8000, 0x7c00};
  const std::vector<float> half_values = {1.0f,
                                          -2.0f,
                                          65504.0f,
                                          std::ldexp(1.0f, -24),
                                          std::ldexp(1.0f, -14),
                                          -0.0f,
                                          std::numeric_limits<float>::infinity()};
  // 1, 3.140625, -1e38-ish (0xfe96 -> -0x1.2cp+126), the smallest bf16 subnormal 2^-133.
  const std::vector<uint16_t> bf16_bits = {0x3f80, 0x4049, 0xfe96, 0x0001};
  const std::vector<float> bf16_values = {1.0f, 3.140625f, -std::ldexp(1.171875f, 126),
                                          std::ldexp(1.0f, -133)};
  WriteFile(path, SafetensorsBytes({
                      {"half", "F16", {7}, EncodeU16(half_bits)},
                      {"bf16", "BF16", {2, 2}, EncodeU16(bf16_bits)},
                      {"f32", "F32", {1, 3}, EncodeFloats({0.1f, -7.25f, 1e-30f}, "F32")},
                  }));
  absl::StatusOr<std::unique_ptr<SafetensorsReader>> reader = SafetensorsReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->entries().size(), 3u);

  absl::StatusOr<Tensor> half = (*reader)->Read("half");
  ASSERT_TRUE(half.ok()) << half.status();
  EXPECT_EQ(half->shape, std::vector<int64_t>({7}));
  ASSERT_EQ(half->data.size(), half_values.size());
  for (size_t i = 0; i < half_values.size(); ++i) {
    EXPECT_EQ(half->data[i], half_values[i]) << i;
    EXPECT_EQ(std::signbit(half->data[i]), std::signbit(half_values[i])) << i;
  }
  absl::StatusOr<Tensor> bf16 = (*reader)->Read("bf16");
  ASSERT_TRUE(bf16.ok()) << bf16.status();
  EXPECT_EQ(bf16->shape, std::vector<int64_t>({2, 2}));
  EXPECT_EQ(bf16->data, bf16_values);
  absl::StatusOr<Tensor> f32 = (*reader)->Read("f32");
  ASSERT_TRUE(f32.ok()) << f32.status();
  EXPECT_EQ(f32->data, std::vector<float>({0.1f, -7.25f, 1e-30f}));
}

TEST(SafetensorsReaderTest, SkipsMetadataAcceptsEmptyAndIntegerTensorsButReadsOnlyFloats) {
  const std::string path = TempPath("misc");
  WriteFile(path, SafetensorsBytes({
                      {"position_ids", "I64", {1, 2}, std::string(16, '\0')},
                      {"empty", "F32", {0, 5}, ""},
                      {"x", "F32", {2}, EncodeFloats({1.5f, 2.5f}, "F32")},
                  }));
  absl::StatusOr<std::unique_ptr<SafetensorsReader>> reader = SafetensorsReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->Find("__metadata__"), nullptr);
  ASSERT_NE((*reader)->Find("position_ids"), nullptr);
  EXPECT_EQ((*reader)->Find("position_ids")->item_size, 8);
  absl::StatusOr<Tensor> empty = (*reader)->Read("empty");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->data.empty());
  absl::StatusOr<Tensor> ids = (*reader)->Read("position_ids");
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(ids.status().message()), HasSubstr("position_ids"));
  absl::StatusOr<Tensor> missing = (*reader)->Read("nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(path));
}

TEST(SafetensorsReaderTest, RejectsMalformedHeaders) {
  struct Case {
    const char* name;
    std::string bytes;
    const char* message;  // expected substring (besides the path)
  };
  const std::string data(64, '\0');
  auto one = [&](const std::string& entry) { return RawSafetensors("{\"t\":" + entry + "}", data); };
  const std::vector<Case> cases = {
      {"empty_file", "", "shorter than the 8-byte"},
      {"seven_bytes", std::string(7, '\0'), "shorter than the 8-byte"},
      {"header_past_eof", RawSafetensors(1000, "{}", ""), "past the end of the file"},
      {"absurd_header", RawSafetensors(uint64_t{1} << 62, "{}", ""), "exceeds"},
      {"not_json", RawSafetensors("{\"t\": [", data), "not valid JSON"},
      {"not_object", RawSafetensors("[1, 2]", data), "not a JSON object"},
      {"entry_not_object", one("3"), "\"t\": entry is not a JSON object"},
      {"missing_dtype", one(R"({"shape":[2],"data_offsets":[0,8]})"), "\"t\": missing \"dtype\""},
      {"missing_shape", one(R"({"dtype":"F32","data_offsets":[0,8]})"), "\"t\": missing \"shape\""},
      {"missing_offsets", one(R"({"dtype":"F32","shape":[2]})"), "\"t\": missing \"data_offsets\""},
      {"unknown_dtype_past_end", one(R"({"dtype":"F17","shape":[2],"data_offsets":[60,68]})"),
       "run past the end"},
      {"negative_dim", one(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"),
       "not a non-negative integer"},
      {"fractional_dim", one(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})"), "not a non-negative"},
      {"overflowing_shape",
       one(R"({"dtype":"F32","shape":[4611686018427387904,4611686018427387904,16],"data_offsets":[0,8]})"),
       "larger than the file"},
      {"bytes_mismatch", one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"), "needs 12 bytes"},
      {"offsets_past_end", one(R"({"dtype":"F32","shape":[2],"data_offsets":[60,68]})"), "run past the end"},
      {"begin_after_end", one(R"({"dtype":"F32","shape":[2],"data_offsets":[16,8]})"), "begin 16 > end 8"},
      {"offsets_not_pair", one(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})"), "pair of non-negative"},
      {"overlap",
       RawSafetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                      R"("t":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                      data),
       "overlap tensor \"a\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = TempPath(c.name);
    WriteFile(path, c.bytes);
    absl::StatusOr<std::unique_ptr<SafetensorsReader>> reader = SafetensorsReader::Open(path);
    ASSERT_FALSE(reader.ok());
    EXPECT_EQ(reader.status().code(), absl::StatusCode::kInvalidArgument) << reader.status();
    EXPECT_THAT(std::string(reader.status().message()), HasSubstr(path));
    EXPECT_THAT(std::string(reader.status().message()), HasSubstr(c.message));
  }
}

// A dtype the reader does not know (a newer safetensors version's) does not stop the file from opening, so
// that an unused tensor of it cannot block a model; reading that tensor is Unimplemented, naming it.
TEST(SafetensorsReaderTest, UnknownDtypeOpensButIsNotRead) {
  const std::string path = TempPath("unknown_dtype");
  WriteFile(path, RawSafetensors(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("packed":{"dtype":"F4","shape":[6],"data_offsets":[8,11]}})",
                                 std::string(11, '\0')));
  absl::StatusOr<std::unique_ptr<SafetensorsReader>> reader = SafetensorsReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_TRUE((*reader)->Read("w").ok());
  absl::StatusOr<Tensor> packed = (*reader)->Read("packed");
  EXPECT_EQ(packed.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(packed.status().message()), HasSubstr("\"packed\" has unknown dtype F4"));

  // Packed sub-byte elements may outnumber the data bytes: 64 F4 elements in 32 of the 40 bytes.
  WriteFile(path, RawSafetensors(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("packed":{"dtype":"F4","shape":[8,8],"data_offsets":[8,40]}})",
                                 std::string(40, '\0')));
  reader = SafetensorsReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->Find("packed")->shape, (std::vector<int64_t>{8, 8}));
}

TEST(SafetensorsReaderTest, MissingFileIsNotFound) {
  absl::StatusOr<std::unique_ptr<SafetensorsReader>> reader =
      SafetensorsReader::Open(TempPath("does_not_exist"));
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace qkv
