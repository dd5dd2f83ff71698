#include "core/bounded_json.h"

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace qkv {
namespace {

constexpr size_t kMaxErrorBytes = 300;
constexpr size_t kMaxStringBytes = 40;
constexpr size_t kMaxInlineElements = 8;

// Where `text` first nests deeper than `max_depth` ('[' and '{' outside strings), or npos. Malformed JSON
// is left to the parser.
size_t TooDeepAt(absl::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return absl::string_view::npos;
}

// Drops a trailing partial UTF-8 sequence from `s` (cut at a byte count).
void TrimPartialUtf8(std::string* s) {
  size_t end = s->size();
  size_t back = 0;
  while (back < end && back < 4 && (static_cast<unsigned char>((*s)[end - 1 - back]) & 0xC0) == 0x80) ++back;
  if (back < end) {
    const unsigned char lead = static_cast<unsigned char>((*s)[end - 1 - back]);
    const size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (need != back + 1) s->resize(end - 1 - back);
  }
}

std::string ScalarSummary(const nlohmann::json& value) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (s.size() <= kMaxStringBytes) {
      return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    std::string cut = s.substr(0, kMaxStringBytes);
    TrimPartialUtf8(&cut);
    return absl::StrCat(nlohmann::json(cut).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                        "... (", s.size(), " bytes)");
  }
  return value.dump();  // numbers, booleans, null: no recursion
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseBoundedJson(absl::string_view text) {
  if (const size_t at = TooDeepAt(text, kMaxJsonDepth); at != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("nested deeper than ", kMaxJsonDepth, " levels at byte ", at));
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    std::string message = e.what();
    if (message.size() > kMaxErrorBytes) {
      message.resize(kMaxErrorBytes);
      TrimPartialUtf8(&message);
      message += "...";
    }
    return absl::InvalidArgumentError(message);
  }
}

std::string JsonSummary(const nlohmann::json& value) {
  if (value.is_object()) return absl::StrCat("an object of ", value.size(), " members");
  if (value.is_binary()) return "binary data";
  if (!value.is_array()) return ScalarSummary(value);
  bool inline_array = value.size() <= kMaxInlineElements;
  for (size_t i = 0; inline_array && i < value.size(); ++i) inline_array = value[i].is_primitive();
  if (!inline_array) return absl::StrCat("an array of ", value.size(), " elements");
  std::string out = "[";
  for (size_t i = 0; i < value.size(); ++i)
    absl::StrAppend(&out, i == 0 ? "" : ", ", ScalarSummary(value[i]));
  return out + "]";
}

}  // namespace qkv
