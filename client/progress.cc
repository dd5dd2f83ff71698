#include "client/progress.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace qkv {
namespace {

constexpr int kBarWidth = 30;

std::string FormatEta(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

}  // namespace

ProgressBar::ProgressBar(std::ostream* out, int64_t total, std::string unit, bool enabled)
    : out_(out), total_(total), unit_(std::move(unit)), enabled_(enabled), start_(absl::Now()) {}

ProgressBar::~ProgressBar() { Finish(); }

std::string ProgressBar::Render(int64_t done, int64_t total, const std::string& unit, absl::Duration elapsed,
                                int width) {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  const double rate = seconds > 0 ? done / seconds : 0;
  std::string line;
  if (total > 0) {
    const double frac = std::clamp(static_cast<double>(done) / total, 0.0, 1.0);
    const int filled = static_cast<int>(frac * width);
    absl::StrAppend(&line, "[", std::string(filled, '#'), std::string(width - filled, ' '), "] ");
    absl::StrAppendFormat(&line, "%d/%d %s %3.0f%%  %.1f/s", done, total, unit, frac * 100, rate);
    if (rate > 0 && done < total) absl::StrAppend(&line, "  ETA ", FormatEta((total - done) / rate));
  } else {
    absl::StrAppendFormat(&line, "%d %s  %.1f/s", done, unit, rate);
  }
  return line;
}

void ProgressBar::Update(int64_t done) {
  if (!enabled_) return;
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  const absl::Time now = absl::Now();
  if (now - last_draw_ < absl::Milliseconds(100) && !(total_ > 0 && done >= total_)) return;
  last_draw_ = now;
  drawn_ = true;
  *out_ << "\r\x1b[2K" << Render(done, total_, unit_, now - start_, kBarWidth) << std::flush;
}

void ProgressBar::Finish() {
  if (!enabled_) return;
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  finished_ = true;
  if (drawn_) *out_ << "\r\x1b[2K" << std::flush;
}

}  // namespace qkv
