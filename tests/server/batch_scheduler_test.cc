// BatchScheduler with a fake runner: batching by token budget and sequence cap, the batch-mate delay, the
// bounded queue, per-client shares and round-robin batching, deadline drops, cancellation and failing
// batches. Synchronization is by notifications and
// gates, never by sleeping.
#include "server/batch_scheduler.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace qkv {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(30);  // only a safety net against hangs

// Records every batch (as the first token id of each sequence) and answers each sequence with
// last_hidden = {first id, T}. When gated, Run blocks until Open(); entered() counts the calls that began.
class FakeRunner : public BatchRunner {
 public:
  std::unique_ptr<Workspace> NewWorkspace() const override {
    workspaces_.fetch_add(1);
    return std::make_unique<Workspace>();
  }

  absl::Status Run(absl::Span<const SequenceInput> inputs, Workspace*,
                   std::vector<SequenceOutput>* outputs) const override {
    std::vector<int> firsts;
    for (const SequenceInput& in : inputs) firsts.push_back(in.token_ids[0]);
    {
      absl::MutexLock lock(&mu_);
      batches_.push_back(firsts);
      ++entered_;
      mu_.Await(absl::Condition(&open_));
      if (!fail_.ok()) return fail_;
    }
    outputs->resize(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      (*outputs)[i].num_tokens = static_cast<int64_t>(inputs[i].token_ids.size());
      (*outputs)[i].last_hidden = {static_cast<float>(inputs[i].token_ids[0]),
                                   static_cast<float>(inputs[i].token_ids.size())};
    }
    return absl::OkStatus();
  }

  void Close() {
    absl::MutexLock lock(&mu_);
    open_ = false;
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  void FailWith(absl::Status s) {
    absl::MutexLock lock(&mu_);
    fail_ = std::move(s);
  }
  // Blocks until `n` Run calls have begun.
  void AwaitEntered(int n) const {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return entered_ >= n; };
    ASSERT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&reached), kWait));
  }
  std::vector<std::vector<int>> batches() const {
    absl::MutexLock lock(&mu_);
    return batches_;
  }
  int workspaces() const { return workspaces_.load(); }

 private:
  mutable absl::Mutex mu_;
  mutable std::vector<std::vector<int>> batches_ ABSL_GUARDED_BY(mu_);
  mutable int entered_ ABSL_GUARDED_BY(mu_) = 0;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  absl::Status fail_ ABSL_GUARDED_BY(mu_);
  mutable std::atomic<int> workspaces_{0};
};

// Owns the token ids of one job (the job's spans point into it) and captures its answer.
class JobProbe {
 public:
  // A job whose sequence i has lengths[i] tokens, all equal to first_id + i.
  JobProbe(int first_id, std::vector<int> lengths, absl::Time deadline = absl::InfiniteFuture()) {
    for (size_t i = 0; i < lengths.size(); ++i) ids_.emplace_back(lengths[i], first_id + static_cast<int>(i));
    for (const auto& ids : ids_) job_.sequences.push_back(SequenceInput{ids, {}, OutputSpec{}});
    job_.deadline = deadline;
  }

  // Names the job's client (EncodeJob::client).
  JobProbe& From(const std::string& client) {
    job_.client = client;
    return *this;
  }

  absl::StatusOr<JobId> Submit(BatchScheduler* scheduler) {
    return scheduler->Submit(std::move(job_), [this](absl::StatusOr<JobResult> r) {
      result_ = std::move(r);
      done_.Notify();
    });
  }
  // Waits for the answer.
  const absl::StatusOr<JobResult>& Result() {
    EXPECT_TRUE(done_.WaitForNotificationWithTimeout(kWait));
    return result_;
  }
  bool answered() const { return done_.HasBeenNotified(); }

 private:
  std::vector<std::vector<int32_t>> ids_;
  EncodeJob job_;
  absl::StatusOr<JobResult> result_ = absl::UnknownError("not answered");
  absl::Notification done_;
};

SchedulerOptions Options(int64_t budget, int cap, absl::Duration delay, int64_t queue = 1000) {
  SchedulerOptions o;
  o.workers = 1;
  o.threads_per_worker = 1;
  o.max_batch_tokens = budget;
  o.max_batch_sequences = cap;
  o.max_queue_delay = delay;
  o.max_queued_tokens = queue;
  return o;
}

TEST(BatchSchedulerTest, AnswersEachSequenceInOrder) {
  FakeRunner runner;
  BatchScheduler scheduler(Options(100, 8, absl::ZeroDuration()), &runner);
  JobProbe job(10, {3, 5, 2});
  ASSERT_TRUE(job.Submit(&scheduler).ok());
  const absl::StatusOr<JobResult>& r = job.Result();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outputs.size(), 3u);
  EXPECT_THAT(r->outputs[0].last_hidden, ElementsAre(10.0f, 3.0f));
  EXPECT_THAT(r->outputs[1].last_hidden, ElementsAre(11.0f, 5.0f));
  EXPECT_THAT(r->outputs[2].last_hidden, ElementsAre(12.0f, 2.0f));
  EXPECT_EQ(r->batch_tokens, 10);
  EXPECT_EQ(r->batch_sequences, 3);
  EXPECT_EQ(r->batches, 1);
}

// With the worker held in a first batch, later jobs pile up; the next batch takes them in FIFO order up to
// the token budget, and a big job is split across batches.
TEST(BatchSchedulerTest, TokenBudgetSplitsBatches) {
  FakeRunner runner;
  runner.Close();
  BatchScheduler scheduler(Options(/*budget=*/10, /*cap=*/100, absl::ZeroDuration()), &runner);
  JobProbe first(1, {1});
  ASSERT_TRUE(first.Submit(&scheduler).ok());
  runner.AwaitEntered(1);  // the worker is inside Run with [1]

  JobProbe a(100, {4, 4});  // 8 tokens
  JobProbe b(200, {3, 6});  // 9 tokens: 200 joins a's batch (11 > 10? no: 8 + 3 = 11 > 10 -> next batch)
  JobProbe c(300, {2});
  ASSERT_TRUE(a.Submit(&scheduler).ok());
  ASSERT_TRUE(b.Submit(&scheduler).ok());
  ASSERT_TRUE(c.Submit(&scheduler).ok());
  EXPECT_EQ(scheduler.queued_tokens(), 19);
  runner.Open();

  ASSERT_TRUE(a.Result().ok());
  ASSERT_TRUE(b.Result().ok());
  ASSERT_TRUE(c.Result().ok());
  // [1] | [100, 101] (8) | [200, 201] (9; 300 would make 11) | [300]
  EXPECT_THAT(runner.batches(),
              ElementsAre(ElementsAre(1), ElementsAre(100, 101), ElementsAre(200, 201), ElementsAre(300)));
  EXPECT_EQ(a.Result()->batch_tokens, 8);
  EXPECT_EQ(scheduler.queued_tokens(), 0);
}

TEST(BatchSchedulerTest, SequenceCapSplitsBatches) {
  FakeRunner runner;
  runner.Close();
  BatchScheduler scheduler(Options(/*budget=*/1000, /*cap=*/2, absl::ZeroDuration()), &runner);
  JobProbe first(1, {1});
  ASSERT_TRUE(first.Submit(&scheduler).ok());
  runner.AwaitEntered(1);
  JobProbe big(100, {1, 1, 1, 1, 1});
  ASSERT_TRUE(big.Submit(&scheduler).ok());
  runner.Open();
  const absl::StatusOr<JobResult>& r = big.Result();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->batches, 3);
  EXPECT_THAT(runner.batches(),
              ElementsAre(ElementsAre(1), ElementsAre(100, 101), ElementsAre(102, 103), ElementsAre(104)));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(r->outputs[i].last_hidden[0], 100.0f + i);
}

// A sequence longer than the budget still runs, alone.
TEST(BatchSchedulerTest, OversizedSequenceRunsAlone) {
  FakeRunner runner;
  BatchScheduler scheduler(Options(/*budget=*/4, /*cap=*/8, absl::ZeroDuration()), &runner);
  JobProbe job(7, {9});
  ASSERT_TRUE(job.Submit(&scheduler).ok());
  ASSERT_TRUE(job.Result().ok());
  EXPECT_THAT(runner.batches(), ElementsAre(ElementsAre(7)));
}

// With a long max_queue_delay the worker waits for batch-mates until the budget is reached: the two jobs
// run together in one batch.
TEST(BatchSchedulerTest, WaitsForBatchMatesUntilBudgetIsFull) {
  FakeRunner runner;
  BatchScheduler scheduler(Options(/*budget=*/8, /*cap=*/100, absl::Hours(1)), &runner);
  JobProbe a(1, {3});
  JobProbe b(2, {5});
  ASSERT_TRUE(a.Submit(&scheduler).ok());
  ASSERT_TRUE(b.Submit(&scheduler).ok());  // 8 tokens: the budget is full, the batch starts
  ASSERT_TRUE(a.Result().ok());
  ASSERT_TRUE(b.Result().ok());
  EXPECT_THAT(runner.batches(), ElementsAre(ElementsAre(1, 2)));
  EXPECT_EQ(a.Result()->batch_sequences, 2);
}

TEST(BatchSchedulerTest, WaitsForBatchMatesUntilSequenceCapIsReached) {
  FakeRunner runner;
  BatchScheduler scheduler(Options(/*budget=*/1000, /*cap=*/3, absl::Hours(1)), &runner);
  JobProbe a(1, {2}), b(2, {2}), c(3, {2});
  ASSERT_TRUE(a.Submit(&scheduler).ok());
  ASSERT_TRUE(b.Submit(&scheduler).ok());
  ASSERT_TRUE(c.Submit(&scheduler).ok());
  ASSERT_TRUE(c.Result().ok());
  EXPECT_THAT(runner.batches(), ElementsAre(ElementsAre(1, 2, 3)));
}

// A lone job under the budget starts once it has waited max_queue_delay.
TEST(BatchSchedulerTest, LoneJobStartsAfterTheDelay) {
  FakeRunner runner;
  const absl::Duration delay = absl::Milliseconds(30);
  BatchScheduler scheduler(Options(/*budget=*/1000, /*cap=*/100, delay), &runner);
  JobProbe a(1, {3});
  ASSERT_TRUE(a.Submit(&scheduler).ok());
  const absl::StatusOr<JobResult>& r = a.Result();
  ASSERT_TRUE(r.ok());
  EXPECT_GE(r->queue_time, delay);
  EXPECT_THAT(runner.batches(), ElementsAre(ElementsAre(1)));
}

TEST(BatchSchedulerTest, FullQueueIsRefusedAtOnceNamingTheLimit) {
  FakeRunner runner;
  runner.Close();
  BatchScheduler scheduler(Options(/*budget=*/10, /*cap=*/100, absl::ZeroDuration(), /*queue=*/10), &runner);
  JobProbe first(1, {1});
  ASSERT_TRUE(first.Submit(&scheduler).ok());
  runner.AwaitEntered(1);  // `first` left the queue
  JobProbe a(100, {6});
  ASSERT_TRUE(a.Submit(&scheduler).ok());
  JobProbe b(200, {5});  // 6 + 5 > 10
  absl::StatusOr<JobId> refused = b.Submit(&scheduler);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(scheduler.refused_jobs(), 1);
  EXPECT_THAT(refused.status().message(), HasSubstr("--max_queued_tokens=10"));
  JobProbe c(300, {4});  // 6 + 4 fits exactly
  EXPECT_TRUE(c.Submit(&scheduler).ok());
  runner.Open();
  EXPECT_TRUE(a.Result().ok());
  EXPECT_TRUE(c.Result().ok());
  EXPECT_FALSE(b.answered());
}

TEST(BatchSchedulerTest, ExpiredJobIsDroppedWithoutCompute) {
  FakeRunner runner;
  runner.Close();
  BatchScheduler scheduler(Options(/*budget=*/100, /*cap=*/100, absl::ZeroDuration()), &runner);
  JobProbe first(1, {1});
  ASSERT_TRUE(first.Submit(&scheduler).ok());
  runner.AwaitEntered(1);
  JobProbe expired(100, {3}, /*deadline=*/absl::Now() - absl::Seconds(1));
  JobProbe live(200, {3});
  ASSERT_TRUE(expired.Submit(&scheduler).ok());
  ASSERT_TRUE(live.Submit(&scheduler).ok());
  runner.Open();
  EXPECT_EQ(expired.Result().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(live.Result().ok());
  EXPECT_THAT(runner.batches(), ElementsAre(ElementsAre(1), ElementsAre(200)));
}

TEST(BatchSchedulerTest, CancelledJobIsDroppedWithoutCompute) {
  FakeRunner runner;
  runner.Close();
  BatchScheduler scheduler(Options(/*budget=*/100, /*cap=*/100, absl::ZeroDuration()), &runner);
  JobProbe first(1, {1});
  ASSERT_TRUE(first.Submit(&scheduler).ok());
  runner.AwaitEntered(1);
  JobProbe cancelled(100, {3, 3});
  JobProbe live(200, {3});
  absl::StatusOr<JobId> id = cancelled.Submit(&scheduler);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(live.Submit(&scheduler).ok());
  scheduler.Cancel(*id);
  // Answered at once, while the worker is still blocked.
  EXPECT_EQ(cancelled.Result().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(scheduler.queued_tokens(), 3);
  scheduler.Cancel(*id);  // a second Cancel is a no-op
  runner.Open();
  EXPECT_TRUE(live.Result().ok());
  EXPECT_THAT(runner.batches(), ElementsAre(ElementsAre(1), ElementsAre(200)));
}

// Cancelling a running job answers it CANCELLED once its batch is over, and drops its queued rest.
TEST(BatchSchedulerTest, CancelWhileRunningAnswersAfterTheBatch) {
  FakeRunner runner;
  runner.Close();
  BatchScheduler scheduler(Options(/*budget=*/3, /*cap=*/100, absl::ZeroDuration()), &runner);
  JobProbe job(100, {3, 3});  // two batches
  absl::StatusOr<JobId> id = job.Submit(&scheduler);
  ASSERT_TRUE(id.ok());
  runner.AwaitEntered(1);
  scheduler.Cancel(*id);
  EXPECT_FALSE(job.answered());
  EXPECT_EQ(scheduler.queued_tokens(), 0);
  runner.Open();
  EXPECT_EQ(job.Result().status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(runner.batches(), ElementsAre(ElementsAre(100)));
}

TEST(BatchSchedulerTest, FailingBatchAnswersEachJobWithTheError) {
  FakeRunner runner;
  runner.Close();
  BatchScheduler scheduler(Options(/*budget=*/100, /*cap=*/100, absl::ZeroDuration()), &runner);
  JobProbe first(1, {1});
  ASSERT_TRUE(first.Submit(&scheduler).ok());
  runner.AwaitEntered(1);
  JobProbe a(100, {2}), b(200, {2, 2});
  ASSERT_TRUE(a.Submit(&scheduler).ok());
  ASSERT_TRUE(b.Submit(&scheduler).ok());
  runner.FailWith(absl::InternalError("kernel exploded"));
  runner.Open();
  for (JobProbe* p : {&first, &a, &b}) {
    EXPECT_EQ(p->Result().status().code(), absl::StatusCode::kInternal);
    EXPECT_THAT(p->Result().status().message(), HasSubstr("kernel exploded"));
  }
  // After the failure the scheduler keeps serving.
  runner.FailWith(absl::OkStatus());
  JobProbe after(300, {2});
  ASSERT_TRUE(after.Submit(&scheduler).ok());
  EXPECT_TRUE(after.Result().ok());
}

TEST(BatchSchedulerTest, EmptyJobIsInvalid) {
  FakeRunner runner;
  BatchScheduler scheduler(Options(100, 100, absl::ZeroDuration()), &runner);
  JobProbe empty(1, {});
  EXPECT_EQ(empty.Submit(&scheduler).status().code(), absl::StatusCode::kInvalidArgument);
}

// Shutdown runs what is queued, then refuses new work.
TEST(BatchSchedulerTest, ShutdownDrainsTheQueue) {
  FakeRunner runner;
  runner.Close();
  SchedulerOptions options = Options(/*budget=*/2, /*cap=*/100, absl::ZeroDuration());
  options.workers = 2;
  BatchScheduler scheduler(options, &runner);
  std::vector<std::unique_ptr<JobProbe>> jobs;
  for (int i = 0; i < 6; ++i) {
    jobs.push_back(std::make_unique<JobProbe>(10 * i + 1, std::vector<int>{2}));
    ASSERT_TRUE(jobs.back()->Submit(&scheduler).ok());
  }
  runner.AwaitEntered(2);  // both workers are busy
  absl::Notification shut;
  std::thread stopper([&] {
    scheduler.Shutdown();
    shut.Notify();
  });
  runner.Open();
  ASSERT_TRUE(shut.WaitForNotificationWithTimeout(kWait));
  stopper.join();
  for (auto& j : jobs) EXPECT_TRUE(j->Result().ok());
  JobProbe late(99, {1});
  EXPECT_EQ(late.Submit(&scheduler).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(runner.workspaces(), 2);
  EXPECT_EQ(scheduler.pending_jobs(), 0);
}

// Many submitters, several workers, some cancellations: every accepted job is answered exactly once, with
// its own outputs.
TEST(BatchSchedulerTest, ConcurrentSubmitAndCancelAnswerEveryJobOnce) {
  FakeRunner runner;
  SchedulerOptions options = Options(/*budget=*/16, /*cap=*/4, absl::Microseconds(200), /*queue=*/1 << 20);
  options.workers = 3;
  BatchScheduler scheduler(options, &runner);
  constexpr int kThreads = 4, kJobsPerThread = 100;
  std::atomic<int> answers{0}, ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::unique_ptr<JobProbe>> probes;
      for (int j = 0; j < kJobsPerThread; ++j) {
        const int first = 1000 * t + 10 * j;
        probes.push_back(std::make_unique<JobProbe>(first, std::vector<int>{1 + j % 5, 1 + j % 7, 3}));
        absl::StatusOr<JobId> id = probes.back()->Submit(&scheduler);
        ASSERT_TRUE(id.ok()) << id.status();
        if (j % 3 == 0) scheduler.Cancel(*id);
      }
      for (int j = 0; j < kJobsPerThread; ++j) {
        const absl::StatusOr<JobResult>& r = probes[j]->Result();
        answers.fetch_add(1);
        if (r.ok()) {
          ok.fetch_add(1);
          for (int s = 0; s < 3; ++s) EXPECT_EQ(r->outputs[s].last_hidden[0], 1000.0f * t + 10 * j + s);
        } else {
          EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
          EXPECT_EQ(j % 3, 0);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(answers.load(), kThreads * kJobsPerThread);
  EXPECT_GE(ok.load(), kThreads * (kJobsPerThread - (kJobsPerThread + 2) / 3));  // never-cancelled jobs
  EXPECT_EQ(scheduler.pending_jobs(), 0);
  EXPECT_EQ(scheduler.queued_tokens(), 0);
}

}  // namespace
}  // namespace qkv

namespace qkv {
namespace {

// Batches are formed round-robin between clients, one sequence per client per turn; a client's own
// sequences keep their order. Client "a" queued a 6-sequence job before "b" and "c" sent one each: b and c
// ride in the first batch instead of waiting behind all of a's.
TEST(BatchSchedulerTest, BatchesAreRoundRobinBetweenClients) {
  FakeRunner runner;
  runner.Close();
  BatchScheduler scheduler(Options(/*budget=*/1000, /*cap=*/4, absl::ZeroDuration()), &runner);
  JobProbe first(1, {1});
  ASSERT_TRUE(first.From("a").Submit(&scheduler).ok());
  runner.AwaitEntered(1);
  JobProbe a(100, {1, 1, 1, 1, 1, 1});
  JobProbe a2(200, {1});
  JobProbe b(300, {1});
  JobProbe c(400, {1, 1});
  ASSERT_TRUE(a.From("a").Submit(&scheduler).ok());
  ASSERT_TRUE(a2.From("a").Submit(&scheduler).ok());
  ASSERT_TRUE(b.From("b").Submit(&scheduler).ok());
  ASSERT_TRUE(c.From("c").Submit(&scheduler).ok());
  runner.Open();
  ASSERT_TRUE(a.Result().ok());
  ASSERT_TRUE(a2.Result().ok());
  ASSERT_TRUE(b.Result().ok());
  ASSERT_TRUE(c.Result().ok());
  EXPECT_THAT(runner.batches(), ElementsAre(ElementsAre(1), ElementsAre(100, 300, 400, 101),
                                            ElementsAre(401, 102, 103, 104), ElementsAre(105, 200)));
  EXPECT_EQ(b.Result()->batches, 1);
  EXPECT_EQ(c.Result()->batches, 2);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(a.Result()->outputs[i].last_hidden[0], 100.0f + i);
  EXPECT_EQ(scheduler.queued_tokens(), 0);
}

// One client may hold at most max_client_queue_share of the queue: its next job is refused naming the flag,
// while another client's job still fits; once its jobs ran it may queue again.
TEST(BatchSchedulerTest, OneClientGetsAtMostItsShareOfTheQueue) {
  FakeRunner runner;
  runner.Close();
  SchedulerOptions options = Options(/*budget=*/1000, /*cap=*/64, absl::ZeroDuration(), /*queue=*/100);
  options.max_client_queue_share = 0.5;
  BatchScheduler scheduler(options, &runner);
  JobProbe first(1, {1});
  ASSERT_TRUE(first.From("a").Submit(&scheduler).ok());
  runner.AwaitEntered(1);
  JobProbe a1(100, {30});
  JobProbe a2(200, {20});
  JobProbe a3(300, {1});
  JobProbe b(400, {40});
  ASSERT_TRUE(a1.From("a").Submit(&scheduler).ok());
  ASSERT_TRUE(a2.From("a").Submit(&scheduler).ok());  // 50 = the share
  absl::StatusOr<JobId> refused = a3.From("a").Submit(&scheduler);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().message(), HasSubstr("--max_client_queue_share=0.5"));
  ASSERT_TRUE(b.From("b").Submit(&scheduler).ok());
  EXPECT_EQ(scheduler.queued_tokens(), 90);
  EXPECT_EQ(scheduler.refused_jobs(), 1);
  runner.Open();
  ASSERT_TRUE(a1.Result().ok());
  ASSERT_TRUE(a2.Result().ok());
  ASSERT_TRUE(b.Result().ok());
  JobProbe again(500, {50});
  ASSERT_TRUE(again.From("a").Submit(&scheduler).ok());
  ASSERT_TRUE(again.Result().ok());
}

// Cancelling a queued job of one client leaves the other clients' turns intact.
TEST(BatchSchedulerTest, CancelRemovesAClientFromTheRotation) {
  FakeRunner runner;
  runner.Close();
  BatchScheduler scheduler(Options(/*budget=*/1000, /*cap=*/8, absl::ZeroDuration()), &runner);
  JobProbe first(1, {1});
  ASSERT_TRUE(first.From("a").Submit(&scheduler).ok());
  runner.AwaitEntered(1);
  JobProbe a(100, {1, 1});
  JobProbe b(200, {1, 1});
  absl::StatusOr<JobId> a_id = a.From("a").Submit(&scheduler);
  ASSERT_TRUE(a_id.ok());
  ASSERT_TRUE(b.From("b").Submit(&scheduler).ok());
  scheduler.Cancel(*a_id);
  EXPECT_EQ(a.Result().status().code(), absl::StatusCode::kCancelled);
  runner.Open();
  ASSERT_TRUE(b.Result().ok());
  EXPECT_THAT(runner.batches(), ElementsAre(ElementsAre(1), ElementsAre(200, 201)));
}

}  // namespace
}  // namespace qkv
