// Test helper: writes small ONNX models (the subset of onnx.proto a BERT weight reader looks at) in protobuf
// wire format, so tests can build graphs with any initializer storage without linking ONNX themselves.
#ifndef QKV_TESTS_CORE_ONNX_WRITER_H_
#define QKV_TESTS_CORE_ONNX_WRITER_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace qkv {
namespace testing_util {

// Protobuf wire-format building blocks.
class ProtoWriter {
 public:
  ProtoWriter& Varint(int field, uint64_t value) {
    Tag(field, 0);
    PutVarint(value);
    return *this;
  }
  ProtoWriter& Bytes(int field, const std::string& bytes) {
    Tag(field, 2);
    PutVarint(bytes.size());
    out_ += bytes;
    return *this;
  }
  ProtoWriter& Fixed32(int field, uint32_t value) {
    Tag(field, 5);
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    return *this;
  }
  const std::string& str() const { return out_; }

 private:
  void Tag(int field, int wire_type) { PutVarint(static_cast<uint64_t>(field) << 3 | wire_type); }
  void PutVarint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  std::string out_;
};

// onnx::TensorProto data types and storage.
enum class OnnxStorage { kRaw, kTyped, kExternal };
constexpr int kOnnxFloat = 1;
constexpr int kOnnxFloat16 = 10;

struct OnnxInitializer {
  std::string name;
  std::vector<int64_t> dims;
  int data_type = kOnnxFloat;
  OnnxStorage storage = OnnxStorage::kRaw;
  // kRaw: little-endian bytes. kTyped: FLOAT values as float bits, FLOAT16 values as uint16 bits (one per
  // element, as ONNX stores them in int32_data). kExternal: ignored.
  std::string raw;
  std::vector<uint32_t> typed;
};

struct OnnxAttribute {
  std::string name;
  int64_t i;
};

struct OnnxNode {
  std::string op_type;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<OnnxAttribute> attributes;  // INT attributes only
};

inline std::string OnnxModelBytes(const std::vector<OnnxNode>& nodes,
                                  const std::vector<OnnxInitializer>& inits) {
  ProtoWriter graph;
  for (const OnnxNode& node : nodes) {
    ProtoWriter n;
    for (const std::string& in : node.inputs) n.Bytes(1, in);
    for (const std::string& out : node.outputs) n.Bytes(2, out);
    n.Bytes(4, node.op_type);
    for (const OnnxAttribute& attr : node.attributes) {
      n.Bytes(5,
              ProtoWriter().Bytes(1, attr.name).Varint(3, static_cast<uint64_t>(attr.i)).Varint(20, 2).str());
    }
    graph.Bytes(1, n.str());
  }
  graph.Bytes(2, "test_graph");
  for (const OnnxInitializer& init : inits) {
    ProtoWriter t;
    for (int64_t d : init.dims) t.Varint(1, static_cast<uint64_t>(d));
    t.Varint(2, static_cast<uint64_t>(init.data_type));
    t.Bytes(8, init.name);
    if (init.storage == OnnxStorage::kRaw) {
      t.Bytes(9, init.raw);
    } else if (init.storage == OnnxStorage::kTyped) {
      for (uint32_t v : init.typed) {
        if (init.data_type == kOnnxFloat) {
          t.Fixed32(4, v);
        } else {
          t.Varint(5, v);
        }
      }
    } else {
      t.Bytes(13, ProtoWriter().Bytes(1, "location").Bytes(2, "weights.bin").str());
      t.Varint(14, 1);  // DataLocation EXTERNAL
    }
    graph.Bytes(5, t.str());
  }
  ProtoWriter model;
  model.Varint(1, 8);                                              // ir_version
  model.Bytes(8, ProtoWriter().Bytes(1, "").Varint(2, 14).str());  // opset_import
  model.Bytes(7, graph.str());
  return model.str();
}

}  // namespace testing_util
}  // namespace qkv

#endif  // QKV_TESTS_CORE_ONNX_WRITER_H_
