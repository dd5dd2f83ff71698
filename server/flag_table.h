// The flag table `qkv-server --help` prints: every flag defined in one source file, with its environment
// twin and default. (absl's own --help lists only flags of a file named after the binary, which
// qkv-server's main.cc is not.)
//
// Thread safety: reads the flag registry; call after flags are registered (any time in main).
#ifndef QKV_SERVER_FLAG_TABLE_H_
#define QKV_SERVER_FLAG_TABLE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace qkv {

// For each flag whose definition file ends with `file_suffix`, sorted by name:
//   --max_batch_tokens=8192  (env QKV_MAX_BATCH_TOKENS)
//       Most tokens (sum of sequence lengths) in one batch.        (help wrapped at 100 columns)
// A flag that is not in `env_flags` shows "(no env)". Defaults are shown as given to ABSL_FLAG ("" for an
// empty string).
std::string FlagTable(absl::string_view file_suffix, absl::Span<const char* const> env_flags);

// "QKV_" + the flag name in upper case.
std::string EnvName(absl::string_view flag);

}  // namespace qkv

#endif  // QKV_SERVER_FLAG_TABLE_H_
