// The architecture of the tiny models in the fuzz seed corpora (written by tests/fuzz/make_seeds.py, which
// uses the same numbers): the weight-file fuzzers check tensors against it, so mutated seeds reach the
// shape checks and the conversion code instead of failing at the first size comparison.
#ifndef QKV_TESTS_FUZZ_SEED_MODEL_H_
#define QKV_TESTS_FUZZ_SEED_MODEL_H_

#include <cstdio>
#include <cstdlib>

#include "absl/status/statusor.h"
#include "core/model_config.h"

namespace qkv {
namespace fuzz {

// V 10, D 4, H 2, F 6, P 8, 2 token types, 1 layer.
inline constexpr char kSeedConfigJson[] =
    R"({"model_type": "bert", "vocab_size": 10, "hidden_size": 4, "num_hidden_layers": 1,)"
    R"( "num_attention_heads": 2, "intermediate_size": 6, "max_position_embeddings": 8,)"
    R"( "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "pad_token_id": 0})";

inline ModelConfig SeedModelConfig() {
  absl::StatusOr<ModelConfig> config = ParseModelConfig(kSeedConfigJson, "seed config.json");
  if (!config.ok()) {
    std::fprintf(stderr, "seed config: %s\n", config.status().ToString().c_str());
    std::abort();
  }
  return *config;
}

}  // namespace fuzz
}  // namespace qkv

#endif  // QKV_TESTS_FUZZ_SEED_MODEL_H_
