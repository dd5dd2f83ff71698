// Whole-file reading for configuration, vocabularies and PEM files. Thread-safe (no shared state).
#ifndef QKV_COMMON_FILE_UTIL_H_
#define QKV_COMMON_FILE_UTIL_H_

#include <string>

#include "absl/status/statusor.h"

namespace qkv {

// The bytes of the file at `path` (read in binary mode). NotFound "cannot open <path>" when it cannot be
// opened (missing or unreadable); DataLoss "cannot read <path>" on a read error. Callers that
// word the error their own way switch on the code.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace qkv

#endif  // QKV_COMMON_FILE_UTIL_H_
