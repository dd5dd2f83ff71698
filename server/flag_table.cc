#include "server/flag_table.h"

#include <algorithm>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace qkv {

namespace {

// `text` as lines of at most `width` characters (longer words stand alone), each prefixed by `indent`.
std::string Wrap(absl::string_view text, size_t width, absl::string_view indent) {
  std::string out;
  std::string line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      absl::StrAppend(&out, indent, line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) absl::StrAppend(&out, indent, line, "\n");
  return out;
}

}  // namespace

std::string EnvName(absl::string_view flag) { return absl::StrCat("QKV_", absl::AsciiStrToUpper(flag)); }

std::string FlagTable(absl::string_view file_suffix, absl::Span<const char* const> env_flags) {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::EndsWith(flag->Filename(), file_suffix)) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(), [](const absl::CommandLineFlag* a, const absl::CommandLineFlag* b) {
    return a->Name() < b->Name();
  });
  std::string out;
  for (const absl::CommandLineFlag* flag : flags) {
    const bool has_env = std::find(env_flags.begin(), env_flags.end(), flag->Name()) != env_flags.end();
    std::string value = flag->DefaultValue();
    if (value.empty()) value = "\"\"";
    absl::StrAppend(&out, "  --", flag->Name(), "=", value, "  (",
                    has_env ? absl::StrCat("env ", EnvName(flag->Name())) : "no env", ")\n",
                    Wrap(flag->Help(), 94, "      "));
  }
  return out;
}

}  // namespace qkv
