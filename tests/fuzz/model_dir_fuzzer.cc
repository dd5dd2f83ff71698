// libFuzzer target: whole model directories. Each input is a directory's files (config.json, vocab.txt,
// the weights, tokenizer_config.json, 1_Pooling/config.json, modules.json), each mutated freely, and
// loading it as qkv-server does at startup (LoadServedModel, then WarmUp: one forward pass) must return a
// Status, never abort or read out of bounds; what loads must be consistent (the config validates, the
// weights' shapes agree with it, the tokenizer encodes).
//
// Input: byte 0 bit 0 picks the weight format (0 model.safetensors, 1 model.onnx); the rest is six parts
// split by kPartSeparator, in the order above (weights third). An empty part means the file is absent.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/served_model.h"
#include "tests/fuzz/encoding_checks.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool onnx = data[0] & 1;
  const std::vector<std::string> parts = qkv::fuzz::SplitParts(data + 1, size - 1, 6);
  const char* const names[] = {"config.json", "vocab.txt", onnx ? "model.onnx" : "model.safetensors",
                               "tokenizer_config.json", "1_Pooling/config.json", "modules.json"};
  qkv::fuzz::ClearScratchDir();
  for (int i = 0; i < 6; ++i) {
    if (!parts[i].empty()) qkv::fuzz::WriteScratchFile(names[i], parts[i]);
  }
  absl::StatusOr<std::unique_ptr<qkv::ServedModel>> model =
      qkv::LoadServedModel(qkv::fuzz::ScratchDir(), /*max_batch_tokens=*/64);
  if (!model.ok()) return 0;
  using qkv::fuzz::Check;
  const qkv::ModelConfig& config = (*model)->config;
  Check(config.Validate().ok(), "a loaded config is valid");
  Check((*model)->encoder != nullptr, "a loaded model has an encoder");
  absl::StatusOr<qkv::Encoding> encoding = (*model)->tokenizer.Encode("the quick brown fox");
  Check(encoding.ok(), "a loaded tokenizer encodes ASCII");
  qkv::fuzz::CheckEncoding((*model)->tokenizer, *encoding, "the quick brown fox", "", false, 0);
  (void)qkv::WarmUp(**model);
  return 0;
}
