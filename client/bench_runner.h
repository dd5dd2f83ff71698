// RunBench: the load generator behind `qkv bench`. `concurrency` worker threads send Encode calls of `batch`
// random sequences of `seq_len` tokens each, either in a closed loop (each worker sends its next request when
// the previous one returns) or open loop at `rate` requests/s overall (sends are scheduled at start + i/rate;
// at most `concurrency` are in flight), until `requests` were sent or `duration` passed.
//
// Thread safety: RunBench blocks the caller; `progress` is called from the worker threads.
#ifndef QKV_CLIENT_BENCH_RUNNER_H_
#define QKV_CLIENT_BENCH_RUNNER_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/bench_report.h"
#include "client/encoder_client.h"

namespace qkv {

struct BenchOptions {
  int64_t concurrency = 1;
  int64_t requests = 0;  // > 0: stop after this many; 0: run for `duration`
  absl::Duration duration = absl::Seconds(10);
  int64_t seq_len = 32;        // tokens per sequence, [CLS] and [SEP] included
  int64_t batch = 1;           // sequences per request
  double rate = 0;             // requests/s; 0 = closed loop
  int64_t warmup = 0;          // requests sent first and not counted
  uint64_t seed = 1;           // for the random token ids
  bool token_vectors = false;  // ask for [T, D] token vectors too (bigger responses)

  // InvalidArgument naming the option when a value is out of range.
  absl::Status Validate() const;
};

// What the generator needs to know about the model (from GetModelInfo).
struct BenchModel {
  int32_t vocab_size = 0;
  int32_t cls = -1;  // placed first when >= 0
  int32_t sep = -1;  // placed last when >= 0
};

// Runs warm-up then the measured phase. `progress` (may be empty) gets the number of measured requests
// finished so far.
BenchResult RunBench(const EncoderClient& client, const BenchOptions& options, const BenchModel& model,
                     const std::function<void(int64_t finished)>& progress);

}  // namespace qkv

#endif  // QKV_CLIENT_BENCH_RUNNER_H_
