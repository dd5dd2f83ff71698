// libFuzzer target: the qkv CLI's parsing of user input: the bulk input file of `qkv encode --file`
// (ReadInputLines) and the command line itself (FlagSet with every kind of flag, ParseIntList).
//
// Input: byte 0 bit 0 picks the part: 0 = the rest is the input file; 1 = the rest is an argv, arguments
// separated by NUL bytes. Invariants: lines hold no "\n", are valid UTF-8, and there is at least one;
// errors are Status values.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/flags.h"
#include "client/input_lines.h"
#include "client/text_util.h"
#include "tests/fuzz/encoding_checks.h"

namespace {

using qkv::fuzz::Check;

void FuzzInputFile(absl::string_view bytes) {
  std::istringstream in{std::string(bytes)};
  absl::StatusOr<std::vector<std::string>> lines = qkv::ReadInputLines(in, "input.txt");
  if (!lines.ok()) {
    Check(lines.status().code() == absl::StatusCode::kInvalidArgument, "bad input is InvalidArgument");
    return;
  }
  Check(!lines->empty(), "at least one line");
  for (const std::string& line : *lines) {
    Check(line.find('\n') == std::string::npos, "lines hold no newline");
    Check(qkv::IsValidUtf8(line), "lines are valid UTF-8");
  }
}

void FuzzArgv(absl::string_view bytes) {
  const std::vector<std::string> args = absl::StrSplit(bytes, '\0');
  qkv::FlagSet flags("qkv fuzz [flags]", "every kind of flag");
  std::string text, choice = "a";
  int64_t number = 0;
  double real = 0;
  bool flag = false;
  std::vector<int64_t> list;
  absl::Duration duration = absl::Seconds(1);
  flags.AddString("text", &text, "a string");
  flags.AddInt("number", &number, "an integer");
  flags.AddDouble("real", &real, "a double");
  flags.AddBool("flag", &flag, "a bool");
  flags.AddIntList("list", &list, "integers");
  flags.AddDuration("duration", &duration, "a duration");
  flags.AddChoice("choice", &choice, {"a", "bb", "ccc"}, "a choice");
  std::vector<std::string> positional;
  const absl::Status status = flags.Parse(args, &positional);
  if (status.ok()) {
    Check(choice == "a" || choice == "bb" || choice == "ccc", "a choice holds one of its values");
    Check(duration > absl::ZeroDuration(), "durations are positive");
    Check(positional.size() <= args.size(), "no more positionals than arguments");
    for (const std::string& p : positional) {
      Check(std::find(args.begin(), args.end(), p) != args.end(), "positionals are arguments, unchanged");
    }
  } else {
    Check(status.code() == absl::StatusCode::kInvalidArgument, "bad flags are InvalidArgument");
  }
  (void)flags.Help();
  for (const std::string& arg : args) {
    std::vector<int64_t> ints;
    (void)qkv::ParseIntList(arg, &ints);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    FuzzArgv(rest);
  } else {
    FuzzInputFile(rest);
  }
  return 0;
}
