#include "common/file_util.h"

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace qkv {

absl::StatusOr<std::string> ReadFileToString(const std::string& path, int64_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string contents;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof(chunk)) || in.gcount() > 0) {
    const int64_t n = in.gcount();
    if (n > max_bytes - static_cast<int64_t>(contents.size())) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": over the ", max_bytes, "-byte limit"));
    }
    contents.append(chunk, static_cast<size_t>(n));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return contents;
}

bool IsGitLfsPointer(absl::string_view head) {
  return absl::StartsWith(head, "version https://git-lfs.github.com/spec/");
}

absl::Status GitLfsPointerError(const std::string& path) {
  return absl::FailedPreconditionError(
      absl::StrCat(path,
                   ": a Git LFS pointer, not the file itself (the repository was cloned without "
                   "git-lfs); run `git lfs install && git lfs pull` in its directory"));
}

}  // namespace qkv
