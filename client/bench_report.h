// The result of a `qkv bench` run and its two renderings: a perf_analyzer-style text report and JSON for
// machines. Plain structs and pure functions (no gRPC types); thread-compatible.
#ifndef QKV_CLIENT_BENCH_REPORT_H_
#define QKV_CLIENT_BENCH_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qkv {

// What was asked for (echoed in the report).
struct BenchConfig {
  std::string target;
  std::string model;
  int64_t concurrency = 1;
  int64_t requests = 0;   // requests to send; 0 when the run is bounded by duration_s
  double duration_s = 0;  // run length; 0 when bounded by requests
  int64_t seq_len = 0;    // tokens per sequence
  int64_t batch = 1;      // sequences per request
  double rate = 0;        // target requests/s; 0 = closed loop (each worker sends when the last returns)
  int64_t warmup = 0;     // requests sent before measuring, not counted
};

// What happened. Every sent request ends in exactly one status: sent == succeeded + failed ==
// sum(status_counts).
struct BenchResult {
  int64_t sent = 0;
  int64_t succeeded = 0;
  int64_t failed = 0;
  double elapsed_s = 0;                            // first send to last response
  std::vector<double> latencies_ms;                // client-observed, successful requests only
  std::map<std::string, int64_t> status_counts;    // gRPC code name ("OK", "UNAVAILABLE", ...) -> requests
  std::map<std::string, std::string> first_error;  // code name -> the first message seen with it
  int64_t sequences = 0;                           // sequences in successful requests
  int64_t tokens = 0;                              // tokens in successful requests
  // Server-reported timing (EncodeResponse.timing), summed over the successful responses.
  double server_queue_ms_sum = 0;
  double server_compute_ms_sum = 0;
  double server_total_ms_sum = 0;
  double batch_sequences_sum = 0;  // sequences in the server batch each response ran in
};

// Derived numbers shared by both renderings.
struct BenchSummary {
  double throughput_rps = 0;  // successful requests / elapsed
  double sequences_per_s = 0;
  double tokens_per_s = 0;
  double avg_latency_ms = 0;
  double avg_client_ms = 0;  // client + network: latency - server total
  double avg_queue_ms = 0;
  double avg_compute_ms = 0;
  double avg_server_other_ms = 0;  // server total - queue - compute (tokenize, convert, serialize)
  double avg_batch_sequences = 0;
};
BenchSummary SummarizeBench(const BenchResult& result);

// Multi-line human report: configuration, counts, throughput, p50/p90/p95/p99/max, the latency split, a
// latency histogram and the status-code histogram.
std::string FormatBenchText(const BenchConfig& config, const BenchResult& result);

// One JSON object (newline-terminated): {"config": {...}, "requests": {"sent", "succeeded", "failed"},
// "status_codes": {"OK": n, ...}, "errors": {"CODE": "first message"}, "elapsed_s", "throughput": {...},
// "latency_ms": {"min", "mean", "stddev", "p50", "p90", "p95", "p99", "max"}, "split_ms": {"client",
// "queue", "compute", "server_other"}, "avg_batch_sequences"}.
std::string FormatBenchJson(const BenchConfig& config, const BenchResult& result);

}  // namespace qkv

#endif  // QKV_CLIENT_BENCH_REPORT_H_
