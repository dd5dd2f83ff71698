// ByteBudget: the server-wide budget of bytes that requests in flight may hold (--max_inflight_bytes).
//
//   absl::StatusOr<ByteBudget::Reservation> r = budget.Reserve(4 * wire_bytes);   // or RESOURCE_EXHAUSTED
//   QKV_RETURN_IF_ERROR(r->Resize(wire_bytes + 2 * response_estimate));           // may fail when growing
//   ...                                                                            // ~Reservation releases
//
// The budget is accounting, not an allocator: callers reserve before they allocate (a received request,
// the response they are about to build, a serialized answer waiting for the client to read it) and keep
// the reservation while the memory lives.
//
// Thread safety: ByteBudget is safe from any thread; a Reservation is used by one thread at a time.
#ifndef QKV_SERVER_BYTE_BUDGET_H_
#define QKV_SERVER_BYTE_BUDGET_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace qkv {

class ByteBudget {
 public:
  // REQUIRES: limit >= 1.
  explicit ByteBudget(int64_t limit) : limit_(limit) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  // Bytes held on a budget; released when destroyed or moved from. An empty (default) reservation holds
  // nothing. Must not outlive its budget.
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Reservation&& other) noexcept;
    Reservation& operator=(Reservation&& other) noexcept;
    ~Reservation() { Release(); }

    int64_t bytes() const { return bytes_; }
    // Changes the reservation to `bytes`. Shrinking always succeeds; growing fails with RESOURCE_EXHAUSTED
    // (leaving the reservation as it was) when the budget cannot hold the difference.
    // REQUIRES: the reservation came from Reserve (not default-constructed) or bytes == 0.
    absl::Status Resize(int64_t bytes);
    void Release();

   private:
    friend class ByteBudget;
    Reservation(ByteBudget* budget, int64_t bytes) : budget_(budget), bytes_(bytes) {}
    ByteBudget* budget_ = nullptr;
    int64_t bytes_ = 0;
  };

  // Holds `bytes` (>= 0), or RESOURCE_EXHAUSTED naming --max_inflight_bytes when they do not fit.
  absl::StatusOr<Reservation> Reserve(int64_t bytes);

  int64_t used() const;
  int64_t limit() const { return limit_; }

 private:
  absl::Status TakeLocked(int64_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Give(int64_t bytes);

  const int64_t limit_;
  mutable absl::Mutex mu_;
  int64_t used_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace qkv

#endif  // QKV_SERVER_BYTE_BUDGET_H_
