// BatchScheduler: a bounded queue of encode jobs and the worker threads that run them in batches.
//
//   BatchScheduler scheduler(options, &runner);      // starts options.workers threads
//   absl::StatusOr<JobId> id = scheduler.Submit(std::move(job), [](absl::StatusOr<JobResult> r) {...});
//   scheduler.Cancel(*id);                            // e.g. from ServerUnaryReactor::OnCancel
//   scheduler.Shutdown();                             // runs what is queued, then joins the workers
//
// The queue is measured in tokens (sum of T over queued sequences) and bounded by max_queued_tokens: a job
// that does not fit is refused at once with RESOURCE_EXHAUSTED. Fairness: each job names its client
// (EncodeJob::client); one client may hold at most max_client_queue_share of max_queued_tokens queued (more
// is refused the same way), and batches are formed round-robin between the clients with queued work, one
// sequence per client per turn (a client's own sequences keep their order). So a big job may be split
// across batches, small jobs share one, and one client's backlog does not delay another's request by more
// than about one batch. A worker that finds the queue below both
// limits waits for batch-mates until the oldest queued job is max_queue_delay old. A job whose deadline has
// passed when its turn comes, or that is cancelled while queued, is answered without running it.
//
// Inference runs only on the worker threads, each with its own Workspace from the runner; each worker sets
// omp_set_num_threads(threads_per_worker) for its oneDNN calls. A failing batch answers every job in it
// with the error.
//
// Thread safety: Submit, Cancel, Shutdown and the accessors may be called from any thread. `done` runs
// exactly once per accepted job, on a worker thread or on the thread that called Cancel, never while the
// scheduler's lock is held; it may call Submit or Cancel.
#ifndef QKV_SERVER_BATCH_SCHEDULER_H_
#define QKV_SERVER_BATCH_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/encoder.h"

namespace qkv {

// What the workers run: the Encoder in production (EncoderRunner), a fake in scheduler tests.
class BatchRunner {
 public:
  virtual ~BatchRunner() = default;
  // Called once on each worker thread before its first Run.
  virtual std::unique_ptr<Workspace> NewWorkspace() const = 0;
  // Same contract as Encoder::Run: fills one output per input, in order. Called from several workers at
  // once, each with its own workspace.
  virtual absl::Status Run(absl::Span<const SequenceInput> inputs, Workspace* workspace,
                           std::vector<SequenceOutput>* outputs) const = 0;
};

// Adapts an Encoder (not owned; must outlive the runner).
class EncoderRunner : public BatchRunner {
 public:
  explicit EncoderRunner(const Encoder* encoder) : encoder_(encoder) {}
  std::unique_ptr<Workspace> NewWorkspace() const override { return encoder_->NewWorkspace(); }
  absl::Status Run(absl::Span<const SequenceInput> inputs, Workspace* workspace,
                   std::vector<SequenceOutput>* outputs) const override {
    return encoder_->Run(inputs, workspace, outputs);
  }

 private:
  const Encoder* encoder_;
};

struct SchedulerOptions {
  int workers = 1;                                           // worker threads, >= 1
  int threads_per_worker = 1;                                // OpenMP threads per worker, >= 1
  int64_t max_batch_tokens = 8192;                           // token budget of one batch, >= 1
  int max_batch_sequences = 64;                              // sequences in one batch, >= 1
  absl::Duration max_queue_delay = absl::Microseconds(500);  // longest wait for batch-mates
  int64_t max_queued_tokens = 262144;                        // queue bound, >= 1
  // Observability hook: called on the worker thread, without the scheduler's lock, after each batch the
  // runner ran successfully, with its sequence and token counts. May be empty.
  std::function<void(int sequences, int64_t tokens)> on_batch;
  double max_client_queue_share = 1.0;                       // of max_queued_tokens per client, (0, 1]
};

// One unit of work: the sequences of one request.
struct EncodeJob {
  // The sequences, in order. Their spans point at memory the submitter keeps alive until `done` runs.
  std::vector<SequenceInput> sequences;
  // Past this time the job is answered DEADLINE_EXCEEDED instead of being started.
  absl::Time deadline = absl::InfiniteFuture();
  // Who asked (server/client_identity.h); the unit of the per-client share and of round-robin batching.
  std::string client;
};

struct JobResult {
  std::vector<SequenceOutput> outputs;  // one per EncodeJob::sequences entry, in order
  absl::Duration queue_time;            // submit -> the start of the job's last batch
  absl::Duration compute_time;          // sum over the job's batches of their Run() time
  int64_t batch_tokens = 0;             // tokens of the job's batches, other jobs' included (summed)
  int batch_sequences = 0;              // sequences of the job's batches, other jobs' included (summed)
  int batches = 0;                      // batches the job was split into
};

using JobId = uint64_t;
using JobDone = std::function<void(absl::StatusOr<JobResult>)>;

class BatchScheduler {
 public:
  // Starts the workers. `runner` is not owned and must outlive the scheduler.
  // REQUIRES: options valid (every count >= 1, max_queue_delay >= 0).
  BatchScheduler(const SchedulerOptions& options, const BatchRunner* runner);
  // Shutdown(), then joins.
  ~BatchScheduler();

  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Queues `job`. On success `done` will run exactly once with the outputs or an error (DEADLINE_EXCEEDED,
  // CANCELLED, or the runner's error). Errors here mean `done` never runs: INVALID_ARGUMENT for a job
  // without sequences, RESOURCE_EXHAUSTED when the queue has no room (the message names
  // --max_queued_tokens), UNAVAILABLE after Shutdown().
  absl::StatusOr<JobId> Submit(EncodeJob job, JobDone done);

  // Drops the job's sequences that have not started and answers it with CANCELLED (DEADLINE_EXCEEDED when
  // its deadline has passed) once its running batches, if any, have finished. No-op for a finished or
  // unknown id.
  void Cancel(JobId id);

  // Stops accepting jobs, lets the workers run everything already queued, and joins them. Idempotent.
  void Shutdown();

  // Tokens queued and not yet started.
  int64_t queued_tokens() const;
  // Jobs accepted and not yet answered.
  int64_t pending_jobs() const;
  // Jobs with sequences queued and not yet started.
  int64_t queued_jobs() const;
  // Jobs refused because the queue was full, since construction.
  int64_t refused_jobs() const;
  const SchedulerOptions& options() const { return options_; }

 private:
  struct Job;
  // One client's queued jobs, oldest first.
  struct ClientQueue {
    std::string key;
    std::deque<Job*> jobs;
    int64_t queued_tokens = 0;
  };
  struct BatchItem {
    Job* job;
    int sequence;  // index into job->spec.sequences
  };
  struct Finished {
    JobDone done;
    absl::StatusOr<JobResult> result;
  };

  void WorkerLoop(int worker_index);
  // Takes the next batch off the queue, round-robin between clients; `jobs` gets each job in the batch
  // once. Jobs found expired go to `finished`.
  std::vector<BatchItem> TakeBatchLocked(absl::Time now, std::vector<Job*>* jobs,
                                         std::vector<Finished>* finished) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes one queued sequence of `job` (its client's head) into the batch accounting.
  void TakeSequenceLocked(Job* job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes the client's queue once it has no job left.
  void ForgetClientIfIdleLocked(ClientQueue* client) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Arrival of the oldest queued job. REQUIRES: !ring_.empty().
  absl::Time OldestArrivalLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes the job's unstarted sequences from the queue accounting.
  void DropQueuedLocked(Job* job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves a job that has nothing queued or running into `finished` and forgets it.
  void MaybeFinishLocked(Job* job, std::vector<Finished>* finished) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void RunDone(std::vector<Finished>* finished);

  bool IdleWorkerMayProceed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool BatchFullOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SchedulerOptions options_;
  const BatchRunner* const runner_;

  mutable absl::Mutex mu_;
  // Clients with jobs that have sequences not yet started (owns the queues; node-based, so pointers stay
  // valid). A job leaves its client's queue when its last sequence is taken, it fails, or it is cancelled;
  // a client leaves when its queue is empty.
  std::unordered_map<std::string, ClientQueue> clients_ ABSL_GUARDED_BY(mu_);
  // The same clients in round-robin order: the front gives the next sequence.
  std::deque<ClientQueue*> ring_ ABSL_GUARDED_BY(mu_);
  uint64_t batch_serial_ ABSL_GUARDED_BY(mu_) = 0;
  // Every accepted, unanswered job, by id (owns the jobs).
  absl::flat_hash_map<JobId, std::unique_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  int64_t queued_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t queued_sequences_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t refused_jobs_ ABSL_GUARDED_BY(mu_) = 0;
  JobId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  // One worker at a time waits for batch-mates; the others wait for it to take its batch.
  bool collecting_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::vector<std::thread> workers_;
  absl::Mutex join_mu_;  // serializes Shutdown's join
};

}  // namespace qkv

#endif  // QKV_SERVER_BATCH_SCHEDULER_H_
