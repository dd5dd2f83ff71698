// Process figures for /metrics: CPU time used and resident memory, read from /proc/self (Linux).
//
// Thread safety: stateless; safe from any thread.
#ifndef QKV_SERVER_OBSERVABILITY_PROCESS_STATS_H_
#define QKV_SERVER_OBSERVABILITY_PROCESS_STATS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace qkv {

struct ProcessStats {
  double cpu_seconds = 0;      // user + system CPU time of every thread so far
  int64_t resident_bytes = 0;  // resident set size
};

// Reads /proc/self/stat and /proc/self/statm. Unavailable when /proc is not mounted or unreadable.
absl::StatusOr<ProcessStats> ReadProcessStats();

// Parses the text of /proc/<pid>/stat (user + system ticks, fields 14 and 15) and /proc/<pid>/statm
// (resident pages, field 2). Exposed for tests. InvalidArgument when either text is malformed.
absl::StatusOr<ProcessStats> ParseProcessStats(const std::string& stat, const std::string& statm,
                                               int64_t ticks_per_second, int64_t page_bytes);

}  // namespace qkv

#endif  // QKV_SERVER_OBSERVABILITY_PROCESS_STATS_H_
