// ThreadSanitizer support for Debian's prebuilt Abseil: linked into every executable of a QKV_SANITIZE=thread
// build (never into a product build).
//
// Debian's libabsl_synchronization is compiled without -fsanitize=thread, so absl::Mutex, absl::CondVar and
// absl::Notification carry no TSan annotations: TSan sees no happens-before edge through them and reports
// every access they do order as a race (~5,700 false reports on the server suite). Rather than rebuilding
// Abseil, this file defines the public lock / unlock / wait members of those classes in the executable. The
// dynamic linker then binds every call to them (qkv's, gRPC's, Abseil's own cross-object calls) to these
// definitions, which call the real function from the shared library (dlsym RTLD_NEXT) and tell TSan that
// the object was acquired (after locking or waiting) or released (before unlocking or waiting), exactly
// what an instrumented Abseil reports. Reader locks are treated as exclusive ones (a superset of the real
// edges: it can hide a race between two readers, never invent one).
//
// The mangled names are those of Abseil 20220623 as Debian 12 builds it (inline namespace "debian3"); a
// missing one aborts at the first call with its name instead of silently losing edges.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

template <typename Fn>
Fn Real(const char* mangled) {
  void* fn = ::dlsym(RTLD_NEXT, mangled);
  if (fn == nullptr) {
    std::fprintf(stderr, "tsan_absl_sync: %s not found in the shared Abseil (%s)\n", mangled, ::dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(fn);
}

// Declares `real`: calls the shared library's `mangled` (of function type `type`) with reads ignored.
#define QKV_REAL(type, mangled)                          \
  static const auto real_function = Real<type>(mangled); \
  const auto real = [](auto... args) {                   \
    IgnoreReads ignore;                                  \
    return real_function(args...);                       \
  }

void Acquired(const void* object) { __tsan_acquire(const_cast<void*>(object)); }
void Releasing(const void* object) { __tsan_release(const_cast<void*>(object)); }

}  // namespace

// The TSan runtime's dynamic-annotation entry points.
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);

namespace {

// Inside the real functions, absl evaluates absl::Condition callbacks (qkv code, instrumented) while the
// mutex is held for real but at points the wrappers cannot annotate: a waiter's own condition after the
// wrapper already reported the release, and other waiters' conditions during Unlock, on behalf of them.
// TSan would misorder those reads, so they are ignored (Abseil asks conditions to be pure reads; their
// writes stay checked).
class IgnoreReads {
 public:
  IgnoreReads() { AnnotateIgnoreReadsBegin(__FILE__, __LINE__); }
  ~IgnoreReads() { AnnotateIgnoreReadsEnd(__FILE__, __LINE__); }
};

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  QKV_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex4LockEv");
  real(this);
  Acquired(this);
}

void Mutex::ReaderLock() {
  QKV_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex10ReaderLockEv");
  real(this);
  Acquired(this);
}

bool Mutex::TryLock() {
  QKV_REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex7TryLockEv");
  const bool locked = real(this);
  if (locked) Acquired(this);
  return locked;
}

bool Mutex::ReaderTryLock() {
  QKV_REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex13ReaderTryLockEv");
  const bool locked = real(this);
  if (locked) Acquired(this);
  return locked;
}

void Mutex::Unlock() {
  QKV_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex6UnlockEv");
  Releasing(this);
  real(this);
}

void Mutex::ReaderUnlock() {
  QKV_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex12ReaderUnlockEv");
  Releasing(this);
  real(this);
}

// The *When functions return with the mutex held, whatever their result.
void Mutex::LockWhen(const Condition& cond) {
  QKV_REAL(void (*)(Mutex*, const Condition&), "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE");
  real(this, cond);
  Acquired(this);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  QKV_REAL(void (*)(Mutex*, const Condition&), "_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE");
  real(this, cond);
  Acquired(this);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  QKV_REAL(bool (*)(Mutex*, const Condition&, Duration),
           "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const bool result = real(this, cond, timeout);
  Acquired(this);
  return result;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  QKV_REAL(bool (*)(Mutex*, const Condition&, Time),
           "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const bool result = real(this, cond, deadline);
  Acquired(this);
  return result;
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  QKV_REAL(bool (*)(Mutex*, const Condition&, Duration),
           "_ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const bool result = real(this, cond, timeout);
  Acquired(this);
  return result;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  QKV_REAL(bool (*)(Mutex*, const Condition&, Time),
           "_ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const bool result = real(this, cond, deadline);
  Acquired(this);
  return result;
}

// Await* release the mutex while waiting and hold it again on return.
void Mutex::Await(const Condition& cond) {
  QKV_REAL(void (*)(Mutex*, const Condition&), "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE");
  Releasing(this);
  real(this, cond);
  Acquired(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  QKV_REAL(bool (*)(Mutex*, const Condition&, Duration),
           "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Releasing(this);
  const bool result = real(this, cond, timeout);
  Acquired(this);
  return result;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  QKV_REAL(bool (*)(Mutex*, const Condition&, Time),
           "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Releasing(this);
  const bool result = real(this, cond, deadline);
  Acquired(this);
  return result;
}

void CondVar::Wait(Mutex* mu) {
  QKV_REAL(void (*)(CondVar*, Mutex*), "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  Releasing(mu);
  real(this, mu);
  Acquired(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  QKV_REAL(bool (*)(CondVar*, Mutex*, Duration),
           "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  Releasing(mu);
  const bool result = real(this, mu, timeout);
  Acquired(mu);
  return result;
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  QKV_REAL(bool (*)(CondVar*, Mutex*, Time), "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  Releasing(mu);
  const bool result = real(this, mu, deadline);
  Acquired(mu);
  return result;
}

void Notification::Notify() {
  QKV_REAL(void (*)(Notification*), "_ZN4absl7debian312Notification6NotifyEv");
  Releasing(this);
  real(this);
}

void Notification::WaitForNotification() const {
  QKV_REAL(void (*)(const Notification*), "_ZNK4absl7debian312Notification19WaitForNotificationEv");
  real(this);
  Acquired(this);
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  QKV_REAL(bool (*)(const Notification*, Duration),
           "_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const bool notified = real(this, timeout);
  if (notified) Acquired(this);
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  QKV_REAL(bool (*)(const Notification*, Time),
           "_ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  const bool notified = real(this, deadline);
  if (notified) Acquired(this);
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
