// libFuzzer target: an ONNX model file (onnx.ModelProto bytes) through ReadOnnxBertWeights, which parses
// the protobuf, names constant-folded MatMul weights from the graph and converts FLOAT / FLOAT16 / BFLOAT16
// / DOUBLE initializers. Any bytes must give a Status; the config matches the seed models.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/model_config.h"
#include "core/onnx_model.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/seed_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const qkv::ModelConfig config = qkv::fuzz::SeedModelConfig();
  const std::string path =
      qkv::fuzz::WriteScratchFile("model.onnx", {reinterpret_cast<const char*>(data), size});
  (void)qkv::ReadOnnxBertWeights(path, config);
  return 0;
}
