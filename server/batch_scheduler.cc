#include "server/batch_scheduler.h"

#include <omp.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace qkv {

struct BatchScheduler::Job {
  JobId id = 0;
  EncodeJob spec;
  JobDone done;
  absl::Time arrival;
  int next = 0;             // first sequence not yet taken into a batch
  int running_batches = 0;  // batches in flight holding some of this job's sequences
  absl::Status status;      // the first error; OK while the job is healthy
  JobResult result;         // outputs sized to spec.sequences

  int size() const { return static_cast<int>(spec.sequences.size()); }
  int64_t tokens(int i) const { return static_cast<int64_t>(spec.sequences[i].token_ids.size()); }
};

BatchScheduler::BatchScheduler(const SchedulerOptions& options, const BatchRunner* runner)
    : options_(options), runner_(runner) {
  workers_.reserve(options_.workers);
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

BatchScheduler::~BatchScheduler() { Shutdown(); }

absl::StatusOr<JobId> BatchScheduler::Submit(EncodeJob job, JobDone done) {
  if (job.sequences.empty()) return absl::InvalidArgumentError("a job needs at least one sequence");
  int64_t tokens = 0;
  for (const SequenceInput& s : job.sequences) tokens += static_cast<int64_t>(s.token_ids.size());

  auto owned = std::make_unique<Job>();
  owned->spec = std::move(job);
  owned->done = std::move(done);
  owned->result.outputs.resize(owned->spec.sequences.size());

  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("the server is shutting down");
  if (queued_tokens_ + tokens > options_.max_queued_tokens) {
    ++refused_jobs_;
    return absl::ResourceExhaustedError(
        absl::StrCat("queue full: ", queued_tokens_, " tokens queued + ", tokens,
                     " requested > --max_queued_tokens=", options_.max_queued_tokens));
  }
  const JobId id = next_id_++;
  owned->id = id;
  owned->arrival = absl::Now();
  queued_tokens_ += tokens;
  queued_sequences_ += owned->size();
  queue_.push_back(owned.get());
  jobs_.emplace(id, std::move(owned));
  return id;
}

void BatchScheduler::Cancel(JobId id) {
  std::vector<Finished> finished;
  {
    absl::MutexLock lock(&mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    Job* job = it->second.get();
    if (job->status.ok()) {
      job->status = absl::Now() >= job->spec.deadline
                        ? absl::DeadlineExceededError("deadline exceeded while queued")
                        : absl::CancelledError("cancelled by the caller");
    }
    DropQueuedLocked(job);
    MaybeFinishLocked(job, &finished);
  }
  RunDone(&finished);
}

void BatchScheduler::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  absl::MutexLock join_lock(&join_mu_);
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
}

int64_t BatchScheduler::queued_tokens() const {
  absl::MutexLock lock(&mu_);
  return queued_tokens_;
}

int64_t BatchScheduler::queued_jobs() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(queue_.size());
}

int64_t BatchScheduler::pending_jobs() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(jobs_.size());
}

int64_t BatchScheduler::refused_jobs() const {
  absl::MutexLock lock(&mu_);
  return refused_jobs_;
}

bool BatchScheduler::IdleWorkerMayProceed() const {
  return (!collecting_ && !queue_.empty()) || (stopping_ && queue_.empty());
}

bool BatchScheduler::BatchFullOrStopping() const {
  return stopping_ || queue_.empty() || queued_tokens_ >= options_.max_batch_tokens ||
         queued_sequences_ >= options_.max_batch_sequences;
}

void BatchScheduler::DropQueuedLocked(Job* job) {
  if (job->next >= job->size()) return;
  for (int i = job->next; i < job->size(); ++i) queued_tokens_ -= job->tokens(i);
  queued_sequences_ -= job->size() - job->next;
  job->next = job->size();
  auto it = std::find(queue_.begin(), queue_.end(), job);
  if (it != queue_.end()) queue_.erase(it);
}

void BatchScheduler::MaybeFinishLocked(Job* job, std::vector<Finished>* finished) {
  if (job->next < job->size() || job->running_batches > 0) return;
  Finished f;
  f.done = std::move(job->done);
  if (job->status.ok()) {
    f.result = std::move(job->result);
  } else {
    f.result = job->status;
  }
  finished->push_back(std::move(f));
  jobs_.erase(job->id);  // deletes *job
}

void BatchScheduler::RunDone(std::vector<Finished>* finished) {
  for (Finished& f : *finished) f.done(std::move(f.result));
  finished->clear();
}

std::vector<BatchScheduler::BatchItem> BatchScheduler::TakeBatchLocked(absl::Time now,
                                                                       std::vector<Finished>* finished) {
  std::vector<BatchItem> batch;
  int64_t tokens = 0;
  while (!queue_.empty() && static_cast<int>(batch.size()) < options_.max_batch_sequences) {
    Job* job = queue_.front();
    if (now >= job->spec.deadline) {
      if (job->status.ok()) job->status = absl::DeadlineExceededError("deadline exceeded while queued");
      DropQueuedLocked(job);
      MaybeFinishLocked(job, finished);
      continue;
    }
    const int64_t t = job->tokens(job->next);
    if (!batch.empty() && tokens + t > options_.max_batch_tokens) break;
    if (batch.empty() || batch.back().job != job) {
      ++job->running_batches;
      job->result.queue_time = now - job->arrival;
    }
    batch.push_back(BatchItem{job, job->next});
    tokens += t;
    queued_tokens_ -= t;
    --queued_sequences_;
    if (++job->next == job->size()) queue_.pop_front();
  }
  return batch;
}

void BatchScheduler::WorkerLoop(int /*worker_index*/) {
  // OpenMP's thread count is per calling thread: this sets the team size of this worker's oneDNN calls.
  omp_set_num_threads(options_.threads_per_worker);
  std::unique_ptr<Workspace> workspace = runner_->NewWorkspace();
  std::vector<SequenceInput> inputs;
  std::vector<SequenceOutput> outputs;
  for (;;) {
    std::vector<BatchItem> batch;
    std::vector<Finished> finished;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &BatchScheduler::IdleWorkerMayProceed));
      if (queue_.empty()) return;  // stopping and drained
      collecting_ = true;
      // Wait for batch-mates until the batch is full or the oldest job has waited max_queue_delay.
      while (!BatchFullOrStopping()) {
        const absl::Time wait_until = queue_.front()->arrival + options_.max_queue_delay;
        if (absl::Now() >= wait_until) break;
        mu_.AwaitWithDeadline(absl::Condition(this, &BatchScheduler::BatchFullOrStopping), wait_until);
      }
      batch = TakeBatchLocked(absl::Now(), &finished);
      collecting_ = false;
    }
    RunDone(&finished);
    if (batch.empty()) continue;

    inputs.clear();
    int64_t batch_tokens = 0;
    for (const BatchItem& item : batch) {
      inputs.push_back(item.job->spec.sequences[item.sequence]);
      batch_tokens += item.job->tokens(item.sequence);
    }
    outputs.clear();
    const absl::Time start = absl::Now();
    absl::Status status = runner_->Run(inputs, workspace.get(), &outputs);
    const absl::Duration compute = absl::Now() - start;
    if (status.ok() && outputs.size() != inputs.size()) {
      status = absl::InternalError(
          absl::StrCat("the encoder returned ", outputs.size(), " outputs for ", inputs.size(), " inputs"));
    }
    if (status.ok() && options_.on_batch) options_.on_batch(static_cast<int>(batch.size()), batch_tokens);
    if (status.ok()) {
      // Each (job, sequence) slot belongs to this batch alone, and the job lives while running_batches > 0.
      for (size_t i = 0; i < batch.size(); ++i) {
        batch[i].job->result.outputs[batch[i].sequence] = std::move(outputs[i]);
      }
    }

    {
      absl::MutexLock lock(&mu_);
      for (size_t i = 0; i < batch.size(); ++i) {
        Job* job = batch[i].job;
        if (i + 1 < batch.size() && batch[i + 1].job == job) continue;  // once per job: at its last item
        --job->running_batches;
        job->result.compute_time += compute;
        job->result.batch_tokens += batch_tokens;
        job->result.batch_sequences += static_cast<int>(batch.size());
        ++job->result.batches;
        if (!status.ok() && job->status.ok()) {
          job->status = status;
          DropQueuedLocked(job);
        }
        MaybeFinishLocked(job, &finished);
      }
    }
    RunDone(&finished);
  }
}

}  // namespace qkv
