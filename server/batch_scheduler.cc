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
  ClientQueue* client = nullptr;  // while the job has sequences queued
  int next = 0;                   // first sequence not yet taken into a batch
  int running_batches = 0;        // batches in flight holding some of this job's sequences
  uint64_t last_batch = 0;        // serial of the last batch that took one of its sequences
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
  auto found = clients_.find(owned->spec.client);
  const int64_t client_tokens = found == clients_.end() ? 0 : found->second.queued_tokens;
  const int64_t client_cap =
      static_cast<int64_t>(options_.max_client_queue_share * static_cast<double>(options_.max_queued_tokens));
  if (options_.max_client_queue_share < 1.0 && client_tokens + tokens > client_cap) {
    ++refused_jobs_;
    return absl::ResourceExhaustedError(absl::StrCat(
        "this client's share of the queue is full: ", client_tokens, " tokens queued + ", tokens,
        " requested > ", client_cap, " (--max_client_queue_share=", options_.max_client_queue_share,
        " of --max_queued_tokens=", options_.max_queued_tokens, "); retry with backoff"));
  }
  const JobId id = next_id_++;
  owned->id = id;
  owned->arrival = absl::Now();
  ClientQueue& client = clients_[owned->spec.client];
  if (client.jobs.empty()) {
    client.key = owned->spec.client;
    ring_.push_back(&client);
  }
  client.jobs.push_back(owned.get());
  client.queued_tokens += tokens;
  owned->client = &client;
  queued_tokens_ += tokens;
  queued_sequences_ += owned->size();
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
  int64_t jobs = 0;
  for (const ClientQueue* client : ring_) jobs += static_cast<int64_t>(client->jobs.size());
  return jobs;
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
  return (!collecting_ && !ring_.empty()) || (stopping_ && ring_.empty());
}

bool BatchScheduler::BatchFullOrStopping() const {
  return stopping_ || ring_.empty() || queued_tokens_ >= options_.max_batch_tokens ||
         queued_sequences_ >= options_.max_batch_sequences;
}

absl::Time BatchScheduler::OldestArrivalLocked() const {
  absl::Time oldest = absl::InfiniteFuture();
  for (const ClientQueue* client : ring_) oldest = std::min(oldest, client->jobs.front()->arrival);
  return oldest;
}

void BatchScheduler::ForgetClientIfIdleLocked(ClientQueue* client) {
  if (!client->jobs.empty()) return;
  auto it = std::find(ring_.begin(), ring_.end(), client);
  if (it != ring_.end()) ring_.erase(it);
  clients_.erase(client->key);  // deletes *client
}

void BatchScheduler::DropQueuedLocked(Job* job) {
  if (job->next >= job->size()) return;
  int64_t tokens = 0;
  for (int i = job->next; i < job->size(); ++i) tokens += job->tokens(i);
  queued_tokens_ -= tokens;
  queued_sequences_ -= job->size() - job->next;
  job->next = job->size();
  ClientQueue* client = job->client;
  job->client = nullptr;
  client->queued_tokens -= tokens;
  auto it = std::find(client->jobs.begin(), client->jobs.end(), job);
  if (it != client->jobs.end()) client->jobs.erase(it);
  ForgetClientIfIdleLocked(client);
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

void BatchScheduler::TakeSequenceLocked(Job* job) {
  ClientQueue* client = job->client;
  const int64_t t = job->tokens(job->next);
  queued_tokens_ -= t;
  client->queued_tokens -= t;
  --queued_sequences_;
  if (++job->next == job->size()) {
    client->jobs.pop_front();
    job->client = nullptr;
  }
}

std::vector<BatchScheduler::BatchItem> BatchScheduler::TakeBatchLocked(absl::Time now, std::vector<Job*>* jobs,
                                                                       std::vector<Finished>* finished) {
  std::vector<BatchItem> batch;
  jobs->clear();
  const uint64_t serial = ++batch_serial_;
  int64_t tokens = 0;
  while (!ring_.empty() && static_cast<int>(batch.size()) < options_.max_batch_sequences) {
    ClientQueue* client = ring_.front();
    Job* job = client->jobs.front();
    if (now >= job->spec.deadline) {
      if (job->status.ok()) job->status = absl::DeadlineExceededError("deadline exceeded while queued");
      DropQueuedLocked(job);  // may forget the client
      MaybeFinishLocked(job, finished);
      continue;
    }
    const int64_t t = job->tokens(job->next);
    if (!batch.empty() && tokens + t > options_.max_batch_tokens) break;  // the client keeps its turn
    if (job->last_batch != serial) {
      job->last_batch = serial;
      ++job->running_batches;
      job->result.queue_time = now - job->arrival;
      jobs->push_back(job);
    }
    batch.push_back(BatchItem{job, job->next});
    tokens += t;
    TakeSequenceLocked(job);
    // The client's turn is over: to the back of the ring, or out of it when it has nothing queued.
    ring_.pop_front();
    if (client->jobs.empty()) {
      clients_.erase(client->key);
    } else {
      ring_.push_back(client);
    }
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
    std::vector<Job*> batch_jobs;
    std::vector<Finished> finished;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &BatchScheduler::IdleWorkerMayProceed));
      if (ring_.empty()) return;  // stopping and drained
      collecting_ = true;
      // Wait for batch-mates until the batch is full or the oldest job has waited max_queue_delay.
      while (!BatchFullOrStopping()) {
        const absl::Time wait_until = OldestArrivalLocked() + options_.max_queue_delay;
        if (absl::Now() >= wait_until) break;
        mu_.AwaitWithDeadline(absl::Condition(this, &BatchScheduler::BatchFullOrStopping), wait_until);
      }
      batch = TakeBatchLocked(absl::Now(), &batch_jobs, &finished);
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
      for (Job* job : batch_jobs) {
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
