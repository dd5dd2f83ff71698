// Encoder throughput: batch 1/8/32 x sequence 16/128/512 (capped at the model's max positions), on the
// bundled models/bert-tiny-random and, when present, ../shared/models/minilm-l6-random (all-MiniLM-L6-v2
// shape). One Run() per iteration over a batch of equal-length sequences of random ids ([CLS] first, [SEP]
// last), returning token vectors and the pooler output, like the ONNX Runtime peer measurement in
// ../shared/notes/onnxruntime-peer.md.
//
//   build/<dir>/bench/qkv_encoder_bench [--benchmark_filter=minilm] [--benchmark_repetitions=3]
//
// Counters: seq/s, tokens/s and GFLOP/s (matmul FLOPs of projections, FFN, attention and pooler).
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/encoder.h"
#include "core/model_loader.h"

namespace qkv {
namespace {

struct BenchModel {
  std::string name;
  std::shared_ptr<const Encoder> encoder;
};

// FLOPs of one forward pass over `batch` sequences of length t.
double ForwardFlops(const ModelConfig& c, int64_t batch, int64_t t) {
  const double m = static_cast<double>(batch * t);
  const double d = static_cast<double>(c.hidden_size);
  const double f = static_cast<double>(c.intermediate_size);
  const double per_layer = 2 * m * d * (3 * d + d + 2 * f) + 4 * static_cast<double>(batch) * t * t * d;
  return per_layer * static_cast<double>(c.num_hidden_layers) + 2 * static_cast<double>(batch) * d * d;
}

void BM_Encode(benchmark::State& state, std::shared_ptr<const Encoder> encoder, int64_t batch, int64_t t) {
  const ModelConfig& config = encoder->config();
  std::mt19937 rng(42);
  const int32_t low = config.vocab_size > 2000 ? 1000 : 5;
  std::uniform_int_distribution<int32_t> dist(low, static_cast<int32_t>(config.vocab_size) - 1);
  std::vector<std::vector<int32_t>> ids(static_cast<size_t>(batch));
  std::vector<SequenceInput> inputs;
  OutputSpec spec;
  spec.token_vectors = true;
  spec.pooling = encoder->has_pooler() ? Pooling::kPooler : Pooling::kCls;
  for (auto& seq : ids) {
    seq.resize(static_cast<size_t>(t));
    for (int32_t& id : seq) id = dist(rng);
    seq.front() = config.vocab_size > 102 ? 101 : 1;
    seq.back() = config.vocab_size > 102 ? 102 : 2;
    inputs.push_back(SequenceInput{seq, {}, spec});
  }
  std::unique_ptr<Workspace> ws = encoder->NewWorkspace();
  std::vector<SequenceOutput> outputs;
  if (absl::Status warmup = encoder->Run(inputs, ws.get(), &outputs); !warmup.ok()) {
    state.SkipWithError(std::string(warmup.message()).c_str());
    return;
  }
  for (auto _ : state) {
    absl::Status status = encoder->Run(inputs, ws.get(), &outputs);
    benchmark::DoNotOptimize(outputs.data());
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      break;
    }
  }
  state.counters["seq/s"] =
      benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(batch * t), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(ForwardFlops(config, batch, t) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void RegisterModel(const std::string& name, const std::string& path) {
  absl::StatusOr<LoadedModel> model = LoadModel(path);
  if (!model.ok()) {
    std::fprintf(stderr, "skipping %s: %s\n", name.c_str(), std::string(model.status().message()).c_str());
    return;
  }
  const ModelConfig config = model->config;
  absl::StatusOr<std::unique_ptr<Encoder>> encoder = Encoder::Create(config, std::move(model->weights));
  if (!encoder.ok()) {
    std::fprintf(stderr, "skipping %s: %s\n", name.c_str(), std::string(encoder.status().message()).c_str());
    return;
  }
  std::shared_ptr<const Encoder> shared(std::move(*encoder));
  std::fprintf(stderr, "%s: %s (%s), L=%lld D=%lld H=%lld F=%lld\n", name.c_str(),
               model->weights_path.c_str(), model->format.c_str(),
               static_cast<long long>(config.num_hidden_layers), static_cast<long long>(config.hidden_size),
               static_cast<long long>(config.num_attention_heads),
               static_cast<long long>(config.intermediate_size));
  for (int64_t t : {16, 128, 512}) {
    if (t > config.max_position_embeddings) continue;
    for (int64_t batch : {1, 8, 32}) {
      benchmark::RegisterBenchmark(absl::StrCat("encode/", name, "/batch:", batch, "/seq:", t).c_str(),
                                   BM_Encode, shared, batch, t)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(1.0);
    }
  }
}

}  // namespace
}  // namespace qkv

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  qkv::RegisterModel("bert-tiny-random", QKV_SOURCE_DIR "/models/bert-tiny-random");
  qkv::RegisterModel("minilm-l6-random", QKV_SHARED_DIR "/models/minilm-l6-random");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
