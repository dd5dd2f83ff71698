// FlagSet: the flags of one qkv subcommand, parsed by CLI11 (libcli11-dev) and validated into typed
// destinations.
//
//   FlagSet flags("qkv tokenize TEXT [flags]", "Splits TEXT into the model's word pieces.");
//   std::string format = "table";
//   flags.AddChoice("format", &format, {"table", "json"}, "output format");
//   std::vector<std::string> positional;
//   absl::Status s = flags.Parse(args, &positional);   // args exclude "qkv" and the subcommand
//
// Accepted forms: --name=value, --name value, --bool, --bool=true|false, --no-bool; "--" ends the flags;
// a lone "-" is positional (stdin). Flags and positional arguments may be interleaved; when a flag is
// given twice the last value wins. A flag that takes a value takes the next argument whatever it looks
// like ("--layer -1"). Values are validated after parsing: a bad number, an unknown choice or an unknown
// flag is InvalidArgument naming the flag. "--help" / "-h" sets help_requested() (other errors are then
// not reported).
//
// Not thread-safe; the destination pointers must outlive the FlagSet.
#ifndef QKV_CLIENT_FLAGS_H_
#define QKV_CLIENT_FLAGS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace CLI {
class App;
}  // namespace CLI

namespace qkv {

class FlagSet {
 public:
  FlagSet(std::string usage, std::string description);

  void AddString(const std::string& name, std::string* value, const std::string& help,
                 const std::string& value_name = "STRING");
  void AddInt(const std::string& name, int64_t* value, const std::string& help);
  void AddDouble(const std::string& name, double* value, const std::string& help);
  void AddBool(const std::string& name, bool* value, const std::string& help);
  // Comma-separated integers, e.g. "3,114,-1". An empty value gives an empty list.
  void AddIntList(const std::string& name, std::vector<int64_t>* value, const std::string& help);
  // "30s", "250ms", "1m30s", or a plain number of seconds ("2.5"). Must be positive.
  void AddDuration(const std::string& name, absl::Duration* value, const std::string& help);
  // One of `choices`.
  void AddChoice(const std::string& name, std::string* value, std::vector<std::string> choices,
                 const std::string& help);

  // Parses `args`; positional arguments are appended to `positional` in order.
  absl::Status Parse(const std::vector<std::string>& args, std::vector<std::string>* positional);

  bool help_requested() const { return help_requested_; }
  // True when the flag appeared on the command line (after a successful Parse).
  bool IsSet(const std::string& name) const;
  // The usage line, the description and one line per flag with its default.
  std::string Help() const;

 private:
  struct Flag {
    std::string name;
    std::string value_name;  // shown in --help; empty for bools
    std::string help;
    std::string default_text;
    bool is_bool = false;
    bool set = false;
    // Stores `text` into the destination; InvalidArgument text without the flag name.
    std::function<absl::Status(const std::string& text)> assign;
  };

  void Add(const std::string& name, std::string value_name, const std::string& help, std::string default_text,
           bool is_bool, std::function<absl::Status(const std::string& text)> assign);
  // The CLI11 form of the flags: raw values land in `raw` (one per flag), positional arguments in `rest`.
  std::unique_ptr<CLI::App> BuildApp(std::vector<std::string>* raw, std::vector<std::string>* rest) const;
  // The flag named `name` (without "--"), or null.
  const Flag* Find(const std::string& name) const;
  bool Has(const std::string& name) const { return Find(name) != nullptr; }

  std::string usage_;
  std::string description_;
  std::vector<Flag> flags_;  // in the order they were added (and are listed in --help)
  bool help_requested_ = false;
};

// Parses "3,114,-1" (spaces around items allowed). InvalidArgument on a non-integer item.
absl::Status ParseIntList(const std::string& text, std::vector<int64_t>* out);

}  // namespace qkv

#endif  // QKV_CLIENT_FLAGS_H_
