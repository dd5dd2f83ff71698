#include "core/pre_tokenizer_json.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "core/byte_level.h"
#include "core/metaspace.h"
#include "core/pre_tokenizers.h"

namespace qkv {
namespace {

using Json = nlohmann::json;

// `object[key]` as a bool; `fallback` when absent or null. Throws Json::type_error on another type.
bool BoolOr(const Json& object, const char* key, bool fallback) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  return it->get<bool>();
}

absl::StatusOr<SplitBehavior> ReadBehavior(const Json& json, const std::string& field,
                                           SplitBehavior fallback) {
  const auto it = json.find("behavior");
  if (it == json.end() || it->is_null()) return fallback;
  const std::string name = it->get<std::string>();
  for (const auto& [known, behavior] :
       {std::pair<const char*, SplitBehavior>{"Removed", SplitBehavior::kRemoved},
        {"Isolated", SplitBehavior::kIsolated},
        {"MergedWithPrevious", SplitBehavior::kMergedWithPrevious},
        {"MergedWithNext", SplitBehavior::kMergedWithNext},
        {"Contiguous", SplitBehavior::kContiguous}}) {
    if (name == known) return behavior;
  }
  return absl::InvalidArgumentError(absl::StrCat(field, ".behavior ", name, " is not supported"));
}

absl::StatusOr<std::unique_ptr<PreTokenizer>> ReadMetaspace(const Json& pre, const std::string& field) {
  const std::string replacement =
      pre.contains("replacement") ? pre["replacement"].get<std::string>() : "\u2581";
  absl::StatusOr<std::vector<Utf8Char>> chars = DecodeUtf8(replacement);
  if (!chars.ok() || chars->size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".replacement must be one character"));
  }
  PrependScheme scheme =
      BoolOr(pre, "add_prefix_space", true) ? PrependScheme::kAlways : PrependScheme::kNever;
  if (const auto it = pre.find("prepend_scheme"); it != pre.end() && !it->is_null()) {
    const std::string name = it->get<std::string>();
    if (name == "always") {
      scheme = PrependScheme::kAlways;
    } else if (name == "first") {
      scheme = PrependScheme::kFirst;
    } else if (name == "never") {
      scheme = PrependScheme::kNever;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(field, ".prepend_scheme ", name, " is not supported"));
    }
  }
  return std::unique_ptr<PreTokenizer>(
      std::make_unique<MetaspacePreTokenizer>(chars->front().code_point, scheme, BoolOr(pre, "split", true)));
}

std::unique_ptr<PreTokenizer> CharClass(CharClassPreTokenizer::Kind kind, SplitBehavior behavior) {
  return std::make_unique<CharClassPreTokenizer>(kind, behavior);
}

// ReadPreTokenizer's work; throws Json::exception on a value of the wrong type.
absl::StatusOr<std::unique_ptr<PreTokenizer>> ReadPreTokenizerOrThrow(const Json& json,
                                                                      const std::string& field, int depth) {
  if (!json.is_object() || !json.contains("type") || !json["type"].is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be an object with a string \"type\""));
  }
  const std::string type = json["type"].get<std::string>();
  using Kind = CharClassPreTokenizer::Kind;
  if (type == "ByteLevel") {
    return std::unique_ptr<PreTokenizer>(std::make_unique<ByteLevelPreTokenizer>(
        BoolOr(json, "add_prefix_space", true), BoolOr(json, "use_regex", true)));
  }
  if (type == "Metaspace") return ReadMetaspace(json, field);
  if (type == "Sequence") {
    const Json& list = json.at("pretokenizers");
    if (!list.is_array() || depth > 4) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".pretokenizers must be an array (nested at most 4 deep)"));
    }
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < list.size(); ++i) {
      QKV_ASSIGN_OR_RETURN(
          std::unique_ptr<PreTokenizer> part,
          ReadPreTokenizer(list[i], absl::StrCat(field, ".pretokenizers[", i, "]"), depth + 1));
      parts.push_back(std::move(part));
    }
    return std::unique_ptr<PreTokenizer>(std::make_unique<SequencePreTokenizer>(std::move(parts)));
  }
  if (type == "WhitespaceSplit") return CharClass(Kind::kWhitespaceSplit, SplitBehavior::kRemoved);
  if (type == "Whitespace") return CharClass(Kind::kWhitespace, SplitBehavior::kRemoved);
  if (type == "BertPreTokenizer") return CharClass(Kind::kBert, SplitBehavior::kRemoved);
  if (type == "Punctuation") {
    QKV_ASSIGN_OR_RETURN(const SplitBehavior behavior, ReadBehavior(json, field, SplitBehavior::kIsolated));
    return CharClass(Kind::kPunctuation, behavior);
  }
  if (type == "Digits") {
    return CharClass(Kind::kDigits, BoolOr(json, "individual_digits", false) ? SplitBehavior::kIsolated
                                                                             : SplitBehavior::kContiguous);
  }
  if (type == "Split") {
    const Json& pattern = json.at("pattern");
    const bool regex = pattern.contains("Regex");
    if (!regex && !pattern.contains("String")) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".pattern must be {\"String\": ...} or {\"Regex\": ...}"));
    }
    QKV_ASSIGN_OR_RETURN(const SplitBehavior behavior, ReadBehavior(json, field, SplitBehavior::kRemoved));
    absl::StatusOr<std::unique_ptr<SplitPreTokenizer>> split =
        SplitPreTokenizer::Create(pattern.at(regex ? "Regex" : "String").get<std::string>(), regex, behavior,
                                  BoolOr(json, "invert", false));
    if (!split.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".pattern: ", split.status().message()));
    }
    return std::unique_ptr<PreTokenizer>(*std::move(split));
  }
  return absl::InvalidArgumentError(absl::StrCat(field, ".type ", type, " is not supported"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PreTokenizer>> ReadPreTokenizer(const Json& json, const std::string& field,
                                                               int depth) {
  try {
    return ReadPreTokenizerOrThrow(json, field, depth);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", e.what()));
  }
}

}  // namespace qkv
