#include "server/flag_table.h"

#include <algorithm>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace qkv {

std::string EnvName(absl::string_view flag) { return absl::StrCat("QKV_", absl::AsciiStrToUpper(flag)); }

std::string FlagTable(absl::string_view file_suffix, absl::Span<const char* const> env_flags) {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::EndsWith(flag->Filename(), file_suffix)) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const absl::CommandLineFlag* a, const absl::CommandLineFlag* b) { return a->Name() < b->Name(); });
  std::string out;
  for (const absl::CommandLineFlag* flag : flags) {
    const bool has_env = std::find(env_flags.begin(), env_flags.end(), flag->Name()) != env_flags.end();
    std::string value = flag->DefaultValue();
    if (value.empty()) value = "\"\"";
    absl::StrAppend(&out, "  --", flag->Name(), "=", value, "  (",
                    has_env ? absl::StrCat("env ", EnvName(flag->Name())) : "no env", ")\n      ", flag->Help(),
                    "\n");
  }
  return out;
}

}  // namespace qkv
