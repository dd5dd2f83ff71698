// PreparationPool: a fixed set of threads with a bounded queue, where requests are parsed, validated and
// tokenized, so that gRPC's callback threads only hand work over and stay free for Health, GetModelInfo
// and small requests whatever others send (--prep_threads, --max_prep_queue).
//
//   PreparationPool pool(/*threads=*/2, /*max_queued=*/256);
//   absl::Status s = pool.Submit(client, [...] { ParseValidateTokenizeAndSubmit(); });  // or RESOURCE_EXHAUSTED
//   pool.Shutdown();                                                                     // runs what is queued
//
// Tasks are taken round-robin between clients (ClientKey), first in first out within one client, so one
// client's backlog delays another's request by at most about one task per waiting client.
//
// Thread safety: every method is safe from any thread. A task may Submit more tasks.
#ifndef QKV_SERVER_PREP_POOL_H_
#define QKV_SERVER_PREP_POOL_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace qkv {

class PreparationPool {
 public:
  // Starts `threads` threads. REQUIRES: threads >= 1, max_queued >= 1.
  PreparationPool(int threads, int max_queued);
  // Shutdown().
  ~PreparationPool();
  PreparationPool(const PreparationPool&) = delete;
  PreparationPool& operator=(const PreparationPool&) = delete;

  // Queues `task` for `client`. RESOURCE_EXHAUSTED (naming --max_prep_queue) when max_queued tasks are
  // waiting, UNAVAILABLE after Shutdown(); `task` is then dropped without running.
  absl::Status Submit(const std::string& client, std::function<void()> task);

  // Stops accepting tasks, runs those queued, and joins the threads. Idempotent.
  void Shutdown();

  // Tasks waiting for a thread.
  int queued() const;

 private:
  struct ClientTasks {
    std::string key;
    std::deque<std::function<void()>> tasks;
  };

  void Loop();
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !ring_.empty() || stopping_; }

  const int max_queued_;
  mutable absl::Mutex mu_;
  // Clients with waiting tasks (node-based: ring_ points into it), and the same in round-robin order.
  std::unordered_map<std::string, ClientTasks> clients_ ABSL_GUARDED_BY(mu_);
  std::deque<ClientTasks*> ring_ ABSL_GUARDED_BY(mu_);
  int queued_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
  absl::Mutex join_mu_;  // serializes Shutdown's join
};

}  // namespace qkv

#endif  // QKV_SERVER_PREP_POOL_H_
