// libFuzzer target: config.json text through ParseModelConfig. Any bytes must give a Status; a config
// that parses must pass its own Validate() (ParseModelConfig promises a usable architecture).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "core/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<qkv::ModelConfig> config =
      qkv::ParseModelConfig(absl::string_view(reinterpret_cast<const char*>(data), size), "config.json");
  if (config.ok() && !config->Validate().ok()) std::abort();
  return 0;
}
