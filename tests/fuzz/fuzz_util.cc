#include "tests/fuzz/fuzz_util.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace qkv {
namespace fuzz {
namespace {

namespace fs = std::filesystem;

void RemoveScratchDir() {
  std::error_code error;
  fs::remove_all(ScratchDir(), error);
}

}  // namespace

std::vector<std::string> SplitParts(const uint8_t* data, size_t size, int count) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  size_t start = 0;
  while (static_cast<int>(parts.size()) + 1 < count) {
    const size_t end = input.find(kPartSeparator, start);
    if (end == absl::string_view::npos) break;
    parts.emplace_back(input.substr(start, end - start));
    start = end + kPartSeparator.size();
  }
  parts.emplace_back(input.substr(std::min(start, input.size())));
  parts.resize(count);
  return parts;
}

std::string JoinParts(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.append(kPartSeparator.data(), kPartSeparator.size());
    out += parts[i];
  }
  return out;
}

const std::string& ScratchDir() {
  static const std::string* const dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    auto* path = new std::string(absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                              "/qkv_fuzz_", ::getpid()));
    std::error_code error;
    fs::remove_all(*path, error);
    if (!fs::create_directories(*path, error)) {
      std::fprintf(stderr, "cannot create %s: %s\n", path->c_str(), error.message().c_str());
      std::abort();
    }
    std::atexit(RemoveScratchDir);
    return path;
  }();
  return *dir;
}

std::string WriteScratchFile(const std::string& name, absl::string_view bytes) {
  const fs::path path = fs::path(ScratchDir()) / name;
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::abort();
  }
  return path.string();
}

void ClearScratchDir() {
  std::error_code error;
  for (fs::directory_iterator it(ScratchDir(), error), end; !error && it != end; it.increment(error)) {
    std::error_code ignored;
    fs::remove_all(it->path(), ignored);
  }
}

std::string SourceDir() { return QKV_SOURCE_DIR; }

}  // namespace fuzz
}  // namespace qkv
