#include "server/observability/metrics.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "prometheus/text_serializer.h"
#include "qkv_version.h"
#include "server/observability/process_stats.h"

namespace qkv {
namespace {

// Seconds: 250 us .. 30 s.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return *buckets;
}

template <typename T>
prometheus::Family<T>& Register(prometheus::detail::Builder<T> builder, prometheus::Registry& registry,
                                const char* name, const char* help) {
  return builder.Name(name).Help(help).Register(registry);
}

prometheus::Histogram& Unlabelled(prometheus::Family<prometheus::Histogram>& family,
                                  prometheus::Histogram::BucketBoundaries buckets) {
  return family.Add({}, std::move(buckets));
}

}  // namespace

ServerMetrics::ServerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(Register(prometheus::BuildCounter(), *registry_, "qkv_requests_total",
                         "Requests answered, by method and gRPC code (EncodeStream: per message).")),
      duration_(Register(prometheus::BuildHistogram(), *registry_, "qkv_request_duration_seconds",
                         "Request latency from arrival to answer.")),
      queue_time_(Register(prometheus::BuildHistogram(), *registry_, "qkv_request_queue_seconds",
                           "Time a request that ran waited in the queue before its last batch started.")),
      compute_time_(Register(prometheus::BuildHistogram(), *registry_, "qkv_request_compute_seconds",
                             "Compute time of the batches a request ran in.")),
      input_tokens_(Register(prometheus::BuildCounter(), *registry_, "qkv_input_tokens_total",
                             "Tokens of the requests that ran.")),
      rejected_(Register(prometheus::BuildCounter(), *registry_, "qkv_rejected_requests_total",
                         "Requests answered with an error without running, by reason (the gRPC code).")),
      batch_sequences_(Unlabelled(Register(prometheus::BuildHistogram(), *registry_, "qkv_batch_sequences",
                                           "Sequences per batch run."),
                                  {1, 2, 4, 8, 16, 32, 64, 128, 256})),
      batch_tokens_(Unlabelled(
          Register(prometheus::BuildHistogram(), *registry_, "qkv_batch_tokens", "Tokens per batch run."),
          {16, 64, 256, 1024, 4096, 16384, 65536})),
      queue_tokens_(
          Register(prometheus::BuildGauge(), *registry_, "qkv_queue_tokens", "Tokens queued and not started.")
              .Add({})),
      queue_requests_(Register(prometheus::BuildGauge(), *registry_, "qkv_queue_requests",
                               "Requests with sequences queued and not started.")
                          .Add({})),
      inflight_(Register(prometheus::BuildGauge(), *registry_, "qkv_inflight_requests",
                         "Requests started and not yet answered.")),
      open_streams_(
          Register(prometheus::BuildGauge(), *registry_, "qkv_open_streams", "Open EncodeStream calls.")
              .Add({})),
      cancelled_streams_(Register(prometheus::BuildCounter(), *registry_, "qkv_cancelled_streams_total",
                                  "EncodeStream calls cancelled by the client, their deadline or a shutdown.")
                             .Add({})),
      http_requests_(Register(prometheus::BuildCounter(), *registry_, "qkv_http_requests_total",
                              "HTTP listener requests, by route and HTTP status.")),
      model_info_(
          Register(prometheus::BuildGauge(), *registry_, "qkv_model_info", "The served model (value 1).")),
      cpu_seconds_(Register(prometheus::BuildCounter(), *registry_, "qkv_process_cpu_seconds_total",
                            "User and system CPU time of the process.")
                       .Add({})),
      resident_bytes_(Register(prometheus::BuildGauge(), *registry_, "qkv_process_resident_memory_bytes",
                               "Resident memory of the process.")
                          .Add({})) {
  Register(prometheus::BuildGauge(), *registry_, "qkv_build_info", "The qkv-server release (value 1).")
      .Add({{"version", kQkvVersion}})
      .Set(1);
}

void ServerMetrics::SetModel(const std::string& model, const std::string& format,
                             const std::string& precision) {
  absl::MutexLock lock(&mu_);
  if (model_series_ != nullptr) model_info_.Remove(model_series_);
  model_series_ = &model_info_.Add({{"model", model}, {"format", format}, {"precision", precision}});
  model_series_->Set(1);
}

void ServerMetrics::SetQueueSource(std::function<QueueDepth()> source) {
  absl::MutexLock lock(&mu_);
  queue_source_ = std::move(source);
}

void ServerMetrics::CallStarted(absl::string_view method) {
  inflight_.Add({{"method", std::string(method)}}).Increment();
}

void ServerMetrics::CallFinished(const CallRecord& r) {
  inflight_.Add({{"method", r.method}}).Decrement();
  const std::string code = absl::StatusCodeToString(r.code);
  requests_.Add({{"method", r.method}, {"code", code}}).Increment();
  duration_.Add({{"method", r.method}}, LatencyBuckets()).Observe(absl::ToDoubleSeconds(r.total));
  if (r.computed) {
    queue_time_.Add({{"method", r.method}}, LatencyBuckets()).Observe(absl::ToDoubleSeconds(r.queue));
    compute_time_.Add({{"method", r.method}}, LatencyBuckets()).Observe(absl::ToDoubleSeconds(r.compute));
    input_tokens_.Add({{"method", r.method}}).Increment(static_cast<double>(r.tokens));
  } else if (r.code != absl::StatusCode::kOk) {
    rejected_.Add({{"reason", absl::AsciiStrToLower(code)}}).Increment();
  }
}

void ServerMetrics::StreamOpened() { open_streams_.Increment(); }

void ServerMetrics::StreamClosed() { open_streams_.Decrement(); }

void ServerMetrics::StreamCancelled() { cancelled_streams_.Increment(); }

void ServerMetrics::BatchRan(int sequences, int64_t tokens) {
  batch_sequences_.Observe(sequences);
  batch_tokens_.Observe(static_cast<double>(tokens));
}

void ServerMetrics::HttpAnswered(absl::string_view route, int http_status) {
  http_requests_.Add({{"route", std::string(route)}, {"code", std::to_string(http_status)}}).Increment();
}

std::string ServerMetrics::Scrape() {
  absl::MutexLock lock(&mu_);
  const QueueDepth depth = queue_source_ ? queue_source_() : QueueDepth{};
  queue_tokens_.Set(static_cast<double>(depth.tokens));
  queue_requests_.Set(static_cast<double>(depth.requests));
  if (absl::StatusOr<ProcessStats> stats = ReadProcessStats(); stats.ok()) {
    if (stats->cpu_seconds > cpu_reported_) {
      cpu_seconds_.Increment(stats->cpu_seconds - cpu_reported_);
      cpu_reported_ = stats->cpu_seconds;
    }
    resident_bytes_.Set(static_cast<double>(stats->resident_bytes));
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace qkv
