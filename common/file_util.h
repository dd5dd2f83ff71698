// Whole-file reading for configuration, vocabularies and PEM files, and recognising the Git LFS pointer a
// clone made without git-lfs leaves in place of a model file. Thread-safe (no shared state).
#ifndef QKV_COMMON_FILE_UTIL_H_
#define QKV_COMMON_FILE_UTIL_H_

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qkv {

// The bytes of the file at `path` (read in binary mode). NotFound "cannot open <path>" when it cannot be
// opened (missing or unreadable); DataLoss "cannot read <path>" on a read error (e.g. a directory);
// InvalidArgument "<path>: over the <max_bytes>-byte limit" as soon as more than `max_bytes` bytes were
// read (counted while reading, so devices, pipes and growing files are bounded too). Callers that word the
// error their own way switch on the code.
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             int64_t max_bytes = std::numeric_limits<int64_t>::max());

// True when `head`, a file's first bytes (at least the first 40), is a Git LFS pointer file
// ("version https://git-lfs.github.com/spec/v1\noid sha256:...\nsize ...\n"): what a Hugging Face Hub
// repository cloned without git-lfs holds instead of model.safetensors, *.onnx or a large tokenizer.json.
bool IsGitLfsPointer(absl::string_view head);

// FailedPrecondition "<path>: a Git LFS pointer, not the file itself (...); run `git lfs pull` ...", for a
// reader that found IsGitLfsPointer() true.
absl::Status GitLfsPointerError(const std::string& path);

}  // namespace qkv

#endif  // QKV_COMMON_FILE_UTIL_H_
