// Service throughput at saturation vs the bare engine, same machine, same run.
//
//   build/<dir>/bench/qkv_service_bench [--model=DIR] [--seconds=5] [--rounds=3] [--concurrency=16]
//                                       [--workers=0] [--threads_per_worker=0] [--precision=fp32|bf16|int8]
//
// For each workload (sequences per request x tokens per sequence, what is returned):
//   bare     the Encoder alone: `workers` threads, each with its own Workspace and threads_per_worker OpenMP
//            threads, running the request-sized batch back to back (what the server's workers would do if
//            every request arrived alone and nothing else cost anything);
//   service  an in-process qkv-server on 127.0.0.1 (same workers/threads) driven over loopback gRPC by a
//            closed-loop client keeping `concurrency` Encode calls outstanding. The client runs on the same
//            CPUs, so its cost (serialization, HTTP/2) is charged to the service.
// Prints sequences/s for both (the least-squares slope of completed sequences over the measured time), the
// ratio service/bare, and the service's latency percentiles.
#include <grpcpp/grpcpp.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "qkv/v1/encoder.grpc.pb.h"
#include "server/server.h"

ABSL_FLAG(std::string, model, QKV_SOURCE_DIR "/models/bert-tiny-random", "model directory");
ABSL_FLAG(double, seconds, 5, "measured seconds per workload and mode");
ABSL_FLAG(int, rounds, 3,
          "bare and service are measured alternately this many times per workload; the medians are printed "
          "(alternating cancels slow drifts of a shared machine's speed)");
ABSL_FLAG(int, concurrency, 16, "outstanding Encode calls in the service mode");
ABSL_FLAG(int, workers, 0, "server workers (0 = the server's default for this machine)");
ABSL_FLAG(int, threads_per_worker, 0, "OpenMP threads per worker (0 = the server's default)");
ABSL_FLAG(std::string, precision, "fp32",
          "encoder precision, fp32|bf16|int8, for both modes (bf16 runs even where it is emulated)");

namespace qkv {
namespace {

struct Workload {
  const char* name;
  int sequences;
  int tokens;
  bool token_vectors;
};

std::vector<std::vector<int32_t>> MakeIds(const Workload& w) {
  std::vector<std::vector<int32_t>> ids(w.sequences, std::vector<int32_t>(w.tokens));
  for (int s = 0; s < w.sequences; ++s) {
    for (int t = 0; t < w.tokens; ++t) ids[s][t] = 1000 + (s * 7919 + t * 104729) % 28000;
    ids[s].front() = 101;
    ids[s].back() = 102;
  }
  return ids;
}

// Completions counted in a measurement: (seconds since the start, sequences completed so far).
using Progress = std::vector<std::pair<double, double>>;

// Sequences per second: the least-squares slope of completed sequences over time. Completions arrive in
// steps (a batch of 64 sequences ends at once), so a count over a fixed window is off by up to one step; the
// slope over every step is not.
double Rate(const Progress& p) {
  if (p.size() < 2) {
    std::fprintf(stderr, "fewer than 2 completions in a measurement; use a longer --seconds\n");
    std::exit(1);
  }
  double mean_t = 0, mean_n = 0;
  for (const auto& [t, n] : p) {
    mean_t += t;
    mean_n += n;
  }
  mean_t /= p.size();
  mean_n /= p.size();
  double cov = 0, var = 0;
  for (const auto& [t, n] : p) {
    cov += (t - mean_t) * (n - mean_n);
    var += (t - mean_t) * (t - mean_t);
  }
  return var > 0 ? cov / var : 0;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Sequences per second of the bare encoder.
double Bare(const ServedModel& model, const ServerConfig& config, const Workload& w,
            absl::Duration duration) {
  const std::vector<std::vector<int32_t>> ids = MakeIds(w);
  OutputSpec spec;
  spec.token_vectors = w.token_vectors;
  spec.pooling = model.default_pooling;
  std::vector<SequenceInput> inputs;
  for (const auto& seq : ids) inputs.push_back(SequenceInput{seq, {}, spec});
  absl::Mutex mu;
  Progress progress;
  bool measuring = false;
  absl::Time start;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < config.workers; ++i) {
    threads.emplace_back([&] {
      omp_set_num_threads(config.threads_per_worker);
      std::unique_ptr<Workspace> ws = model.encoder->NewWorkspace();
      std::vector<SequenceOutput> out;
      (void)model.encoder->Run(inputs, ws.get(), &out);  // warm-up
      while (!stop.load()) {
        if (!model.encoder->Run(inputs, ws.get(), &out).ok()) std::abort();
        absl::MutexLock lock(&mu);
        if (measuring) {
          const double done = progress.empty() ? w.sequences : progress.back().second + w.sequences;
          progress.emplace_back(absl::ToDoubleSeconds(absl::Now() - start), done);
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  {
    absl::MutexLock lock(&mu);
    measuring = true;
    start = absl::Now();
  }
  absl::SleepFor(duration);
  {
    absl::MutexLock lock(&mu);
    measuring = false;
  }
  stop = true;
  for (auto& t : threads) t.join();
  return Rate(progress);
}

struct ServiceResult {
  double sequences_per_second = 0;
  double p50_ms = 0, p99_ms = 0;
  double mean_batch_sequences = 0;
  int64_t errors = 0;
};

// Closed loop: `concurrency` calls outstanding; each completion issues the next.
class LoadClient {
 public:
  LoadClient(v1::EncoderService::Stub* stub, v1::EncodeRequest request, int concurrency)
      : stub_(stub), request_(std::move(request)), slots_(concurrency) {}

  ServiceResult Run(absl::Duration warmup, absl::Duration duration, int sequences_per_request) {
    for (Slot& s : slots_) Issue(&s);
    absl::SleepFor(warmup);
    {
      absl::MutexLock lock(&mu_);
      measuring_ = true;
      start_ = absl::Now();
      sequences_per_request_ = sequences_per_request;
    }
    absl::SleepFor(duration);
    ServiceResult r;
    {
      absl::MutexLock lock(&mu_);
      measuring_ = false;
      stopping_ = true;
      r.sequences_per_second = Rate(progress_);
      std::sort(latencies_ms_.begin(), latencies_ms_.end());
      if (!latencies_ms_.empty()) {
        r.p50_ms = latencies_ms_[latencies_ms_.size() / 2];
        r.p99_ms = latencies_ms_[std::min(latencies_ms_.size() - 1, latencies_ms_.size() * 99 / 100)];
      }
      r.mean_batch_sequences = completed_ > 0 ? static_cast<double>(batch_sequences_) / completed_ : 0;
      r.errors = errors_;
      auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return outstanding_ == 0; };
      mu_.Await(absl::Condition(&idle));
    }
    return r;
  }

 private:
  struct Slot {
    std::unique_ptr<grpc::ClientContext> context;
    v1::EncodeResponse response;
    absl::Time sent;
  };

  void Issue(Slot* s) {
    {
      absl::MutexLock lock(&mu_);
      ++outstanding_;
    }
    s->context = std::make_unique<grpc::ClientContext>();
    s->context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    s->response.Clear();
    s->sent = absl::Now();
    stub_->async()->Encode(s->context.get(), &request_, &s->response, [this, s](grpc::Status status) {
      bool again;
      {
        absl::MutexLock lock(&mu_);
        if (measuring_) {
          if (status.ok()) {
            ++completed_;
            progress_.emplace_back(absl::ToDoubleSeconds(absl::Now() - start_),
                                   static_cast<double>(completed_) * sequences_per_request_);
            batch_sequences_ += s->response.batch_sequences();
            latencies_ms_.push_back(absl::ToDoubleMilliseconds(absl::Now() - s->sent));
          } else {
            ++errors_;
          }
        }
        --outstanding_;
        again = !stopping_;
      }
      if (again) Issue(s);
    });
  }

  v1::EncoderService::Stub* stub_;
  const v1::EncodeRequest request_;
  std::vector<Slot> slots_;
  absl::Mutex mu_;
  bool measuring_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time start_ ABSL_GUARDED_BY(mu_);
  int sequences_per_request_ ABSL_GUARDED_BY(mu_) = 0;
  Progress progress_ ABSL_GUARDED_BY(mu_);
  int64_t completed_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t batch_sequences_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<double> latencies_ms_ ABSL_GUARDED_BY(mu_);
};

int Main() {
  ServerConfig config;
  config.model = absl::GetFlag(FLAGS_model);
  config.listen = "127.0.0.1:0";
  config.workers = absl::GetFlag(FLAGS_workers);
  config.threads_per_worker = absl::GetFlag(FLAGS_threads_per_worker);
  config.max_queued_tokens = 1 << 22;
  config.precision = absl::GetFlag(FLAGS_precision);
  config.allow_emulated_bf16 = true;
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(config);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  if (absl::Status s = (*server)->LoadModel(); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  const ServerConfig& resolved = (*server)->config();
  const ServedModel& model = *(*server)->model();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  auto stub = v1::EncoderService::NewStub(
      grpc::CreateCustomChannel((*server)->address(), grpc::InsecureChannelCredentials(), args));
  const absl::Duration duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  const int concurrency = absl::GetFlag(FLAGS_concurrency);

  std::printf(
      "model %s, precision %s, workers=%d threads_per_worker=%d, cpus=%d, concurrency=%d, %.1f s per "
      "measurement, %d rounds (medians)\n",
      model.name.c_str(), PrecisionName(model.precision), resolved.workers, resolved.threads_per_worker,
      AvailableCpus(), concurrency, absl::ToDoubleSeconds(duration),
      std::max(1, absl::GetFlag(FLAGS_rounds)));
  std::printf("%-28s %12s %12s %7s %9s %9s %11s\n", "workload", "bare seq/s", "service seq/s", "ratio",
              "p50 ms", "p99 ms", "batch seqs");
  const Workload workloads[] = {
      {"1 x 16 tokens, pooled", 1, 16, false},
      {"8 x 128 tokens, pooled", 8, 128, false},
      {"8 x 128 tokens, +vectors", 8, 128, true},
      {"32 x 64 tokens, pooled", 32, 64, false},
  };
  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  for (const Workload& w : workloads) {
    v1::EncodeRequest request;
    for (const auto& seq : MakeIds(w)) {
      v1::TokenIds* ids = request.add_inputs()->mutable_ids();
      ids->mutable_ids()->Assign(seq.begin(), seq.end());
    }
    request.mutable_options()->set_return_token_vectors(w.token_vectors);
    std::vector<double> bare, service, ratio;
    std::vector<ServiceResult> results;
    for (int round = 0; round < rounds; ++round) {
      bare.push_back(Bare(model, resolved, w, duration));
      LoadClient client(stub.get(), request, concurrency);
      results.push_back(client.Run(absl::Milliseconds(500), duration, w.sequences));
      service.push_back(results.back().sequences_per_second);
      ratio.push_back(service.back() / bare.back());
    }
    // The printed ratio is the median of the rounds' ratios; the round it comes from supplies the latencies.
    std::vector<int> order(rounds);
    for (int i = 0; i < rounds; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&ratio](int a, int b) { return ratio[a] < ratio[b]; });
    const ServiceResult& r = results[order[rounds / 2]];
    int64_t errors = 0;
    for (const ServiceResult& x : results) errors += x.errors;
    std::printf(
        "%-28s %12.0f %12.0f %7.2f %9.2f %9.2f %11.1f   ratio per round: %s%s\n", w.name, Median(bare),
        Median(service), Median(ratio), r.p50_ms, r.p99_ms, r.mean_batch_sequences,
        absl::StrJoin(ratio, " ", [](std::string* out, double x) { absl::StrAppendFormat(out, "%.2f", x); })
            .c_str(),
        errors ? absl::StrFormat("  (%d errors)", errors).c_str() : "");
    std::fflush(stdout);
  }
  (*server)->Shutdown();
  return 0;
}

}  // namespace
}  // namespace qkv

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return qkv::Main();
}
