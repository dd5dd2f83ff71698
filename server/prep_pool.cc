#include "server/prep_pool.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace qkv {

PreparationPool::PreparationPool(int threads, int max_queued) : max_queued_(max_queued) {
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

PreparationPool::~PreparationPool() { Shutdown(); }

absl::Status PreparationPool::Submit(const std::string& client, std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("the server is shutting down");
  if (queued_ >= max_queued_) {
    return absl::ResourceExhaustedError(absl::StrCat("server busy: ", queued_,
                                                     " requests wait for preparation (--max_prep_queue=",
                                                     max_queued_, "); retry with backoff"));
  }
  ClientTasks& tasks = clients_[client];
  if (tasks.tasks.empty()) {
    tasks.key = client;
    ring_.push_back(&tasks);
  }
  tasks.tasks.push_back(std::move(task));
  ++queued_;
  return absl::OkStatus();
}

void PreparationPool::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  absl::MutexLock join_lock(&join_mu_);
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

int PreparationPool::queued() const {
  absl::MutexLock lock(&mu_);
  return queued_;
}

void PreparationPool::Loop() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &PreparationPool::HasWorkOrStopping));
      if (ring_.empty()) return;  // stopping and drained
      ClientTasks* client = ring_.front();
      ring_.pop_front();
      task = std::move(client->tasks.front());
      client->tasks.pop_front();
      --queued_;
      if (client->tasks.empty()) {
        clients_.erase(client->key);  // deletes *client
      } else {
        ring_.push_back(client);  // its next task waits for the other clients' turns
      }
    }
    task();
  }
}

}  // namespace qkv
