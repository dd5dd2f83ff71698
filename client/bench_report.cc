#include "client/bench_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/json_dump.h"
#include "client/latency_stats.h"

namespace qkv {

BenchSummary SummarizeBench(const BenchResult& result) {
  BenchSummary s;
  if (result.elapsed_s > 0) {
    s.throughput_rps = result.succeeded / result.elapsed_s;
    s.sequences_per_s = result.sequences / result.elapsed_s;
    s.tokens_per_s = result.tokens / result.elapsed_s;
  }
  if (result.succeeded > 0) {
    double sum = 0;
    for (double v : result.latencies_ms) sum += v;
    const double n = static_cast<double>(result.succeeded);
    s.avg_latency_ms = result.latencies_ms.empty() ? 0 : sum / result.latencies_ms.size();
    s.avg_queue_ms = result.server_queue_ms_sum / n;
    s.avg_compute_ms = result.server_compute_ms_sum / n;
    const double server_total = result.server_total_ms_sum / n;
    s.avg_server_other_ms = server_total - s.avg_queue_ms - s.avg_compute_ms;
    s.avg_client_ms = s.avg_latency_ms - server_total;
    s.avg_batch_sequences = result.batch_sequences_sum / n;
  }
  return s;
}

std::string FormatBenchText(const BenchConfig& config, const BenchResult& result) {
  const BenchSummary s = SummarizeBench(result);
  const LatencySummary lat = Summarize(result.latencies_ms);
  std::string out;
  absl::StrAppend(&out, "*** qkv bench ***\n");
  absl::StrAppend(&out, "  Target: ", config.target, "   Model: ", config.model, "\n");
  absl::StrAppendFormat(&out, "  Concurrency: %d   Batch: %d sequence(s) x %d tokens   ", config.concurrency,
                        config.batch, config.seq_len);
  if (config.rate > 0) {
    absl::StrAppendFormat(&out, "Rate: %.1f req/s (open loop)\n", config.rate);
  } else {
    absl::StrAppend(&out, "Rate: closed loop\n");
  }
  if (config.requests > 0) {
    absl::StrAppendFormat(&out, "  Stop after: %d requests", config.requests);
  } else {
    absl::StrAppendFormat(&out, "  Stop after: %.1f s", config.duration_s);
  }
  absl::StrAppendFormat(&out, "   Warm-up: %d requests (not counted)\n\n", config.warmup);

  absl::StrAppendFormat(&out, "Requests: %d sent, %d succeeded, %d failed in %.3f s\n", result.sent,
                        result.succeeded, result.failed, result.elapsed_s);
  absl::StrAppendFormat(&out, "Throughput: %.2f req/s, %.2f sequences/s, %.0f tokens/s\n", s.throughput_rps,
                        s.sequences_per_s, s.tokens_per_s);
  if (lat.count > 0) {
    absl::StrAppendFormat(&out,
                          "Latency (ms): min %.3f  mean %.3f  stddev %.3f\n"
                          "              p50 %.3f  p90 %.3f  p95 %.3f  p99 %.3f  max %.3f\n",
                          lat.min_ms, lat.mean_ms, lat.stddev_ms, lat.p50_ms, lat.p90_ms, lat.p95_ms,
                          lat.p99_ms, lat.max_ms);
    absl::StrAppendFormat(&out,
                          "Avg latency split (ms): %.3f = client/network %.3f + server queue %.3f + compute "
                          "%.3f + other server %.3f\n",
                          s.avg_latency_ms, s.avg_client_ms, s.avg_queue_ms, s.avg_compute_ms,
                          s.avg_server_other_ms);
    absl::StrAppendFormat(&out, "Avg server batch: %.2f sequences\n", s.avg_batch_sequences);
    absl::StrAppend(&out, "\nLatency histogram:\n",
                    RenderHistogram(LatencyHistogram(result.latencies_ms, 10)));
  }
  absl::StrAppend(&out, "\nStatus codes:\n");
  for (const auto& [code, count] : result.status_counts) {
    absl::StrAppendFormat(&out, "  %-20s %d\n", code, count);
  }
  for (const auto& [code, message] : result.first_error) {
    absl::StrAppend(&out, "  first ", code, ": ", message, "\n");
  }
  return out;
}

std::string FormatBenchJson(const BenchConfig& config, const BenchResult& result) {
  const BenchSummary s = SummarizeBench(result);
  const LatencySummary lat = Summarize(result.latencies_ms);
  const OrderedJson json = {
      {"config",
       {{"target", config.target},
        {"model", config.model},
        {"concurrency", config.concurrency},
        {"requests", config.requests},
        {"duration_s", config.duration_s},
        {"seq_len", config.seq_len},
        {"batch", config.batch},
        {"rate", config.rate},
        {"warmup", config.warmup}}},
      {"requests", {{"sent", result.sent}, {"succeeded", result.succeeded}, {"failed", result.failed}}},
      {"status_codes", OrderedJson(result.status_counts)},
      {"errors", OrderedJson(result.first_error)},
      {"elapsed_s", result.elapsed_s},
      {"throughput",
       {{"requests_per_s", s.throughput_rps},
        {"sequences_per_s", s.sequences_per_s},
        {"tokens_per_s", s.tokens_per_s}}},
      {"latency_ms",
       {{"count", lat.count},
        {"min", lat.min_ms},
        {"mean", lat.mean_ms},
        {"stddev", lat.stddev_ms},
        {"p50", lat.p50_ms},
        {"p90", lat.p90_ms},
        {"p95", lat.p95_ms},
        {"p99", lat.p99_ms},
        {"max", lat.max_ms}}},
      {"split_ms",
       {{"client", s.avg_client_ms},
        {"queue", s.avg_queue_ms},
        {"compute", s.avg_compute_ms},
        {"server_other", s.avg_server_other_ms}}},
      {"avg_batch_sequences", s.avg_batch_sequences},
  };
  return DumpJsonLine(json);
}

}  // namespace qkv
