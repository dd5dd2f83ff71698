#include "client/flags.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace qkv {
namespace {

std::string FormatDurationFlag(absl::Duration d) { return absl::FormatDuration(d); }

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

void FlagSet::Add(Flag flag) { flags_.push_back(std::move(flag)); }

FlagSet::Flag* FlagSet::Find(const std::string& name) {
  for (Flag& f : flags_) {
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

void FlagSet::AddString(const std::string& name, std::string* value, const std::string& help,
                        const std::string& value_name) {
  Flag f;
  f.name = name;
  f.value_name = value_name;
  f.help = help;
  f.default_text = value->empty() ? "" : "\"" + *value + "\"";
  f.assign = [value](const std::string& text) {
    *value = text;
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::AddInt(const std::string& name, int64_t* value, const std::string& help) {
  Flag f;
  f.name = name;
  f.value_name = "N";
  f.help = help;
  f.default_text = absl::StrCat(*value);
  f.assign = [value](const std::string& text) {
    if (!absl::SimpleAtoi(text, value)) {
      return absl::InvalidArgumentError(absl::StrCat("expected an integer, got \"", text, "\""));
    }
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::AddDouble(const std::string& name, double* value, const std::string& help) {
  Flag f;
  f.name = name;
  f.value_name = "X";
  f.help = help;
  f.default_text = absl::StrCat(*value);
  f.assign = [value](const std::string& text) {
    if (!absl::SimpleAtod(text, value)) {
      return absl::InvalidArgumentError(absl::StrCat("expected a number, got \"", text, "\""));
    }
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::AddBool(const std::string& name, bool* value, const std::string& help) {
  Flag f;
  f.name = name;
  f.help = help;
  f.is_bool = true;
  f.default_text = *value ? "true" : "";
  f.assign = [value](const std::string& text) {
    if (!absl::SimpleAtob(text, value)) {
      return absl::InvalidArgumentError(absl::StrCat("expected true or false, got \"", text, "\""));
    }
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::AddIntList(const std::string& name, std::vector<int64_t>* value, const std::string& help) {
  Flag f;
  f.name = name;
  f.value_name = "N,N,...";
  f.help = help;
  f.default_text = absl::StrJoin(*value, ",");
  f.assign = [value](const std::string& text) { return ParseIntList(text, value); };
  Add(std::move(f));
}

void FlagSet::AddDuration(const std::string& name, absl::Duration* value, const std::string& help) {
  Flag f;
  f.name = name;
  f.value_name = "DURATION";
  f.help = help;
  f.default_text = FormatDurationFlag(*value);
  f.assign = [value](const std::string& text) {
    absl::Duration d;
    double seconds = 0;
    if (absl::SimpleAtod(text, &seconds)) {
      d = absl::Seconds(seconds);
    } else if (!absl::ParseDuration(text, &d)) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected a duration like 30s, 250ms or 1.5 (seconds), got \"", text, "\""));
    }
    if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected a positive, finite duration, got \"", text, "\""));
    }
    *value = d;
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::AddChoice(const std::string& name, std::string* value, std::vector<std::string> choices,
                        const std::string& help) {
  Flag f;
  f.name = name;
  f.value_name = absl::StrJoin(choices, "|");
  f.help = help;
  f.default_text = *value;
  f.assign = [value, choices = std::move(choices)](const std::string& text) {
    if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected one of ", absl::StrJoin(choices, ", "), "; got \"", text, "\""));
    }
    *value = text;
    return absl::OkStatus();
  };
  Add(std::move(f));
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args, std::vector<std::string>* positional) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional->insert(positional->end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      return absl::OkStatus();
    }
    if (arg.size() < 2 || arg[0] != '-') {  // includes "-" (stdin)
      positional->push_back(arg);
      continue;
    }
    if (arg[1] != '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown flag ", arg, " (flags are spelled --name; use -- before a text that starts with -)"));
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    Flag* flag = Find(name);
    if (flag == nullptr && !has_value && absl::StartsWith(name, "no-")) {
      Flag* negated = Find(name.substr(3));
      if (negated != nullptr && negated->is_bool) {
        flag = negated;
        value = "false";
        has_value = true;
      }
    }
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (!has_value) {
      if (flag->is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
    }
    if (absl::Status s = flag->assign(value); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, ": ", std::string(s.message())));
    }
    flag->set = true;
  }
  return absl::OkStatus();
}

std::string FlagSet::Help() const {
  std::string out = absl::StrCat("Usage: ", usage_, "\n\n", description_, "\n\nFlags:\n");
  std::vector<std::string> lefts;
  size_t width = 0;
  for (const Flag& f : flags_) {
    std::string left = absl::StrCat("  --", f.name, f.value_name.empty() ? "" : " " + f.value_name);
    width = std::max(width, left.size());
    lefts.push_back(std::move(left));
  }
  width = std::min<size_t>(width, 34);
  for (size_t i = 0; i < flags_.size(); ++i) {
    std::string line = lefts[i];
    if (line.size() < width + 2) {
      line.append(width + 2 - line.size(), ' ');
    } else {
      line.append("\n").append(width + 2, ' ');
    }
    absl::StrAppend(&line, flags_[i].help);
    if (!flags_[i].default_text.empty()) absl::StrAppend(&line, " (default: ", flags_[i].default_text, ")");
    absl::StrAppend(&out, line, "\n");
  }
  std::string help_line = "  --help";
  help_line.append(help_line.size() < width + 2 ? width + 2 - help_line.size() : 1, ' ');
  absl::StrAppend(&out, help_line, "show this help\n");
  return out;
}

}  // namespace qkv
