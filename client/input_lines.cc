#include "client/input_lines.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace qkv {

absl::StatusOr<std::vector<std::string>> ReadInputLines(std::istream& in, absl::string_view source) {
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat(source, ": read error"));
  if (lines.empty()) return absl::InvalidArgumentError(absl::StrCat(source, " has no lines"));
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!IsValidUtf8(lines[i])) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": line ", i + 1, " is not valid UTF-8"));
    }
  }
  return lines;
}

}  // namespace qkv
