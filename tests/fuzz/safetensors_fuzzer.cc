// libFuzzer target: a .safetensors file (8-byte header length, JSON header, tensor table, data).
// Open() must return a Status for any bytes; when it succeeds, every entry must lie inside the file and
// Read() of every tensor must return a Status too. Then the same file goes through the BERT weight reader
// with a config matching the seed models (tests/fuzz/corpus/safetensors).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "core/model_config.h"
#include "core/safetensors.h"
#include "core/safetensors_model.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/seed_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      qkv::fuzz::WriteScratchFile("model.safetensors", {reinterpret_cast<const char*>(data), size});
  absl::StatusOr<std::unique_ptr<qkv::SafetensorsReader>> reader = qkv::SafetensorsReader::Open(path);
  if (reader.ok()) {
    for (const auto& [name, entry] : (*reader)->entries()) {
      // Open() promises that the data ranges lie inside the file.
      if (entry.begin > entry.end || entry.end > size) std::abort();
      absl::StatusOr<qkv::Tensor> tensor = (*reader)->Read(name);
      if (tensor.ok() && tensor->data.size() * entry.item_size != entry.end - entry.begin) std::abort();
    }
  }
  static const qkv::ModelConfig config = qkv::fuzz::SeedModelConfig();
  (void)qkv::ReadSafetensorsBertWeights(path, config);
  return 0;
}
