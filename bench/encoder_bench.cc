// Encoder throughput: batch 1/8/32 x sequence 16/128/512 (capped at the model's max positions), on the
// bundled models/bert-tiny-random and, when present, ../shared/models/minilm-l6-random (all-MiniLM-L6-v2
// shape). One Run() per iteration over a batch of equal-length sequences of random ids ([CLS] first, [SEP]
// last), returning token vectors and the pooler output, like the ONNX Runtime peer measurement in
// ../shared/notes/onnxruntime-peer.md.
//
// Also, per model, the mixed-length serving case "mixed/<model>/batch:32/len:8-128": 32 sequences whose
// lengths are drawn uniformly from 8..128 by MixedLengths() below (the same generator as
// bench/ort_peer/ort_bench.js, so both engines get the same lengths), run ragged in one Run().
//
//   build/<dir>/bench/qkv_encoder_bench [--model=PATH [--model_name=NAME]] [--benchmark_filter=minilm]
//                                       [--benchmark_repetitions=3]
//
// --model=PATH benchmarks only that model (a directory or a .onnx/.safetensors file, as LoadModel takes);
// its name in benchmark names is NAME, else the model's directory name. Without it, the bundled models.
//
// Counters: seq/s, tokens/s and GFLOP/s (matmul FLOPs of projections, FFN, attention and pooler); tokens/s
// and GFLOP/s count real tokens only.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/encoder.h"
#include "core/model_loader.h"
#include "core/precision.h"

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

// `count` lengths drawn uniformly from lo..hi with a 31-bit LCG (glibc's constants). ort_bench.js computes
// the same sequence; change both together.
std::vector<int64_t> MixedLengths(int count, int64_t lo, int64_t hi, uint32_t seed) {
  std::vector<int64_t> lengths;
  for (int i = 0; i < count; ++i) {
    seed = (seed * 1103515245u + 12345u) & 0x7fffffffu;
    lengths.push_back(lo + static_cast<int64_t>((seed >> 8) % static_cast<uint32_t>(hi - lo + 1)));
  }
  return lengths;
}

// Random ids ([CLS] first, [SEP] last), one sequence per entry of `lengths`, asking for token vectors and
// the pooler output (or [CLS] without a pooler). `ids` owns the storage the returned inputs point into.
std::vector<SequenceInput> MakeInputs(const Encoder& encoder, const std::vector<int64_t>& lengths,
                                      std::vector<std::vector<int32_t>>* ids) {
  const ModelConfig& config = encoder.config();
  std::mt19937 rng(42);
  const int32_t low = config.vocab_size > 2000 ? 1000 : 5;
  std::uniform_int_distribution<int32_t> dist(low, static_cast<int32_t>(config.vocab_size) - 1);
  ids->assign(lengths.size(), {});
  std::vector<SequenceInput> inputs;
  OutputSpec spec;
  spec.token_vectors = true;
  spec.pooling = encoder.has_pooler() ? Pooling::kPooler : Pooling::kCls;
  for (size_t i = 0; i < lengths.size(); ++i) {
    std::vector<int32_t>& seq = (*ids)[i];
    seq.resize(static_cast<size_t>(lengths[i]));
    for (int32_t& id : seq) id = dist(rng);
    seq.front() = config.vocab_size > 102 ? 101 : 1;
    seq.back() = config.vocab_size > 102 ? 102 : 2;
    inputs.push_back(SequenceInput{seq, {}, spec});
  }
  return inputs;
}

// Times encoder.Run(inputs) and sets the seq/s, tokens/s and GFLOP/s counters.
void RunAndCount(benchmark::State& state, const Encoder& encoder, const std::vector<SequenceInput>& inputs) {
  const ModelConfig& config = encoder.config();
  int64_t tokens = 0;
  double flops = 0;
  for (const SequenceInput& input : inputs) {
    const int64_t t = static_cast<int64_t>(input.token_ids.size());
    tokens += t;
    flops += ForwardFlops(config, 1, t);
  }
  std::unique_ptr<Workspace> ws = encoder.NewWorkspace();
  std::vector<SequenceOutput> outputs;
  if (absl::Status warmup = encoder.Run(inputs, ws.get(), &outputs); !warmup.ok()) {
    state.SkipWithError(std::string(warmup.message()).c_str());
    return;
  }
  for (auto _ : state) {
    absl::Status status = encoder.Run(inputs, ws.get(), &outputs);
    benchmark::DoNotOptimize(outputs.data());
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      break;
    }
  }
  state.counters["seq/s"] =
      benchmark::Counter(static_cast<double>(inputs.size()), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Encode(benchmark::State& state, std::shared_ptr<const Encoder> encoder, int64_t batch, int64_t t) {
  std::vector<std::vector<int32_t>> ids;
  const std::vector<SequenceInput> inputs =
      MakeInputs(*encoder, std::vector<int64_t>(static_cast<size_t>(batch), t), &ids);
  RunAndCount(state, *encoder, inputs);
}

// The serving case: 32 sequences of lengths uniform in 8..128 (seed 42), ragged, in one Run().
void BM_MixedLengths(benchmark::State& state, std::shared_ptr<const Encoder> encoder) {
  const std::vector<int64_t> lengths = MixedLengths(32, 8, 128, 42);
  std::vector<std::vector<int32_t>> ids;
  const std::vector<SequenceInput> inputs = MakeInputs(*encoder, lengths, &ids);
  int64_t longest = 0, tokens = 0;
  for (int64_t t : lengths) {
    longest = std::max(longest, t);
    tokens += t;
  }
  RunAndCount(state, *encoder, inputs);
  state.counters["longest"] = static_cast<double>(longest);  // what a padded batch would pad to
  state.counters["tokens"] = static_cast<double>(tokens);
}

void RegisterModel(const std::string& name, const std::string& path, const EncoderOptions& options) {
  absl::StatusOr<LoadedModel> model = LoadModel(path);
  if (!model.ok()) {
    std::fprintf(stderr, "skipping %s: %s\n", name.c_str(), std::string(model.status().message()).c_str());
    return;
  }
  const ModelConfig config = model->config;
  absl::StatusOr<std::unique_ptr<Encoder>> encoder =
      Encoder::Create(config, std::move(model->weights), options);
  if (!encoder.ok()) {
    std::fprintf(stderr, "skipping %s: %s\n", name.c_str(), std::string(encoder.status().message()).c_str());
    return;
  }
  std::shared_ptr<const Encoder> shared(std::move(*encoder));
  std::fprintf(stderr, "%s: %s (%s, %s on %s), L=%lld D=%lld H=%lld F=%lld\n", name.c_str(),
               model->weights_path.c_str(), model->format.c_str(), PrecisionName(options.precision),
               EffectiveCpuIsaName().c_str(),
               static_cast<long long>(config.num_hidden_layers), static_cast<long long>(config.hidden_size),
               static_cast<long long>(config.num_attention_heads),
               static_cast<long long>(config.intermediate_size));
  for (int64_t t : {16, 128, 512}) {
    if (t > config.max_tokens()) continue;
    for (int64_t batch : {1, 8, 32}) {
      benchmark::RegisterBenchmark(absl::StrCat("encode/", name, "/batch:", batch, "/seq:", t).c_str(),
                                   BM_Encode, shared, batch, t)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(1.0);
    }
  }
  if (config.max_tokens() >= 128) {
    benchmark::RegisterBenchmark(absl::StrCat("mixed/", name, "/batch:32/len:8-128").c_str(), BM_MixedLengths,
                                 shared)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinTime(1.0);
  }
}

// The name a --model path is reported under: the directory name for a file path, else the last component.
std::string ModelName(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const auto ends_with = [&path](const char* suffix) {
    const size_t n = std::strlen(suffix);
    return path.size() >= n && path.compare(path.size() - n, n, suffix) == 0;
  };
  if (ends_with(".onnx") || ends_with(".safetensors")) {
    const size_t slash = path.rfind('/');
    path = slash == std::string::npos ? "." : path.substr(0, slash);
  }
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace
}  // namespace qkv

int main(int argc, char** argv) {
  // Takes out --model=PATH, --model_name=NAME, --precision=fp32|bf16|int8 (default fp32; bf16 runs even
  // where it is emulated, saying so) and --int8_scaling=per_token|per_tensor; the rest goes to Google
  // Benchmark.
  std::string model_path, model_name;
  qkv::EncoderOptions options;
  options.allow_emulated_bf16 = true;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--model=", 8) == 0) {
      model_path = argv[i] + 8;
    } else if (std::strncmp(argv[i], "--model_name=", 13) == 0) {
      model_name = argv[i] + 13;
    } else if (std::strncmp(argv[i], "--precision=", 12) == 0) {
      absl::StatusOr<qkv::Precision> precision = qkv::ParsePrecision(argv[i] + 12);
      if (!precision.ok()) {
        std::fprintf(stderr, "%s\n", std::string(precision.status().message()).c_str());
        return 2;
      }
      options.precision = *precision;
      if (options.precision == qkv::Precision::kBf16 && !qkv::NativeBf16Supported()) {
        std::fprintf(stderr, "note: bf16 is emulated on this CPU (%s)\n", qkv::EffectiveCpuIsaName().c_str());
      }
    } else if (std::strcmp(argv[i], "--int8_scaling=per_tensor") == 0) {
      options.int8_activation_scaling = qkv::ActivationScaling::kPerTensor;
    } else if (std::strcmp(argv[i], "--int8_scaling=per_token") == 0) {
      options.int8_activation_scaling = qkv::ActivationScaling::kPerToken;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!model_path.empty()) {
    qkv::RegisterModel(model_name.empty() ? qkv::ModelName(model_path) : model_name, model_path, options);
  } else {
    qkv::RegisterModel("bert-tiny-random", QKV_SOURCE_DIR "/models/bert-tiny-random", options);
    qkv::RegisterModel("minilm-l6-random", QKV_SHARED_DIR "/models/minilm-l6-random", options);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
