#include "client/bench_runner.h"

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace qkv {
namespace {

constexpr int kRequestPool = 32;  // distinct pre-built requests, reused round-robin

std::vector<v1::EncodeRequest> BuildRequests(const BenchOptions& options, const BenchModel& model) {
  std::mt19937_64 rng(options.seed);
  // Ordinary vocabulary entries: skip the low ids, where BERT vocabularies keep [PAD], [unusedN] and
  // specials.
  const int32_t lo = model.vocab_size > 2000 ? 1000 : 0;
  std::uniform_int_distribution<int32_t> id(lo, model.vocab_size - 1);
  std::vector<v1::EncodeRequest> requests(kRequestPool);
  for (v1::EncodeRequest& r : requests) {
    r.mutable_options()->set_pooling(v1::POOLING_CLS);
    r.mutable_options()->set_return_token_vectors(options.token_vectors);
    for (int64_t b = 0; b < options.batch; ++b) {
      v1::TokenIds* ids = r.add_inputs()->mutable_ids();
      for (int64_t t = 0; t < options.seq_len; ++t) {
        int32_t v = id(rng);
        if (t == 0 && model.cls >= 0) v = model.cls;
        if (t == options.seq_len - 1 && model.sep >= 0 && options.seq_len > 1) v = model.sep;
        ids->add_ids(v);
      }
    }
  }
  return requests;
}

// Per-worker tallies, merged at the end.
struct WorkerStats {
  BenchResult result;
  absl::Time last_done = absl::InfinitePast();
};

void Record(const absl::Status& status, const v1::EncodeResponse& response, double latency_ms,
            int64_t sequences, WorkerStats* stats) {
  BenchResult& r = stats->result;
  ++r.sent;
  const std::string code = absl::StatusCodeToString(status.code());
  ++r.status_counts[code];
  if (!status.ok()) {
    ++r.failed;
    r.first_error.emplace(code, std::string(status.message()));
    return;
  }
  ++r.succeeded;
  r.latencies_ms.push_back(latency_ms);
  r.sequences += sequences;
  r.tokens += response.input_tokens();
  r.server_queue_ms_sum += response.timing().queue_us() / 1000.0;
  r.server_compute_ms_sum += response.timing().compute_us() / 1000.0;
  r.server_total_ms_sum += response.timing().total_us() / 1000.0;
  r.batch_sequences_sum += response.batch_sequences();
}

}  // namespace

absl::Status BenchOptions::Validate() const {
  if (concurrency < 1 || concurrency > 4096) {
    return absl::InvalidArgumentError(absl::StrCat("--concurrency must be in [1, 4096], got ", concurrency));
  }
  if (requests < 0) return absl::InvalidArgumentError("--requests must be >= 0");
  if (requests == 0 && duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--duration must be positive");
  }
  if (seq_len < 1) return absl::InvalidArgumentError("--seq-len must be >= 1");
  if (batch < 1) return absl::InvalidArgumentError("--batch must be >= 1");
  if (rate < 0) return absl::InvalidArgumentError("--rate must be >= 0");
  if (warmup < 0) return absl::InvalidArgumentError("--warmup must be >= 0");
  return absl::OkStatus();
}

BenchResult RunBench(const EncoderClient& client, const BenchOptions& options, const BenchModel& model,
                     const std::function<void(int64_t finished)>& progress) {
  const std::vector<v1::EncodeRequest> requests = BuildRequests(options, model);

  // Warm-up: sequential, not recorded.
  for (int64_t i = 0; i < options.warmup; ++i) {
    v1::EncodeResponse response;
    (void)client.Encode(requests[i % kRequestPool], &response);
  }

  std::atomic<int64_t> next_index{0};
  std::atomic<int64_t> finished{0};
  std::vector<WorkerStats> stats(options.concurrency);
  const absl::Time start = absl::Now();
  const absl::Time end = start + options.duration;
  const bool by_count = options.requests > 0;

  auto worker = [&](WorkerStats* s) {
    v1::EncodeResponse response;
    while (true) {
      const int64_t i = next_index.fetch_add(1);
      if (by_count && i >= options.requests) break;
      if (options.rate > 0) {
        const absl::Time scheduled = start + absl::Seconds(i / options.rate);
        if (!by_count && scheduled >= end) break;
        const absl::Duration wait = scheduled - absl::Now();
        if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
      } else if (!by_count && absl::Now() >= end) {
        break;
      }
      response.Clear();
      const absl::Time t0 = absl::Now();
      const absl::Status status = client.Encode(requests[i % kRequestPool], &response);
      const absl::Time t1 = absl::Now();
      Record(status, response, absl::ToDoubleMilliseconds(t1 - t0), options.batch, s);
      s->last_done = t1;
      const int64_t done = finished.fetch_add(1) + 1;
      if (progress) progress(done);
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(options.concurrency);
  for (int64_t w = 0; w < options.concurrency; ++w) threads.emplace_back(worker, &stats[w]);
  for (std::thread& t : threads) t.join();

  BenchResult total;
  absl::Time last_done = start;
  for (WorkerStats& s : stats) {
    BenchResult& r = s.result;
    total.sent += r.sent;
    total.succeeded += r.succeeded;
    total.failed += r.failed;
    total.latencies_ms.insert(total.latencies_ms.end(), r.latencies_ms.begin(), r.latencies_ms.end());
    for (const auto& [code, n] : r.status_counts) total.status_counts[code] += n;
    for (const auto& [code, message] : r.first_error) total.first_error.emplace(code, message);
    total.sequences += r.sequences;
    total.tokens += r.tokens;
    total.server_queue_ms_sum += r.server_queue_ms_sum;
    total.server_compute_ms_sum += r.server_compute_ms_sum;
    total.server_total_ms_sum += r.server_total_ms_sum;
    total.batch_sequences_sum += r.batch_sequences_sum;
    last_done = std::max(last_done, s.last_done);
  }
  total.elapsed_s = absl::ToDoubleSeconds(last_done - start);
  return total;
}

}  // namespace qkv
