#include "server/server_config.h"

#include <sched.h>

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "core/precision.h"
#include "server/http/http_server.h"
#include "server/observability/logging.h"

namespace qkv {
namespace {

absl::Status Positive(absl::string_view flag, int64_t value) {
  if (value >= 1) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be >= 1 (got ", value, ")"));
}

absl::Status PositiveDuration(absl::string_view flag, absl::Duration value, bool zero_ok) {
  if (value > absl::ZeroDuration() || (zero_ok && value == absl::ZeroDuration())) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be ", zero_ok ? ">= 0" : "> 0", " (got ",
                                                 absl::FormatDuration(value), ")"));
}

std::string ReadSmallFile(const std::string& path) { return ReadFileToString(path).value_or(""); }

int CeilDiv(int64_t a, int64_t b) { return static_cast<int>((a + b - 1) / b); }

}  // namespace

absl::Status ServerConfig::Validate() const {
  if (listen.empty() || listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--listen must be host:port (got \"", listen, "\")"));
  }
  const std::pair<const char*, int64_t> positive[] = {
      {"workers", workers},
      {"threads_per_worker", threads_per_worker},
      {"max_batch_tokens", max_batch_tokens},
      {"max_batch_sequences", max_batch_sequences},
      {"max_queued_tokens", max_queued_tokens},
      {"max_stream_in_flight", max_stream_in_flight},
      {"max_attention_bytes", max_attention_bytes},
      {"prep_threads", prep_threads},
      {"max_prep_queue", max_prep_queue},
      {"max_text_bytes", max_text_bytes},
      {"max_streams", max_streams},
      {"max_streams_per_connection", max_streams_per_connection},
  };
  for (const auto& [flag, value] : positive) QKV_RETURN_IF_ERROR(Positive(flag, value));
  if (!(max_client_queue_share > 0 && max_client_queue_share <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_client_queue_share must be in (0, 1] (got ", max_client_queue_share, ")"));
  }
  if (max_receive_message_bytes < 1024 || max_receive_message_bytes > INT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat("--max_receive_message_bytes must be in [1024, ", INT32_MAX,
                                                   "] (got ", max_receive_message_bytes, ")"));
  }
  if (max_inflight_bytes / 2 < max_message_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("--max_inflight_bytes (", max_inflight_bytes,
                                                   ") must be >= 2 x --max_message_bytes (", max_message_bytes,
                                                   ") so that the largest response fits while it is built"));
  }
  // gRPC takes message sizes as int.
  if (max_message_bytes < 1024 || max_message_bytes > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_message_bytes must be in [1024, ", INT32_MAX, "] (got ", max_message_bytes, ")"));
  }
  if (max_queued_tokens < max_batch_tokens) {
    return absl::InvalidArgumentError(absl::StrCat("--max_queued_tokens (", max_queued_tokens,
                                                   ") must be >= --max_batch_tokens (", max_batch_tokens,
                                                   ")"));
  }
  const struct {
    const char* flag;
    absl::Duration value;
    bool zero_ok;
  } durations[] = {
      {"max_queue_delay", max_queue_delay, true},
      {"keepalive_time", keepalive_time, false},
      {"keepalive_timeout", keepalive_timeout, false},
      {"grace_period", grace_period, true},
      {"drain_notice", drain_notice, true},
  };
  for (const auto& d : durations) QKV_RETURN_IF_ERROR(PositiveDuration(d.flag, d.value, d.zero_ok));
  if (!ParsePrecision(precision).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--precision must be one of fp32, bf16, int8 (got \"", precision, "\")"));
  }
  if (tls_cert.empty() != tls_key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key must be given together");
  }
  if (!tls_client_ca.empty() && tls_cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca needs --tls_cert and --tls_key (mTLS is TLS plus client "
        "certificates)");
  }
  return ValidateOperations();
}

// The operations block (HTTP listener, logs, connection age).
absl::Status ServerConfig::ValidateOperations() const {
  if (!http_listen.empty()) {
    std::string host;
    int port = 0;
    QKV_RETURN_IF_ERROR(SplitHostPort(http_listen, "http_listen", &host, &port));
  }
  QKV_RETURN_IF_ERROR(ParseLogFormat(log_format).status());
  QKV_RETURN_IF_ERROR(ParseLogLevel(log_level).status());
  const std::pair<const char*, absl::Duration> ages[] = {
      {"max_connection_age", max_connection_age}, {"max_connection_age_grace", max_connection_age_grace}};
  for (const auto& [flag, value] : ages) {
    QKV_RETURN_IF_ERROR(PositiveDuration(flag, value, /*zero_ok=*/true));
    // gRPC takes both as int milliseconds.
    if (value > absl::Milliseconds(INT32_MAX)) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be at most ",
                                                     absl::FormatDuration(absl::Milliseconds(INT32_MAX)),
                                                     " (got ", absl::FormatDuration(value), ")"));
    }
  }
  return absl::OkStatus();
}

void ServerConfig::ResolveDefaults() {
  // Negative values are left for Validate() to refuse.
  if (workers != 0 && threads_per_worker != 0) return;
  const int cpus = AvailableCpus();
  const Threading t = DefaultThreading(cpus);
  if (workers == 0 && threads_per_worker == 0) {
    workers = t.workers;
    threads_per_worker = t.threads_per_worker;
  } else if (workers == 0) {
    workers = threads_per_worker > 0 ? std::max(1, cpus / threads_per_worker) : 1;
  } else {
    threads_per_worker = workers > 0 ? std::max(1, cpus / workers) : 1;
  }
}

int CpusFromCgroupV2(const std::string& cpu_max) {
  std::vector<std::string> parts =
      absl::StrSplit(absl::StripAsciiWhitespace(cpu_max), ' ', absl::SkipEmpty());
  int64_t quota = 0, period = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &quota) || !absl::SimpleAtoi(parts[1], &period) ||
      quota <= 0 || period <= 0) {
    return 0;  // "max 100000" (no quota) or unreadable
  }
  return CeilDiv(quota, period);
}

int CpusFromCgroupV1(const std::string& quota_us, const std::string& period_us) {
  int64_t quota = 0, period = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(quota_us), &quota) ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(period_us), &period) || quota <= 0 || period <= 0) {
    return 0;  // -1 = no quota
  }
  return CeilDiv(quota, period);
}

int AvailableCpus() {
  int cpus = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = 1;
  int quota = CpusFromCgroupV2(ReadSmallFile("/sys/fs/cgroup/cpu.max"));
  if (quota == 0) {
    quota = CpusFromCgroupV1(ReadSmallFile("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
                             ReadSmallFile("/sys/fs/cgroup/cpu/cpu.cfs_period_us"));
  }
  if (quota > 0) cpus = std::min(cpus, quota);
  return std::max(cpus, 1);
}

Threading DefaultThreading(int cpus) {
  cpus = std::max(cpus, 1);
  constexpr int kMaxThreadsPerWorker = 4;
  const int workers = CeilDiv(cpus, kMaxThreadsPerWorker);
  return Threading{workers, std::max(1, cpus / workers)};
}

}  // namespace qkv
