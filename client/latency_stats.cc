#include "client/latency_stats.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace qkv {

double Percentile(const std::vector<double>& sorted, double p) {
  const size_t n = sorted.size();
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(n)));
  rank = std::clamp<size_t>(rank, 1, n);
  return sorted[rank - 1];
}

LatencySummary Summarize(std::vector<double> samples_ms) {
  LatencySummary s;
  if (samples_ms.empty()) return s;
  std::sort(samples_ms.begin(), samples_ms.end());
  s.count = static_cast<int64_t>(samples_ms.size());
  double sum = 0;
  for (double v : samples_ms) sum += v;
  s.mean_ms = sum / s.count;
  double sq = 0;
  for (double v : samples_ms) sq += (v - s.mean_ms) * (v - s.mean_ms);
  s.stddev_ms = s.count > 1 ? std::sqrt(sq / (s.count - 1)) : 0.0;
  s.min_ms = samples_ms.front();
  s.max_ms = samples_ms.back();
  s.p50_ms = Percentile(samples_ms, 50);
  s.p90_ms = Percentile(samples_ms, 90);
  s.p95_ms = Percentile(samples_ms, 95);
  s.p99_ms = Percentile(samples_ms, 99);
  return s;
}

std::vector<HistogramBucket> LatencyHistogram(const std::vector<double>& samples_ms, int num_buckets) {
  std::vector<HistogramBucket> buckets;
  if (samples_ms.empty() || num_buckets < 1) return buckets;
  const auto [min_it, max_it] = std::minmax_element(samples_ms.begin(), samples_ms.end());
  const double lo = std::max(*min_it, 1e-6);
  const double hi = std::max(*max_it, lo);
  if (hi <= lo * (1 + 1e-9)) {
    buckets.push_back({*min_it, *max_it, static_cast<int64_t>(samples_ms.size())});
    return buckets;
  }
  const double ratio = std::pow(hi / lo, 1.0 / num_buckets);
  buckets.resize(num_buckets);
  for (int i = 0; i < num_buckets; ++i) {
    buckets[i].lower_ms = i == 0 ? *min_it : lo * std::pow(ratio, i);
    buckets[i].upper_ms = i == num_buckets - 1 ? hi : lo * std::pow(ratio, i + 1);
  }
  for (double v : samples_ms) {
    int i = v <= lo ? 0 : static_cast<int>(std::floor(std::log(v / lo) / std::log(ratio)));
    i = std::clamp(i, 0, num_buckets - 1);
    // Guard against rounding at bucket edges.
    while (i > 0 && v < buckets[i].lower_ms) --i;
    while (i < num_buckets - 1 && v >= buckets[i].upper_ms) ++i;
    ++buckets[i].count;
  }
  return buckets;
}

std::string RenderHistogram(const std::vector<HistogramBucket>& buckets, int bar_width) {
  int64_t peak = 0;
  for (const HistogramBucket& b : buckets) peak = std::max(peak, b.count);
  std::string out;
  for (const HistogramBucket& b : buckets) {
    const int len =
        peak > 0 ? static_cast<int>(std::lround(static_cast<double>(b.count) * bar_width / peak)) : 0;
    absl::StrAppendFormat(&out, "  %9.3f - %9.3f ms |%s%s| %d\n", b.lower_ms, b.upper_ms,
                          std::string(len, '#'), std::string(bar_width - len, ' '), b.count);
  }
  return out;
}

}  // namespace qkv
