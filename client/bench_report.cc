#include "client/bench_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/json_writer.h"
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
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("config");
  w.BeginObject();
  w.Key("target");
  w.String(config.target);
  w.Key("model");
  w.String(config.model);
  w.Key("concurrency");
  w.Int(config.concurrency);
  w.Key("requests");
  w.Int(config.requests);
  w.Key("duration_s");
  w.Double(config.duration_s);
  w.Key("seq_len");
  w.Int(config.seq_len);
  w.Key("batch");
  w.Int(config.batch);
  w.Key("rate");
  w.Double(config.rate);
  w.Key("warmup");
  w.Int(config.warmup);
  w.EndObject();
  w.Key("requests");
  w.BeginObject();
  w.Key("sent");
  w.Int(result.sent);
  w.Key("succeeded");
  w.Int(result.succeeded);
  w.Key("failed");
  w.Int(result.failed);
  w.EndObject();
  w.Key("status_codes");
  w.BeginObject();
  for (const auto& [code, count] : result.status_counts) {
    w.Key(code);
    w.Int(count);
  }
  w.EndObject();
  w.Key("errors");
  w.BeginObject();
  for (const auto& [code, message] : result.first_error) {
    w.Key(code);
    w.String(message);
  }
  w.EndObject();
  w.Key("elapsed_s");
  w.Double(result.elapsed_s);
  w.Key("throughput");
  w.BeginObject();
  w.Key("requests_per_s");
  w.Double(s.throughput_rps);
  w.Key("sequences_per_s");
  w.Double(s.sequences_per_s);
  w.Key("tokens_per_s");
  w.Double(s.tokens_per_s);
  w.EndObject();
  w.Key("latency_ms");
  w.BeginObject();
  w.Key("count");
  w.Int(lat.count);
  w.Key("min");
  w.Double(lat.min_ms);
  w.Key("mean");
  w.Double(lat.mean_ms);
  w.Key("stddev");
  w.Double(lat.stddev_ms);
  w.Key("p50");
  w.Double(lat.p50_ms);
  w.Key("p90");
  w.Double(lat.p90_ms);
  w.Key("p95");
  w.Double(lat.p95_ms);
  w.Key("p99");
  w.Double(lat.p99_ms);
  w.Key("max");
  w.Double(lat.max_ms);
  w.EndObject();
  w.Key("split_ms");
  w.BeginObject();
  w.Key("client");
  w.Double(s.avg_client_ms);
  w.Key("queue");
  w.Double(s.avg_queue_ms);
  w.Key("compute");
  w.Double(s.avg_compute_ms);
  w.Key("server_other");
  w.Double(s.avg_server_other_ms);
  w.EndObject();
  w.Key("avg_batch_sequences");
  w.Double(s.avg_batch_sequences);
  w.EndObject();
  out += "\n";
  return out;
}

}  // namespace qkv
