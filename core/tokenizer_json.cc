#include "core/tokenizer_json.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "core/bounded_json.h"
#include "core/bpe_model.h"
#include "core/normalizers.h"
#include "core/pre_tokenizer_json.h"
#include "core/precompiled_normalizer.h"
#include "core/unicode_normalizers.h"
#include "core/unigram_model.h"

namespace qkv {
namespace {

using Json = nlohmann::json;

absl::Status Unsupported(absl::string_view field, absl::string_view type) {
  return absl::InvalidArgumentError(absl::StrCat(field, ".type ", type, " is not supported"));
}

// `object[key]` as a bool; `fallback` when absent or null. Throws Json::type_error on another type.
bool BoolOr(const Json& object, const char* key, bool fallback) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  return it->get<bool>();
}

// `object[key]` as a string; "" when absent or null.
std::string StringOr(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  return it->get<std::string>();
}

// The component `tokenizer[field]`: nullptr when absent or null; else an object with a string "type".
absl::StatusOr<const Json*> Component(const Json& tokenizer, const char* field) {
  const auto it = tokenizer.find(field);
  if (it == tokenizer.end() || it->is_null()) return static_cast<const Json*>(nullptr);
  if (!it->is_object() || !it->contains("type") || !(*it)["type"].is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be null or an object with a string \"type\""));
  }
  return &*it;
}

absl::StatusOr<std::vector<std::string>> ReadVocab(const Json& vocab) {
  if (!vocab.is_object()) return absl::InvalidArgumentError("model.vocab is not an object");
  std::vector<std::string> tokens(vocab.size());
  std::vector<bool> seen(vocab.size(), false);
  for (const auto& [token, id_json] : vocab.items()) {
    const int64_t id = id_json.is_number_integer() ? id_json.get<int64_t>() : -1;
    if (id < 0 || id >= static_cast<int64_t>(tokens.size()) || seen[static_cast<size_t>(id)]) {
      return absl::InvalidArgumentError(absl::StrCat("model.vocab ids must be 0..size-1, each once (\"",
                                                     token, "\": ", JsonSummary(id_json), ")"));
    }
    seen[static_cast<size_t>(id)] = true;
    tokens[static_cast<size_t>(id)] = token;
  }
  return tokens;
}

// model.merges: "a b" strings or ["a", "b"] pairs.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadMerges(const Json& model) {
  std::vector<std::pair<std::string, std::string>> merges;
  const auto list = model.find("merges");
  if (list == model.end() || list->is_null()) return merges;
  if (!list->is_array()) return absl::InvalidArgumentError("model.merges is not an array");
  merges.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& merge = (*list)[i];
    if (merge.is_string()) {
      const std::string& text = merge.get_ref<const std::string&>();
      const size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            "model.merges[", i, "] must be two tokens separated by one space, got ", JsonSummary(merge)));
      }
      merges.emplace_back(text.substr(0, space), text.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("model.merges[", i, "] must be \"a b\" or [\"a\", \"b\"], got ", JsonSummary(merge)));
    }
  }
  return merges;
}

absl::StatusOr<std::unique_ptr<BpeModel>> ReadBpe(const Json& model, std::vector<std::string>* vocab) {
  if (const auto dropout = model.find("dropout"); dropout != model.end() && !dropout->is_null() &&
                                                  !(dropout->is_number() && dropout->get<double>() == 0)) {
    return absl::InvalidArgumentError("model.dropout must be null (BPE dropout is random)");
  }
  QKV_ASSIGN_OR_RETURN(*vocab, ReadVocab(model.at("vocab")));
  QKV_ASSIGN_OR_RETURN(const auto merges, ReadMerges(model));
  absl::flat_hash_map<std::string, int32_t> by_token;
  by_token.reserve(vocab->size());
  for (size_t i = 0; i < vocab->size(); ++i) by_token.emplace((*vocab)[i], static_cast<int32_t>(i));
  BpeOptions options;
  options.unk_token = StringOr(model, "unk_token");
  options.fuse_unk = BoolOr(model, "fuse_unk", false);
  options.byte_fallback = BoolOr(model, "byte_fallback", false);
  options.ignore_merges = BoolOr(model, "ignore_merges", false);
  options.continuing_subword_prefix = StringOr(model, "continuing_subword_prefix");
  options.end_of_word_suffix = StringOr(model, "end_of_word_suffix");
  return BpeModel::Create(std::move(by_token), merges, std::move(options));
}

absl::StatusOr<std::unique_ptr<UnigramModel>> ReadUnigram(const Json& model,
                                                          std::vector<std::string>* vocab) {
  const Json& list = model.at("vocab");
  if (!list.is_array()) return absl::InvalidArgumentError("model.vocab is not an array");
  std::vector<std::pair<std::string, double>> pieces;
  pieces.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& piece = list[i];
    if (!piece.is_array() || piece.size() != 2 || !piece[0].is_string() || !piece[1].is_number()) {
      return absl::InvalidArgumentError(
          absl::StrCat("model.vocab[", i, "] must be [token, score], got ", JsonSummary(piece)));
    }
    pieces.emplace_back(piece[0].get<std::string>(), piece[1].get<double>());
    vocab->push_back(pieces.back().first);
  }
  const auto unk = model.find("unk_id");
  if (unk == model.end() || !unk->is_number_integer()) {
    return absl::InvalidArgumentError(
        "model.unk_id must be an integer (a Unigram model without unk is not supported)");
  }
  const int64_t unk_id = unk->get<int64_t>();
  if (unk_id < 0 || unk_id >= static_cast<int64_t>(pieces.size())) {
    return absl::InvalidArgumentError(absl::StrCat("model.unk_id ", unk_id, " is outside model.vocab"));
  }
  return UnigramModel::Create(std::move(pieces), static_cast<int32_t>(unk_id),
                              BoolOr(model, "byte_fallback", false));
}

absl::StatusOr<std::unique_ptr<Normalizer>> ReadNormalizer(const Json& json, const std::string& field,
                                                           int depth);

// ReadNormalizer's work; throws Json::exception on a value of the wrong type.
absl::StatusOr<std::unique_ptr<Normalizer>> ReadNormalizerOrThrow(const Json& json, const std::string& field,
                                                                  int depth) {
  if (!json.is_object() || !json.contains("type") || !json["type"].is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be an object with a string \"type\""));
  }
  const std::string type = json["type"].get<std::string>();
  if (type == "Sequence") {
    const Json& list = json.at("normalizers");
    if (!list.is_array() || depth > 4) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".normalizers must be an array (nested at most 4 deep)"));
    }
    std::vector<std::unique_ptr<Normalizer>> normalizers;
    for (size_t i = 0; i < list.size(); ++i) {
      QKV_ASSIGN_OR_RETURN(std::unique_ptr<Normalizer> normalizer,
                           ReadNormalizer(list[i], absl::StrCat(field, ".normalizers[", i, "]"), depth + 1));
      normalizers.push_back(std::move(normalizer));
    }
    return std::make_unique<SequenceNormalizer>(std::move(normalizers));
  }
  if (type == "Precompiled") {
    std::string charsmap;
    if (!absl::Base64Unescape(json.at("precompiled_charsmap").get<std::string>(), &charsmap)) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".precompiled_charsmap is not base64"));
    }
    absl::StatusOr<std::unique_ptr<PrecompiledNormalizer>> normalizer =
        PrecompiledNormalizer::Create(charsmap);
    if (!normalizer.ok())
      return absl::InvalidArgumentError(absl::StrCat(field, ": ", normalizer.status().message()));
    return std::unique_ptr<Normalizer>(*std::move(normalizer));
  }
  if (type == "Replace") {
    const Json& pattern = json.at("pattern");
    const bool regex = pattern.contains("Regex");
    if (!regex && !pattern.contains("String")) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".pattern must be {\"String\": ...} or {\"Regex\": ...}"));
    }
    absl::StatusOr<std::unique_ptr<ReplaceNormalizer>> normalizer =
        ReplaceNormalizer::Create(pattern.at(regex ? "Regex" : "String").get<std::string>(), regex,
                                  json.at("content").get<std::string>());
    if (!normalizer.ok())
      return absl::InvalidArgumentError(absl::StrCat(field, ": ", normalizer.status().message()));
    return std::unique_ptr<Normalizer>(*std::move(normalizer));
  }
  if (type == "Strip") {
    return std::unique_ptr<Normalizer>(std::make_unique<StripNormalizer>(BoolOr(json, "strip_left", true),
                                                                         BoolOr(json, "strip_right", true)));
  }
  if (type == "Lowercase") return std::unique_ptr<Normalizer>(std::make_unique<LowercaseNormalizer>());
  if (type == "StripAccents") return std::unique_ptr<Normalizer>(std::make_unique<StripAccentsNormalizer>());
  if (type == "Prepend") {
    absl::StatusOr<std::vector<Utf8Char>> prefix = DecodeUtf8(json.at("prepend").get<std::string>());
    if (!prefix.ok()) return absl::InvalidArgumentError(absl::StrCat(field, ".prepend is not UTF-8"));
    std::u32string code_points;
    for (const Utf8Char& c : *prefix) code_points.push_back(c.code_point);
    return std::unique_ptr<Normalizer>(std::make_unique<PrependNormalizer>(std::move(code_points)));
  }
  for (const auto& [name, form] : {std::pair<const char*, UnicodeForm>{"NFC", UnicodeForm::kNfc},
                                   {"NFD", UnicodeForm::kNfd},
                                   {"NFKC", UnicodeForm::kNfkc},
                                   {"NFKD", UnicodeForm::kNfkd}}) {
    if (type == name) return std::unique_ptr<Normalizer>(std::make_unique<UnicodeNormalizer>(form));
  }
  return Unsupported(field, type);
}

// One normalizer object (`field` names it in errors, also those of a value of the wrong type).
absl::StatusOr<std::unique_ptr<Normalizer>> ReadNormalizer(const Json& json, const std::string& field,
                                                           int depth) {
  try {
    return ReadNormalizerOrThrow(json, field, depth);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", e.what()));
  }
}

// A [token, id] pair of RobertaProcessing / BertProcessing: the id, and the token in `name`.
absl::StatusOr<int32_t> SpecialId(const Json& processor, const char* key, std::string* name) {
  const auto it = processor.find(key);
  if (it == processor.end() || !it->is_array() || it->size() != 2 || !(*it)[0].is_string() ||
      !(*it)[1].is_number_integer()) {
    return absl::InvalidArgumentError(absl::StrCat("post_processor.", key, " must be [token, id]"));
  }
  *name = (*it)[0].get<std::string>();
  return (*it)[1].get<int32_t>();
}

// How errors name a template's special tokens, e.g. "[CLS] and two [SEP]", "<s> and three </s>".
std::string Describe(const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, int>> counts;  // in order of first appearance
  for (const std::string& name : names) {
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == name; });
    if (it == counts.end()) {
      counts.emplace_back(name, 1);
    } else {
      ++it->second;
    }
  }
  static const char* const kWords[] = {"", "", "two ", "three ", "four "};
  std::string out;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (i > 0) out += i + 1 == counts.size() ? " and " : ", ";
    const int n = counts[i].second;
    out += n < 5 ? std::string(kWords[n]) : absl::StrCat(n, " ");
    out += counts[i].first;
  }
  return out.empty() ? "no special tokens" : out;
}

// Also appends the special tokens' names, in order, to `names`.
absl::StatusOr<std::vector<TemplateItem>> ReadTemplate(const Json& processor, const char* key, int sequences,
                                                       std::vector<std::string>* names) {
  const Json& items = processor.at(key);
  if (!items.is_array())
    return absl::InvalidArgumentError(absl::StrCat("post_processor.", key, " is not an array"));
  const Json& specials = processor.at("special_tokens");
  std::vector<TemplateItem> out;
  int seen[2] = {0, 0};
  int sequence = 0;  // the text a special token belongs to: the last sequence before it, else 0
  for (const Json& item : items) {
    if (item.contains("SpecialToken")) {
      const Json& special = item["SpecialToken"];
      const std::string name = special.at("id").get<std::string>();
      const auto entry = specials.find(name);
      if (entry == specials.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("post_processor.", key, ": special token \"", name, "\" is not in special_tokens"));
      }
      const int32_t type_id = special.at("type_id").get<int32_t>();
      if (type_id < 0)
        return absl::InvalidArgumentError(absl::StrCat("post_processor.", key, ": type_id < 0"));
      const Json& ids = entry->at("ids");
      const auto tokens = entry->find("tokens");
      for (size_t k = 0; k < ids.size(); ++k) {
        const int32_t special_id = ids[k].get<int32_t>();
        names->push_back(tokens != entry->end() && tokens->is_array() && k < tokens->size() &&
                                 (*tokens)[k].is_string()
                             ? (*tokens)[k].get<std::string>()
                             : name);
        if (special_id < 0) {
          return absl::InvalidArgumentError(
              absl::StrCat("post_processor.special_tokens[\"", name, "\"]: id < 0"));
        }
        out.push_back({special_id, sequence, type_id});
      }
    } else if (item.contains("Sequence")) {
      const Json& text = item["Sequence"];
      const std::string name = text.at("id").get<std::string>();
      if (name != "A" && name != "B") {
        return absl::InvalidArgumentError(absl::StrCat("post_processor.", key, ": sequence ", name));
      }
      sequence = name == "A" ? 0 : 1;
      ++seen[sequence];
      const int32_t type_id = text.at("type_id").get<int32_t>();
      if (type_id < 0)
        return absl::InvalidArgumentError(absl::StrCat("post_processor.", key, ": type_id < 0"));
      out.push_back({-1, sequence, type_id});
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("post_processor.", key, ": an item is neither SpecialToken nor Sequence"));
    }
  }
  if (seen[0] != 1 || seen[1] != (sequences == 2 ? 1 : 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("post_processor.", key, " must hold ", sequences == 2 ? "A and B once each" : "A once"));
  }
  return out;
}

absl::StatusOr<SpecialsTemplate> ReadPostProcessor(const Json* processor, OffsetTrim* trim) {
  if (processor == nullptr) {
    return absl::InvalidArgumentError("post_processor is null: qkv needs the special tokens it places");
  }
  const std::string type = (*processor)["type"].get<std::string>();
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    std::string cls_name;
    std::string sep_name;
    QKV_ASSIGN_OR_RETURN(const int32_t cls, SpecialId(*processor, "cls", &cls_name));
    QKV_ASSIGN_OR_RETURN(const int32_t sep, SpecialId(*processor, "sep", &sep_name));
    if (cls < 0 || sep < 0) return absl::InvalidArgumentError("post_processor: a special token id is < 0");
    SpecialsTemplate t;
    if (type == "BertProcessing") {
      t = SpecialsTemplate::Bert(cls, sep);
      t.pair_description = Describe({cls_name, sep_name, sep_name});
    } else {
      trim->enabled = BoolOr(*processor, "trim_offsets", true);
      trim->add_prefix_space = BoolOr(*processor, "add_prefix_space", true);
      t = SpecialsTemplate::Roberta(cls, sep);
      t.pair_description = Describe({cls_name, sep_name, sep_name, sep_name});
    }
    t.single_description = Describe({cls_name, sep_name});
    return t;
  }
  if (type == "TemplateProcessing") {
    SpecialsTemplate t;
    std::vector<std::string> single_names;
    std::vector<std::string> pair_names;
    QKV_ASSIGN_OR_RETURN(t.single, ReadTemplate(*processor, "single", 1, &single_names));
    QKV_ASSIGN_OR_RETURN(t.pair, ReadTemplate(*processor, "pair", 2, &pair_names));
    t.single_description = Describe(single_names);
    t.pair_description = Describe(pair_names);
    return t;
  }
  return Unsupported("post_processor", type);
}

}  // namespace

absl::StatusOr<std::optional<SpecialsTemplate>> ReadWordPieceSpecials(const Json& tokenizer) {
  try {
    QKV_ASSIGN_OR_RETURN(const Json* processor, Component(tokenizer, "post_processor"));
    if (processor == nullptr) return std::optional<SpecialsTemplate>();
    OffsetTrim trim;
    QKV_ASSIGN_OR_RETURN(SpecialsTemplate specials, ReadPostProcessor(processor, &trim));
    return std::optional<SpecialsTemplate>(std::move(specials));
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(e.what());
  }
}

std::string TokenizerJsonModelType(const Json& tokenizer) {
  const auto model = tokenizer.find("model");
  if (model == tokenizer.end() || !model->is_object()) return "WordPiece";
  const auto type = model->find("type");
  if (type == model->end() || !type->is_string()) return "WordPiece";
  return type->get<std::string>();
}

absl::StatusOr<PipelineParts> ReadPipelineJson(const Json& tokenizer) {
  PipelineParts parts;
  try {
    parts.model_type = TokenizerJsonModelType(tokenizer);
    QKV_ASSIGN_OR_RETURN(const Json* normalizer_json, Component(tokenizer, "normalizer"));
    std::unique_ptr<Normalizer> normalizer;
    if (normalizer_json != nullptr) {
      QKV_ASSIGN_OR_RETURN(normalizer, ReadNormalizer(*normalizer_json, "normalizer", 0));
    }
    QKV_ASSIGN_OR_RETURN(const Json* pre, Component(tokenizer, "pre_tokenizer"));
    std::unique_ptr<PreTokenizer> pre_tokenizer;
    if (pre != nullptr) {
      QKV_ASSIGN_OR_RETURN(pre_tokenizer, ReadPreTokenizer(*pre, "pre_tokenizer", 0));
    }
    std::unique_ptr<SubwordModel> model;
    if (parts.model_type == "BPE") {
      QKV_ASSIGN_OR_RETURN(std::unique_ptr<BpeModel> bpe, ReadBpe(tokenizer.at("model"), &parts.vocab));
      parts.unk = bpe->unk_id();
      model = std::move(bpe);
    } else if (parts.model_type == "Unigram") {
      QKV_ASSIGN_OR_RETURN(model, ReadUnigram(tokenizer.at("model"), &parts.vocab));
      parts.unk = tokenizer.at("model").at("unk_id").get<int32_t>();
    } else {
      return Unsupported("model", parts.model_type);
    }
    OffsetTrim trim;
    QKV_ASSIGN_OR_RETURN(const Json* processor, Component(tokenizer, "post_processor"));
    QKV_ASSIGN_OR_RETURN(parts.specials, ReadPostProcessor(processor, &trim));
    parts.pipeline = std::make_unique<SubwordPipeline>(std::move(normalizer), std::move(pre_tokenizer),
                                                       std::move(model), trim);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(e.what());
  }
  return parts;
}

}  // namespace qkv
