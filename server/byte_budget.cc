#include "server/byte_budget.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace qkv {

ByteBudget::Reservation::Reservation(Reservation&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

ByteBudget::Reservation& ByteBudget::Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    Release();
    budget_ = std::exchange(other.budget_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void ByteBudget::Reservation::Release() {
  if (budget_ != nullptr && bytes_ > 0) budget_->Give(bytes_);
  bytes_ = 0;
}

absl::Status ByteBudget::Reservation::Resize(int64_t bytes) {
  if (bytes < 0) bytes = 0;
  if (budget_ == nullptr) {
    return bytes == 0 ? absl::OkStatus() : absl::InternalError("Resize on an empty reservation");
  }
  if (bytes <= bytes_) {
    budget_->Give(bytes_ - bytes);
  } else {
    absl::MutexLock lock(&budget_->mu_);
    if (absl::Status s = budget_->TakeLocked(bytes - bytes_); !s.ok()) return s;
  }
  bytes_ = bytes;
  return absl::OkStatus();
}

absl::StatusOr<ByteBudget::Reservation> ByteBudget::Reserve(int64_t bytes) {
  if (bytes < 0) bytes = 0;
  absl::MutexLock lock(&mu_);
  if (absl::Status s = TakeLocked(bytes); !s.ok()) return s;
  return Reservation(this, bytes);
}

int64_t ByteBudget::used() const {
  absl::MutexLock lock(&mu_);
  return used_;
}

absl::Status ByteBudget::TakeLocked(int64_t bytes) {
  if (bytes > limit_ - used_) {
    return absl::ResourceExhaustedError(absl::StrCat("server busy: ", used_, " bytes in flight + ", bytes,
                                                     " needed > --max_inflight_bytes=", limit_,
                                                     "; retry with backoff"));
  }
  used_ += bytes;
  return absl::OkStatus();
}

void ByteBudget::Give(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  used_ -= bytes;
}

}  // namespace qkv
