// Latency statistics, histograms, the bench report (text and JSON) and the progress line.
#include "client/bench_report.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "client/latency_stats.h"
#include "client/progress.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace qkv {
namespace {

using ::testing::HasSubstr;

TEST(LatencyStatsTest, NearestRankPercentilesOnOneToHundred) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);  // unsorted input
  const LatencySummary s = Summarize(v);
  EXPECT_EQ(s.count, 100);
  EXPECT_EQ(s.min_ms, 1);
  EXPECT_EQ(s.p50_ms, 50);
  EXPECT_EQ(s.p90_ms, 90);
  EXPECT_EQ(s.p95_ms, 95);
  EXPECT_EQ(s.p99_ms, 99);
  EXPECT_EQ(s.max_ms, 100);
  EXPECT_DOUBLE_EQ(s.mean_ms, 50.5);
  EXPECT_NEAR(s.stddev_ms, 29.0115, 1e-3);
}

TEST(LatencyStatsTest, SmallAndEmptySamples) {
  EXPECT_EQ(Summarize({}).count, 0);
  const LatencySummary one = Summarize({7.5});
  EXPECT_EQ(one.p50_ms, 7.5);
  EXPECT_EQ(one.p99_ms, 7.5);
  EXPECT_EQ(one.stddev_ms, 0);
  const std::vector<double> sorted = {1, 2, 3};
  EXPECT_EQ(Percentile(sorted, 0), 1);
  EXPECT_EQ(Percentile(sorted, 34), 2);
  EXPECT_EQ(Percentile(sorted, 100), 3);
}

TEST(LatencyStatsTest, PercentilesAreOrderedOnRandomData) {
  std::mt19937 rng(3);
  std::lognormal_distribution<double> dist(1.0, 0.8);
  for (int n : {2, 10, 101, 5000}) {
    std::vector<double> v(n);
    for (double& x : v) x = dist(rng);
    const LatencySummary s = Summarize(v);
    EXPECT_LE(s.min_ms, s.p50_ms);
    EXPECT_LE(s.p50_ms, s.p90_ms);
    EXPECT_LE(s.p90_ms, s.p95_ms);
    EXPECT_LE(s.p95_ms, s.p99_ms);
    EXPECT_LE(s.p99_ms, s.max_ms);
    EXPECT_EQ(s.max_ms, *std::max_element(v.begin(), v.end()));
  }
}

TEST(LatencyStatsTest, HistogramCountsEverySampleOnce) {
  std::mt19937 rng(5);
  std::exponential_distribution<double> dist(0.5);
  std::vector<double> v(1000);
  for (double& x : v) x = 0.1 + dist(rng);
  const std::vector<HistogramBucket> buckets = LatencyHistogram(v, 12);
  ASSERT_EQ(buckets.size(), 12u);
  int64_t total = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    total += buckets[i].count;
    EXPECT_LT(buckets[i].lower_ms, buckets[i].upper_ms);
    if (i > 0) {
      EXPECT_DOUBLE_EQ(buckets[i].lower_ms, buckets[i - 1].upper_ms);
    }
  }
  EXPECT_EQ(total, 1000);
  EXPECT_EQ(buckets.front().lower_ms, *std::min_element(v.begin(), v.end()));
  EXPECT_EQ(buckets.back().upper_ms, *std::max_element(v.begin(), v.end()));
  // Each sample lies in its bucket.
  for (double x : v) {
    int hits = 0;
    for (size_t i = 0; i < buckets.size(); ++i) {
      const bool last = i + 1 == buckets.size();
      hits += x >= buckets[i].lower_ms && (x < buckets[i].upper_ms || (last && x <= buckets[i].upper_ms));
    }
    EXPECT_EQ(hits, 1) << x;
  }
  const std::vector<HistogramBucket> same = LatencyHistogram({2, 2, 2}, 5);
  ASSERT_EQ(same.size(), 1u);
  EXPECT_EQ(same[0].count, 3);
  EXPECT_TRUE(LatencyHistogram({}, 5).empty());
  EXPECT_THAT(RenderHistogram(same, 10), HasSubstr("|##########| 3"));
}

BenchResult MakeResult() {
  BenchResult r;
  r.sent = 10;
  r.succeeded = 8;
  r.failed = 2;
  r.elapsed_s = 2.0;
  r.latencies_ms = {10, 11, 12, 13, 14, 15, 16, 40};
  r.status_counts = {{"OK", 8}, {"RESOURCE_EXHAUSTED", 2}};
  r.first_error = {{"RESOURCE_EXHAUSTED", "queue full: 4096 tokens"}};
  r.sequences = 16;
  r.tokens = 16 * 32;
  r.server_queue_ms_sum = 8 * 2.0;
  r.server_compute_ms_sum = 8 * 9.0;
  r.server_total_ms_sum = 8 * 12.0;
  r.batch_sequences_sum = 8 * 3.0;
  return r;
}

TEST(BenchReportTest, SummaryDerivesThroughputAndSplit) {
  const BenchSummary s = SummarizeBench(MakeResult());
  EXPECT_DOUBLE_EQ(s.throughput_rps, 4.0);
  EXPECT_DOUBLE_EQ(s.sequences_per_s, 8.0);
  EXPECT_DOUBLE_EQ(s.tokens_per_s, 256.0);
  EXPECT_DOUBLE_EQ(s.avg_latency_ms, 16.375);
  EXPECT_DOUBLE_EQ(s.avg_queue_ms, 2.0);
  EXPECT_DOUBLE_EQ(s.avg_compute_ms, 9.0);
  EXPECT_DOUBLE_EQ(s.avg_server_other_ms, 1.0);
  EXPECT_DOUBLE_EQ(s.avg_client_ms, 16.375 - 12.0);
  EXPECT_DOUBLE_EQ(s.avg_batch_sequences, 3.0);
}

TEST(BenchReportTest, JsonParsesAndAddsUp) {
  BenchConfig config;
  config.target = "127.0.0.1:1234";
  config.model = "tiny";
  config.concurrency = 4;
  config.requests = 10;
  config.seq_len = 32;
  config.batch = 2;
  const nlohmann::json j = nlohmann::json::parse(FormatBenchJson(config, MakeResult()));
  EXPECT_EQ(j["config"]["concurrency"], 4);
  EXPECT_EQ(j["config"]["model"], "tiny");
  EXPECT_EQ(j["requests"]["sent"], 10);
  EXPECT_EQ(j["requests"]["succeeded"].get<int>() + j["requests"]["failed"].get<int>(), 10);
  EXPECT_EQ(j["status_codes"]["OK"], 8);
  EXPECT_EQ(j["status_codes"]["RESOURCE_EXHAUSTED"], 2);
  EXPECT_EQ(j["errors"]["RESOURCE_EXHAUSTED"], "queue full: 4096 tokens");
  EXPECT_EQ(j["latency_ms"]["p50"], 13);
  EXPECT_EQ(j["latency_ms"]["max"], 40);
  EXPECT_LE(j["latency_ms"]["p90"].get<double>(), j["latency_ms"]["p99"].get<double>());
  EXPECT_DOUBLE_EQ(j["throughput"]["requests_per_s"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(j["split_ms"]["compute"].get<double>(), 9.0);
}

TEST(BenchReportTest, TextHasTheSections) {
  BenchConfig config;
  config.target = "t";
  config.model = "m";
  config.duration_s = 5;
  config.rate = 20;
  const std::string text = FormatBenchText(config, MakeResult());
  EXPECT_THAT(text, HasSubstr("Requests: 10 sent, 8 succeeded, 2 failed"));
  EXPECT_THAT(text, HasSubstr("Throughput: 4.00 req/s"));
  EXPECT_THAT(text, HasSubstr("p50 13.000"));
  EXPECT_THAT(text, HasSubstr("max 40.000"));
  EXPECT_THAT(text, HasSubstr("server queue 2.000 + compute 9.000"));
  EXPECT_THAT(text, HasSubstr("Rate: 20.0 req/s (open loop)"));
  EXPECT_THAT(text, HasSubstr("Latency histogram"));
  EXPECT_THAT(text, HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_THAT(text, HasSubstr("first RESOURCE_EXHAUSTED: queue full"));
}

TEST(ProgressTest, RenderShowsCountsPercentAndEta) {
  const std::string line = ProgressBar::Render(50, 200, "texts", absl::Seconds(5), 20);
  EXPECT_THAT(line, HasSubstr("[#####               ]"));
  EXPECT_THAT(line, HasSubstr("50/200 texts  25%"));
  EXPECT_THAT(line, HasSubstr("10.0/s"));
  EXPECT_THAT(line, HasSubstr("ETA 0:15"));
  EXPECT_THAT(ProgressBar::Render(7, 0, "requests", absl::Seconds(1), 20), HasSubstr("7 requests  7.0/s"));
}

TEST(ProgressTest, DisabledBarPrintsNothing) {
  std::ostringstream out;
  {
    ProgressBar bar(&out, 10, "x", /*enabled=*/false);
    bar.Update(5);
  }
  EXPECT_TRUE(out.str().empty());
  std::ostringstream tty;
  {
    ProgressBar bar(&tty, 10, "x", /*enabled=*/true);
    bar.Update(10);
  }
  EXPECT_THAT(tty.str(), HasSubstr("10/10"));
}

}  // namespace
}  // namespace qkv
