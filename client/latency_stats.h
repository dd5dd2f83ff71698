// Latency statistics for `qkv bench`: nearest-rank percentiles, mean / standard deviation and a
// log-spaced histogram with a text rendering. Pure functions; thread-safe.
#ifndef QKV_CLIENT_LATENCY_STATS_H_
#define QKV_CLIENT_LATENCY_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace qkv {

struct LatencySummary {
  int64_t count = 0;
  double min_ms = 0, mean_ms = 0, stddev_ms = 0;
  double p50_ms = 0, p90_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0;
};

// Nearest-rank percentile: the ceil(p/100 * n)-th smallest sample (the smallest for p = 0).
// REQUIRES: `sorted` is sorted ascending and non-empty; 0 <= p <= 100.
double Percentile(const std::vector<double>& sorted, double p);

// All zero for no samples. Percentiles are non-decreasing in p by construction, min <= p50, p99 <= max.
LatencySummary Summarize(std::vector<double> samples_ms);

struct HistogramBucket {
  double lower_ms = 0;  // inclusive
  double upper_ms = 0;  // exclusive (the last bucket includes its upper bound)
  int64_t count = 0;
};

// `num_buckets` buckets spaced geometrically between the smallest and the largest sample (one bucket when
// they are equal; empty for no samples). The counts sum to samples_ms.size().
std::vector<HistogramBucket> LatencyHistogram(const std::vector<double>& samples_ms, int num_buckets);

// One line per bucket: "  1.20 -   1.45 ms |#######        | 123".
std::string RenderHistogram(const std::vector<HistogramBucket>& buckets, int bar_width = 40);

}  // namespace qkv

#endif  // QKV_CLIENT_LATENCY_STATS_H_
