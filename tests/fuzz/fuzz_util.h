// Helpers shared by the libFuzzer targets in tests/fuzz: splitting one input into several files, writing
// them into a private scratch directory (the parsers under test read files), and finding the repository.
//
// Not thread-safe: libFuzzer calls LLVMFuzzerTestOneInput from one thread.
#ifndef QKV_TESTS_FUZZ_FUZZ_UTIL_H_
#define QKV_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace qkv {
namespace fuzz {

// Separates the files of one multi-file input (also in each such target's dictionary).
inline constexpr absl::string_view kPartSeparator = "\n#qkv-part#\n";

// Splits `data` on kPartSeparator into exactly `count` parts: missing parts are empty, and everything after
// the (count - 1)-th separator belongs to the last part.
std::vector<std::string> SplitParts(const uint8_t* data, size_t size, int count);

// Joins `parts` with kPartSeparator (the inverse of SplitParts; used to write seeds).
std::string JoinParts(const std::vector<std::string>& parts);

// A fresh directory unique to this process, created on first use under $TMPDIR (default /tmp) and removed
// at exit. Files written there by WriteScratchFile replace earlier ones.
const std::string& ScratchDir();

// Writes `bytes` to ScratchDir()/name, creating parent folders; aborts when it cannot (a harness bug, not
// a finding). Returns the path.
std::string WriteScratchFile(const std::string& name, absl::string_view bytes);

// Removes every entry of ScratchDir() (the directory itself stays).
void ClearScratchDir();

// The repository root this fuzzer was built from (for fixtures such as the bundled vocabulary).
std::string SourceDir();

}  // namespace fuzz
}  // namespace qkv

#endif  // QKV_TESTS_FUZZ_FUZZ_UTIL_H_
