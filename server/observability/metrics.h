// ServerMetrics: qkv-server's Prometheus metrics (prometheus-cpp's registry and text serializer).
//
//   qkv_requests_total{method,code}               counter  answered requests (EncodeStream: per message)
//   qkv_request_duration_seconds{method}          histogram arrival -> answer
//   qkv_request_queue_seconds{method}             histogram queued before the last batch started (ran only)
//   qkv_request_compute_seconds{method}           histogram batch compute time (ran only)
//   qkv_input_tokens_total{method}                counter  tokens of the requests that ran
//   qkv_rejected_requests_total{reason}           counter  requests answered with an error without running;
//                                                         reason = the code in lower case, e.g.
//                                                         resource_exhausted, invalid_argument, unavailable
//   qkv_batch_sequences / qkv_batch_tokens         histogram per batch run by a worker
//   qkv_queue_tokens / qkv_queue_requests          gauge    queued and not started (read at scrape time)
//   qkv_inflight_requests{method}                 gauge    started, not yet answered
//   qkv_open_streams                              gauge    open EncodeStream calls
//   qkv_cancelled_streams_total                   counter  EncodeStream calls cancelled (client, deadline,
//                                                         or shutdown past the grace period)
//   qkv_http_requests_total{route,code}           counter  HTTP listener requests (code = HTTP status)
//   qkv_model_info{model,format,precision}        gauge    1 while a model is served
//   qkv_build_info{version}                       gauge    1
//   qkv_process_cpu_seconds_total                 counter  user + system CPU time (read at scrape time)
//   qkv_process_resident_memory_bytes             gauge    resident set size (read at scrape time)
//
// Thread safety: every method may be called from any thread at once.
#ifndef QKV_SERVER_OBSERVABILITY_METRICS_H_
#define QKV_SERVER_OBSERVABILITY_METRICS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/observability/call_observer.h"

namespace qkv {

// The scheduler's queue, as the gauges report it.
struct QueueDepth {
  int64_t tokens = 0;
  int64_t requests = 0;
};

class ServerMetrics {
 public:
  // The Prometheus text format's content type (version 0.0.4).
  static constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

  ServerMetrics();

  // Sets qkv_model_info (replacing an earlier model's series).
  void SetModel(const std::string& model, const std::string& format, const std::string& precision);
  // Where the queue gauges come from at each scrape; an empty function reads as an empty queue.
  void SetQueueSource(std::function<QueueDepth()> source);

  void CallStarted(absl::string_view method);
  void CallFinished(const CallRecord& record);
  void StreamOpened();
  void StreamClosed();
  void StreamCancelled();
  // One batch run by a worker.
  void BatchRan(int sequences, int64_t tokens);
  // One HTTP request answered by the listener: `route` is the registered pattern, never the raw path.
  void HttpAnswered(absl::string_view route, int http_status);

  // The exposition of every metric, after refreshing the queue and process figures.
  std::string Scrape();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Histogram>& queue_time_;
  prometheus::Family<prometheus::Histogram>& compute_time_;
  prometheus::Family<prometheus::Counter>& input_tokens_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Histogram& batch_sequences_;
  prometheus::Histogram& batch_tokens_;
  prometheus::Gauge& queue_tokens_;
  prometheus::Gauge& queue_requests_;
  prometheus::Family<prometheus::Gauge>& inflight_;
  prometheus::Gauge& open_streams_;
  prometheus::Counter& cancelled_streams_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Family<prometheus::Gauge>& model_info_;
  prometheus::Counter& cpu_seconds_;
  prometheus::Gauge& resident_bytes_;

  absl::Mutex mu_;  // serializes scrapes and guards the fields below
  std::function<QueueDepth()> queue_source_ ABSL_GUARDED_BY(mu_);
  prometheus::Gauge* model_series_ ABSL_GUARDED_BY(mu_) = nullptr;
  double cpu_reported_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace qkv

#endif  // QKV_SERVER_OBSERVABILITY_METRICS_H_
