#include "client/flags.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace qkv {
namespace {

// The help layout of every qkv subcommand: the usage line, the description, then one line per flag
// ("--name VALUE  help (default: d)", the help column at most 36 wide) and --help last.
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_help(const CLI::App* app, std::string usage, CLI::AppFormatMode) const override {
    std::vector<const CLI::Option*> options;
    for (const CLI::Option* o : app->get_options()) {
      if (o != app->get_help_ptr() && !o->get_lnames().empty()) options.push_back(o);
    }
    std::vector<std::string> lefts;
    size_t width = 0;
    for (const CLI::Option* o : options) {
      const std::string& value_name = o->get_type_name();
      std::string left = absl::StrCat("  --", o->get_lnames()[0], value_name.empty() ? "" : " " + value_name);
      width = std::max(width, left.size());
      lefts.push_back(std::move(left));
    }
    width = std::min<size_t>(width, 34);
    std::string out = absl::StrCat("Usage: ", usage, "\n\n", app->get_description(), "\n\nFlags:\n");
    for (size_t i = 0; i < options.size(); ++i) {
      std::string line = lefts[i];
      if (line.size() < width + 2) {
        line.append(width + 2 - line.size(), ' ');
      } else {
        line.append("\n").append(width + 2, ' ');
      }
      absl::StrAppend(&line, options[i]->get_description());
      const std::string& default_text = options[i]->get_default_str();
      if (!default_text.empty()) absl::StrAppend(&line, " (default: ", default_text, ")");
      absl::StrAppend(&out, line, "\n");
    }
    std::string help_line = "  --help";
    help_line.append(help_line.size() < width + 2 ? width + 2 - help_line.size() : 1, ' ');
    absl::StrAppend(&out, help_line, "show this help\n");
    return out;
  }
};

// The name of the option a CLI11 error message starts with ("--count: 1 required TEXT missing").
std::string OptionInMessage(const std::string& message) { return message.substr(0, message.find(':')); }

}  // namespace

absl::Status ParseIntList(const std::string& text, std::vector<int64_t>* out) {
  out->clear();
  if (absl::StripAsciiWhitespace(text).empty()) return absl::OkStatus();
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    item = absl::StripAsciiWhitespace(item);
    int64_t v = 0;
    if (!absl::SimpleAtoi(item, &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected comma-separated integers, got \"", std::string(item), "\""));
    }
    out->push_back(v);
  }
  return absl::OkStatus();
}

FlagSet::FlagSet(std::string usage, std::string description)
    : usage_(std::move(usage)), description_(std::move(description)) {}

const FlagSet::Flag* FlagSet::Find(const std::string& name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool FlagSet::IsSet(const std::string& name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return f.set;
  }
  return false;
}

void FlagSet::Add(const std::string& name, std::string value_name, const std::string& help,
                  std::string default_text, bool is_bool,
                  std::function<absl::Status(const std::string& text)> assign) {
  Flag f;
  f.name = name;
  f.value_name = std::move(value_name);
  f.help = help;
  f.default_text = std::move(default_text);
  f.is_bool = is_bool;
  f.assign = std::move(assign);
  flags_.push_back(std::move(f));
}

void FlagSet::AddString(const std::string& name, std::string* value, const std::string& help,
                        const std::string& value_name) {
  Add(name, value_name, help, value->empty() ? "" : "\"" + *value + "\"", false,
      [value](const std::string& t) {
        *value = t;
        return absl::OkStatus();
      });
}

void FlagSet::AddInt(const std::string& name, int64_t* value, const std::string& help) {
  Add(name, "N", help, absl::StrCat(*value), false, [value](const std::string& t) {
    if (absl::SimpleAtoi(t, value)) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("expected an integer, got \"", t, "\""));
  });
}

void FlagSet::AddDouble(const std::string& name, double* value, const std::string& help) {
  Add(name, "X", help, absl::StrCat(*value), false, [value](const std::string& t) {
    if (absl::SimpleAtod(t, value)) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("expected a number, got \"", t, "\""));
  });
}

void FlagSet::AddBool(const std::string& name, bool* value, const std::string& help) {
  Add(name, "", help, *value ? "true" : "", true, [value](const std::string& t) {
    if (absl::SimpleAtob(t, value)) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("expected true or false, got \"", t, "\""));
  });
}

void FlagSet::AddIntList(const std::string& name, std::vector<int64_t>* value, const std::string& help) {
  Add(name, "N,N,...", help, absl::StrJoin(*value, ","), false,
      [value](const std::string& t) { return ParseIntList(t, value); });
}

void FlagSet::AddDuration(const std::string& name, absl::Duration* value, const std::string& help) {
  Add(name, "DURATION", help, absl::FormatDuration(*value), false, [value](const std::string& t) {
    absl::Duration d;
    double seconds = 0;
    if (absl::SimpleAtod(t, &seconds)) {
      d = absl::Seconds(seconds);
    } else if (!absl::ParseDuration(t, &d)) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected a duration like 30s, 250ms or 1.5 (seconds), got \"", t, "\""));
    }
    if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected a positive, finite duration, got \"", t, "\""));
    }
    *value = d;
    return absl::OkStatus();
  });
}

void FlagSet::AddChoice(const std::string& name, std::string* value, std::vector<std::string> choices,
                        const std::string& help) {
  const std::string value_name = absl::StrJoin(choices, "|");
  Add(name, value_name, help, *value, false, [value, choices = std::move(choices)](const std::string& t) {
    if (std::find(choices.begin(), choices.end(), t) == choices.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected one of ", absl::StrJoin(choices, ", "), "; got \"", t, "\""));
    }
    *value = t;
    return absl::OkStatus();
  });
}

std::unique_ptr<CLI::App> FlagSet::BuildApp(std::vector<std::string>* raw,
                                            std::vector<std::string>* rest) const {
  auto app = std::make_unique<CLI::App>(description_, usage_);
  app->formatter(std::make_shared<HelpFormatter>());
  app->allow_extras();  // unknown flags are reported by Parse, in qkv's words
  app->set_help_flag("--help");
  raw->assign(flags_.size(), "");
  for (size_t i = 0; i < flags_.size(); ++i) {
    const Flag& f = flags_[i];
    CLI::Option* option;
    if (f.is_bool) {
      // --name alone means true; --no-name (unless a flag has that name) means false; --name=V is checked.
      std::string names = absl::StrCat("--", f.name, "{true}");
      if (!Has("no-" + f.name)) absl::StrAppend(&names, ",!--no-", f.name);
      option = app->add_flag(names, (*raw)[i], f.help);
    } else {
      option = app->add_option("--" + f.name, (*raw)[i], f.help);
    }
    option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    option->type_name(f.value_name);
    option->default_str(f.default_text);
  }
  app->add_option("args", *rest);
  return app;
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args, std::vector<std::string>* positional) {
  // CLI11 reads a lone -h as the start of a cluster of short flags ("-hello") and "--name=" as "take the
  // next argument"; qkv means "help" by the first and an empty value by the second. Only a known flag's
  // "--name=" is split: any other argument ("---x=", "--=") stays one argument.
  // CLI11 also splits a positional argument of the form "[a,b]" into "a" and "b" (its list syntax). Such an
  // argument is passed as a placeholder that no command line can hold (it starts with a NUL byte) and put back
  // after parsing, wherever it landed.
  std::vector<std::string> bracketed;
  std::vector<std::string> reversed;  // CLI11 takes the arguments last first
  bool after_dashes = false;
  for (const std::string& arg : args) {
    if (!after_dashes && absl::StartsWith(arg, "--no-") && arg.find('=') != std::string::npos) {
      // CLI11 would read "--no-flag=V" as "--flag=!V", and throws std::out_of_range on a long number.
      const std::string name = arg.substr(5, arg.find('=') - 5);
      if (!Has("no-" + name) && Has(name)) {
        return absl::InvalidArgumentError(absl::StrCat("flag --no-", name, " takes no value; write --", name,
                                                       "=true or --", name, "=false"));
      }
    }
    if (arg.size() >= 2 && arg.front() == '[' && arg.back() == ']') {
      reversed.push_back(absl::StrCat(absl::string_view("\0", 1), bracketed.size()));
      bracketed.push_back(arg);
    } else if (!after_dashes && arg == "-h") {
      reversed.push_back("--help");
    } else if (const Flag* f = !after_dashes && absl::StartsWith(arg, "--") && absl::EndsWith(arg, "=")
                                   ? Find(arg.substr(2, arg.size() - 3))
                                   : nullptr;
               f != nullptr) {
      // A bool flag takes no separate value: "--flag=" is the empty value, which a bool does not accept.
      if (f->is_bool) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", f->name, ": expected true or false, got \"\""));
      }
      reversed.push_back(arg.substr(0, arg.size() - 1));
      reversed.push_back("");
    } else {
      reversed.push_back(arg);
    }
    if (arg == "--") after_dashes = true;
  }
  std::reverse(reversed.begin(), reversed.end());

  std::vector<std::string> raw;
  std::vector<std::string> rest;
  std::unique_ptr<CLI::App> app = BuildApp(&raw, &rest);
  try {
    app->parse(reversed);
  } catch (const CLI::CallForHelp&) {
    help_requested_ = true;
    return absl::OkStatus();
  } catch (const CLI::ArgumentMismatch& e) {
    return absl::InvalidArgumentError(absl::StrCat("flag ", OptionInMessage(e.what()), " needs a value"));
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const std::exception& e) {  // CLI11 lets std::stoll's errors through
    return absl::InvalidArgumentError(absl::StrCat("cannot read the flags: ", e.what()));
  }
  for (const std::string& extra : app->remaining()) {
    if (extra == "--") continue;
    const std::string name = extra.substr(0, extra.find('='));
    if (absl::StartsWith(name, "--")) return absl::InvalidArgumentError(absl::StrCat("unknown flag ", name));
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown flag ", extra, " (flags are spelled --name; use -- before a text that starts with -)"));
  }
  const auto restore = [&bracketed](std::string* value) {
    if (value->empty() || value->front() != '\0') return;
    size_t index = 0;
    if (absl::SimpleAtoi(absl::string_view(*value).substr(1), &index) && index < bracketed.size()) {
      *value = bracketed[index];
    }
  };
  for (std::string& value : raw) restore(&value);
  for (std::string& value : rest) restore(&value);
  for (size_t i = 0; i < flags_.size(); ++i) {
    Flag& f = flags_[i];
    if (app->count("--" + f.name) == 0) continue;
    if (absl::Status s = f.assign(raw[i]); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", f.name, ": ", s.message()));
    }
    f.set = true;
  }
  positional->insert(positional->end(), rest.begin(), rest.end());
  return absl::OkStatus();
}

std::string FlagSet::Help() const {
  std::vector<std::string> raw;
  std::vector<std::string> rest;
  return BuildApp(&raw, &rest)->help();
}

}  // namespace qkv
