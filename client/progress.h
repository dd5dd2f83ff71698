// ProgressBar: a one-line progress display on a terminal ("[#####     ] 512/1000  51%  830.2/s  ETA 0:01"),
// redrawn in place with '\r' at most every 100 ms. Disabled (prints nothing) unless the stream is a TTY,
// so pipes and logs stay clean.
//
// Thread-safe: Update() may be called from several threads.
#ifndef QKV_CLIENT_PROGRESS_H_
#define QKV_CLIENT_PROGRESS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace qkv {

class ProgressBar {
 public:
  // `total` <= 0 means unknown (shows the count and rate only). `out` must outlive the bar.
  ProgressBar(std::ostream* out, int64_t total, std::string unit, bool enabled);
  ~ProgressBar();  // calls Finish()

  // Sets the number of finished items.
  void Update(int64_t done);
  // Clears the line. Idempotent.
  void Finish();

  // The line for `done` items after `elapsed` (exposed for tests).
  static std::string Render(int64_t done, int64_t total, const std::string& unit, absl::Duration elapsed,
                            int width);

 private:
  std::ostream* const out_;
  const int64_t total_;
  const std::string unit_;
  const bool enabled_;
  const absl::Time start_;
  absl::Mutex mu_;
  absl::Time last_draw_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool drawn_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace qkv

#endif  // QKV_CLIENT_PROGRESS_H_
