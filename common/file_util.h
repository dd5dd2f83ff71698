// Whole-file reading for configuration, vocabularies and PEM files. Thread-safe (no shared state).
#ifndef QKV_COMMON_FILE_UTIL_H_
#define QKV_COMMON_FILE_UTIL_H_

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/statusor.h"

namespace qkv {

// The bytes of the file at `path` (read in binary mode). NotFound "cannot open <path>" when it cannot be
// opened (missing or unreadable); DataLoss "cannot read <path>" on a read error (e.g. a directory);
// InvalidArgument "<path>: over the <max_bytes>-byte limit" as soon as more than `max_bytes` bytes were
// read (counted while reading, so devices, pipes and growing files are bounded too). Callers that word the
// error their own way switch on the code.
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             int64_t max_bytes = std::numeric_limits<int64_t>::max());

}  // namespace qkv

#endif  // QKV_COMMON_FILE_UTIL_H_
