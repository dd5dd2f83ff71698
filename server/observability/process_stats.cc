#include "server/observability/process_stats.h"

#include <unistd.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/file_util.h"

namespace qkv {
namespace {

absl::StatusOr<std::string> ReadSmallFile(const char* path) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  return text;
}

}  // namespace

absl::StatusOr<ProcessStats> ParseProcessStats(const std::string& stat, const std::string& statm,
                                               int64_t ticks_per_second, int64_t page_bytes) {
  // The command name (field 2) is in parentheses and may hold spaces; fields after it are numbers.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || ticks_per_second <= 0) {
    return absl::InvalidArgumentError("malformed /proc/self/stat");
  }
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(stat).substr(close + 1), ' ', absl::SkipWhitespace());
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  int64_t utime = 0;
  int64_t stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) || !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::InvalidArgumentError("malformed /proc/self/stat");
  }
  std::vector<absl::string_view> pages = absl::StrSplit(statm, ' ', absl::SkipWhitespace());
  int64_t resident = 0;
  if (pages.size() < 2 || !absl::SimpleAtoi(pages[1], &resident)) {
    return absl::InvalidArgumentError("malformed /proc/self/statm");
  }
  ProcessStats stats;
  stats.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks_per_second);
  stats.resident_bytes = resident * page_bytes;
  return stats;
}

absl::StatusOr<ProcessStats> ReadProcessStats() {
  absl::StatusOr<std::string> stat = ReadSmallFile("/proc/self/stat");
  if (!stat.ok()) return stat.status();
  absl::StatusOr<std::string> statm = ReadSmallFile("/proc/self/statm");
  if (!statm.ok()) return statm.status();
  return ParseProcessStats(*stat, *statm, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE));
}

}  // namespace qkv
