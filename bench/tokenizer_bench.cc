// qkv_tokenizer_bench: the WordPiece tokenizer of the bundled bert-tiny-random vocabulary (30522 tokens,
// uncased) on ordinary and adversarial text, and the byte-level BPE and Unigram fixtures
// (tests/data/tokenizers) on English and on multilingual text, Google Benchmark. Counters: tokens/s (word
// pieces out) and bytes/s (text in).
//
//   build/bench/qkv_tokenizer_bench [--benchmark_filter=...]
//
// Cases:
//   English          ordinary prose, no limit.
//   LongWords        1 MiB of 100-character words of random letters (the longest words WordPiece still
//                    splits; each needs ~50 pieces with no long vocabulary match): the longest-match cost.
//   Truncate512      16 MiB of such words with max_length 512: the early stop (cost bounded by the limit).
//   Bpe/..., Unigram/...  English and Multilingual (Latin with accents, Cyrillic, CJK, emoji), 1 MiB each;
//                    pass --benchmark_filter=English/1MiB or similar on trees without these fixtures.
// The benchmark uses only Encode(text, int max_length) and WordPieces(), so it also builds against older
// trees for before/after figures.
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

#include "benchmark/benchmark.h"
#include "core/tokenizer.h"

namespace qkv {
namespace {

const Tokenizer* Load(const char* dir) {
  absl::StatusOr<Tokenizer> t = Tokenizer::FromModelDirectory(dir);
  if (!t.ok()) {
    std::fprintf(stderr, "%s\n", std::string(t.status().message()).c_str());
    std::abort();
  }
  return new Tokenizer(*std::move(t));
}

const Tokenizer& BertTokenizer() {
  static const Tokenizer* const tokenizer = Load(QKV_SOURCE_DIR "/models/bert-tiny-random");
  return *tokenizer;
}

const Tokenizer& FixtureTokenizer(const std::string& name) {
  static const Tokenizer* const bpe = Load(QKV_SOURCE_DIR "/tests/data/tokenizers/roberta-bpe-tiny");
  static const Tokenizer* const unigram = Load(QKV_SOURCE_DIR "/tests/data/tokenizers/xlmr-unigram-tiny");
  return name == "bpe" ? *bpe : *unigram;
}

std::string Multilingual(size_t bytes) {
  const std::string sentence =
      "Café naïve résumé über straße. Привет мир, Москва. 中文的句子在这里，北京是中国的首都。 "
      "こんにちは世界 😀 👍🏽 Tiếng Việt có dấu. ";
  std::string text;
  while (text.size() < bytes) text += sentence;
  return text;
}

// `bytes` of space-separated words of `word_length` random lowercase letters (fixed seed).
std::string RandomWords(size_t bytes, int word_length) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> letter('a', 'z');
  std::string text;
  text.reserve(bytes + word_length + 1);
  while (text.size() < bytes) {
    for (int i = 0; i < word_length; ++i) text.push_back(static_cast<char>(letter(rng)));
    text.push_back(' ');
  }
  return text;
}

std::string English(size_t bytes) {
  const std::string sentence =
      "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be "
      "in want of a wife. However little known the feelings or views of such a man may be on his first "
      "entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families. ";
  std::string text;
  while (text.size() < bytes) text += sentence;
  return text;
}

void Report(benchmark::State& state, size_t bytes, size_t tokens) {
  state.counters["bytes/s"] =
      benchmark::Counter(static_cast<double>(bytes) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["tokens"] = static_cast<double>(tokens);
}

void BM_WordPieces(benchmark::State& state, const std::string& text) {
  const Tokenizer& tokenizer = BertTokenizer();
  size_t tokens = 0;
  for (auto _ : state) {
    auto pieces = tokenizer.WordPieces(text);
    if (!pieces.ok()) state.SkipWithError("tokenization failed");
    tokens = pieces.ok() ? pieces->size() : 0;
    benchmark::DoNotOptimize(pieces);
  }
  Report(state, text.size(), tokens);
}

void BM_Fixture(benchmark::State& state, const std::string& name, const std::string& text) {
  const Tokenizer& tokenizer = FixtureTokenizer(name);
  size_t tokens = 0;
  for (auto _ : state) {
    auto encoding = tokenizer.Encode(text);
    if (!encoding.ok()) state.SkipWithError("tokenization failed");
    tokens = encoding.ok() ? encoding->ids.size() : 0;
    benchmark::DoNotOptimize(encoding);
  }
  Report(state, text.size(), tokens);
}

void BM_Truncate(benchmark::State& state, const std::string& text, int max_length) {
  const Tokenizer& tokenizer = BertTokenizer();
  size_t tokens = 0;
  for (auto _ : state) {
    auto encoding = tokenizer.Encode(text, max_length);
    if (!encoding.ok()) state.SkipWithError("tokenization failed");
    tokens = encoding.ok() ? encoding->ids.size() : 0;
    benchmark::DoNotOptimize(encoding);
  }
  Report(state, text.size(), tokens);
}

}  // namespace
}  // namespace qkv

int main(int argc, char** argv) {
  static const std::string english = qkv::English(1 << 20);
  static const std::string long_words = qkv::RandomWords(1 << 20, 100);
  static const std::string huge = qkv::RandomWords(16 << 20, 100);
  benchmark::RegisterBenchmark("English/1MiB", qkv::BM_WordPieces, english)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("LongWords/1MiB", qkv::BM_WordPieces, long_words)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("Truncate512/16MiB", qkv::BM_Truncate, huge, 512)
      ->Unit(benchmark::kMillisecond);
  static const std::string multilingual = qkv::Multilingual(1 << 20);
  for (const char* name : {"bpe", "unigram"}) {
    const std::string label = std::string(name == std::string("bpe") ? "Bpe" : "Unigram");
    benchmark::RegisterBenchmark((label + "/English/1MiB").c_str(), qkv::BM_Fixture, name, english)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((label + "/Multilingual/1MiB").c_str(), qkv::BM_Fixture, name, multilingual)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
