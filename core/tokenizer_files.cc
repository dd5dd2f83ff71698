// Tokenizer loading: vocab.txt files and Hugging Face model directories (vocab.txt or tokenizer.json,
// casing from tokenizer.json's BertNormalizer or tokenizer_config.json; other tokenizer.json models through
// ReadPipelineJson).
#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "core/bounded_json.h"
#include "core/tokenizer.h"
#include "core/tokenizer_json.h"
#include "core/unicode_text.h"
#include "nlohmann/json.hpp"

namespace qkv {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// Larger vocab.txt / tokenizer.json / tokenizer_config.json files are refused before they are read.
constexpr int64_t kMaxFileBytes = int64_t{256} << 20;

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  QKV_ASSIGN_OR_RETURN(std::string contents, ReadFileToString(path.string(), kMaxFileBytes));
  if (IsGitLfsPointer(contents)) return GitLfsPointerError(path.string());
  return contents;
}

// One token per line; only trailing '\r' and '\n' are removed (tokens may hold any other character).
std::vector<std::string> SplitVocabLines(const std::string& contents) {
  std::vector<std::string> tokens;
  size_t start = 0;
  while (start < contents.size()) {
    size_t end = contents.find('\n', start);
    const size_t next = end == std::string::npos ? contents.size() : end + 1;
    if (end == std::string::npos) end = contents.size();
    while (end > start && contents[end - 1] == '\r') --end;
    tokens.emplace_back(contents, start, end - start);
    start = next;
  }
  return tokens;
}

absl::StatusOr<Json> ReadJson(const fs::path& path) {
  QKV_ASSIGN_OR_RETURN(const std::string contents, ReadFile(path));
  absl::StatusOr<Json> json = ParseBoundedJson(contents);
  if (!json.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": bad JSON: ", json.status().message()));
  }
  return json;
}

// `object[key]` as a bool; `fallback` when absent or null. Throws Json::type_error on another type.
bool BoolOr(const Json& object, const char* key, bool fallback) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  return it->get<bool>();
}

// tokenizer_config.json (BertTokenizer's arguments): do_lower_case, strip_accents, tokenize_chinese_chars.
void ApplyTokenizerConfig(const Json& config, TokenizerOptions* options) {
  if (!config.is_object()) throw Json::type_error::create(302, "the top level is not an object", &config);
  options->lower_case = BoolOr(config, "do_lower_case", true);
  options->strip_accents = BoolOr(config, "strip_accents", options->lower_case);
  options->tokenize_chinese_chars = BoolOr(config, "tokenize_chinese_chars", true);
}

// tokenizer.json's "added_tokens", with their lstrip / rstrip / single_word / normalized flags.
std::vector<AddedToken> ReadAddedTokens(const Json& tokenizer) {
  std::vector<AddedToken> added;
  const auto list = tokenizer.find("added_tokens");
  if (list == tokenizer.end() || list->is_null()) return added;
  if (!list->is_array()) throw Json::type_error::create(302, "added_tokens is not an array", &*list);
  for (const Json& token : *list) {
    if (!token.is_object()) throw Json::type_error::create(302, "an added token is not an object", &token);
    AddedToken entry{token.at("content").get<std::string>(), token.at("id").get<int32_t>()};
    entry.lstrip = BoolOr(token, "lstrip", false);
    entry.rstrip = BoolOr(token, "rstrip", false);
    entry.single_word = BoolOr(token, "single_word", false);
    entry.normalized = BoolOr(token, "normalized", !BoolOr(token, "special", false));
    added.push_back(std::move(entry));
  }
  return added;
}

// The ids Hugging Face gives the added tokens when it loads a tokenizer.json (the file's "id" fields are
// only checked, with a warning): a content seen before keeps its id, one in the model's vocabulary takes
// that id, any other the next id past the vocabulary, which `vocab` grows by. Empty contents are dropped.
void AssignAddedTokenIds(std::vector<std::string>* vocab, std::vector<AddedToken>* added) {
  absl::flat_hash_map<std::string, int32_t> ids;
  ids.reserve(vocab->size());
  for (size_t i = 0; i < vocab->size(); ++i) ids.emplace((*vocab)[i], static_cast<int32_t>(i));
  std::vector<AddedToken> kept;
  for (AddedToken& token : *added) {
    if (token.content.empty()) continue;
    const auto [it, inserted] = ids.emplace(token.content, static_cast<int32_t>(vocab->size()));
    if (inserted) vocab->push_back(token.content);
    token.id = it->second;
    kept.push_back(std::move(token));
  }
  *added = std::move(kept);
}

// A pre_tokenizer that splits as BertPreTokenizer does: BertPreTokenizer itself, or a Sequence of one such,
// or of WhitespaceSplit then Punctuation (isolated).
bool IsBertPreTokenizer(const Json& pre) {
  if (!pre.is_object()) return false;
  const std::string type = pre.value("type", std::string());
  if (type == "BertPreTokenizer") return true;
  const auto list = pre.find("pretokenizers");
  if (type != "Sequence" || list == pre.end() || !list->is_array()) return false;
  if (list->size() == 1) return IsBertPreTokenizer((*list)[0]);
  const auto type_of = [](const Json& json) {
    return json.is_object() ? json.value("type", std::string()) : std::string();
  };
  if (list->size() != 2 || type_of((*list)[0]) != "WhitespaceSplit" || type_of((*list)[1]) != "Punctuation") {
    return false;
  }
  const auto behavior = (*list)[1].find("behavior");
  return behavior == (*list)[1].end() || *behavior == "Isolated";
}

// tokenizer.json: the BertNormalizer settings and the WordPiece model's max_input_chars_per_word.
// Returns the model's vocabulary by id when `want_vocab`.
std::optional<std::vector<std::string>> ApplyTokenizerJson(const Json& tokenizer, bool want_vocab,
                                                           TokenizerOptions* options) {
  if (!tokenizer.is_object())
    throw Json::type_error::create(302, "the top level is not an object", &tokenizer);
  // The components the fused WordPiece path runs; anything else would be silently tokenized differently.
  for (const auto& [field, supported] : {std::pair<const char*, const char*>{"normalizer", "BertNormalizer"},
                                         {"pre_tokenizer", "BertPreTokenizer"}}) {
    const auto component = tokenizer.find(field);
    if (component == tokenizer.end() || component->is_null()) continue;
    const std::string type = component->is_object() ? component->value("type", std::string()) : "";
    const bool bert_sequence =
        std::string(field) == "pre_tokenizer" && type == "Sequence" && IsBertPreTokenizer(*component);
    if (type != supported && !bert_sequence) {
      throw Json::other_error::create(501,
                                      std::string(field) + ".type " +
                                          (type.empty() ? JsonSummary(*component) : type) +
                                          " is not supported with a WordPiece model (only " + supported + ")",
                                      &*component);
    }
  }
  const auto normalizer = tokenizer.find("normalizer");
  if (normalizer != tokenizer.end() && normalizer->is_object() &&
      normalizer->value("type", std::string()) == "BertNormalizer") {
    options->lower_case = BoolOr(*normalizer, "lowercase", true);
    options->strip_accents = BoolOr(*normalizer, "strip_accents", options->lower_case);
    options->tokenize_chinese_chars = BoolOr(*normalizer, "handle_chinese_chars", true);
    options->clean_text = BoolOr(*normalizer, "clean_text", true);
  }
  const Json& model = tokenizer.at("model");
  const std::string type = model.value("type", std::string("WordPiece"));
  if (type != "WordPiece") {
    throw Json::other_error::create(501, "model.type is " + type + ", not WordPiece", &model);
  }
  // qkv's WordPiece takes its unknown token from the vocabulary by name.
  if (const auto unk = model.find("unk_token");
      unk != model.end() && !unk->is_null() && *unk != Json("[UNK]")) {
    throw Json::other_error::create(
        501, "model.unk_token " + JsonSummary(*unk) + " is not supported (only \"[UNK]\")", &model);
  }
  if (model.value("continuing_subword_prefix", std::string("##")) != "##") {
    throw Json::other_error::create(501, "only the \"##\" continuing_subword_prefix is supported", &model);
  }
  if (const auto max_chars = model.find("max_input_chars_per_word");
      max_chars != model.end() && !max_chars->is_null()) {
    const bool in_range =
        max_chars->is_number_unsigned()
            ? max_chars->get<uint64_t>() >= 1 && max_chars->get<uint64_t>() <= kMaxCharsPerWordLimit
            : max_chars->is_number_integer() && max_chars->get<int64_t>() >= 1 &&
                  max_chars->get<int64_t>() <= kMaxCharsPerWordLimit;
    if (!in_range) {
      throw Json::other_error::create(
          501,
          absl::StrCat("model.max_input_chars_per_word must be an integer in [1, ", kMaxCharsPerWordLimit,
                       "], got ", JsonSummary(*max_chars)),
          &model);
    }
    options->max_chars_per_word = max_chars->get<int>();
  }
  if (!want_vocab) return std::nullopt;

  const Json& vocab = model.at("vocab");
  if (!vocab.is_object()) throw Json::type_error::create(302, "model.vocab is not an object", &vocab);
  std::vector<std::string> tokens(vocab.size());
  std::vector<bool> seen(vocab.size(), false);
  for (const auto& [token, id_json] : vocab.items()) {
    const int64_t id = id_json.get<int64_t>();
    if (id < 0 || id >= static_cast<int64_t>(tokens.size()) || seen[id]) {
      throw Json::other_error::create(
          501, "model.vocab ids must be 0..size-1, each once (id " + std::to_string(id) + ")", &vocab);
    }
    seen[id] = true;
    tokens[id] = token;
  }
  return tokens;
}

// dir/tokenizer.json, else the first (by name) dir/*tokenizer.json; nullopt when there is none.
std::optional<fs::path> FindTokenizerJson(const fs::path& dir) {
  std::error_code error;
  const fs::path standard = dir / "tokenizer.json";
  if (fs::is_regular_file(standard, error)) return standard;
  std::vector<fs::path> candidates;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (absl::EndsWith(name, "tokenizer.json") && it->is_regular_file(error))
      candidates.push_back(it->path());
  }
  if (candidates.empty()) return std::nullopt;
  return *std::min_element(candidates.begin(), candidates.end());
}

}  // namespace

absl::StatusOr<Tokenizer> Tokenizer::FromVocabFile(const std::string& vocab_path,
                                                   const TokenizerOptions& options) {
  QKV_ASSIGN_OR_RETURN(const std::string contents, ReadFile(vocab_path));
  return FromTokens(SplitVocabLines(contents), options, vocab_path);
}

absl::StatusOr<Tokenizer> Tokenizer::FromModelDirectory(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) return absl::NotFoundError(absl::StrCat(dir, " is not a directory"));
  const fs::path vocab_path = fs::path(dir) / "vocab.txt";
  const bool has_vocab_txt = fs::is_regular_file(vocab_path, error);
  const std::optional<fs::path> tokenizer_json = FindTokenizerJson(dir);
  const fs::path config_path = fs::path(dir) / "tokenizer_config.json";
  if (!has_vocab_txt && !tokenizer_json) {
    return absl::NotFoundError(absl::StrCat(dir, " has neither vocab.txt nor tokenizer.json"));
  }

  TokenizerOptions options;
  if (fs::is_regular_file(config_path, error)) {
    QKV_ASSIGN_OR_RETURN(const Json config, ReadJson(config_path));
    try {
      ApplyTokenizerConfig(config, &options);
    } catch (const Json::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(config_path.string(), ": ", e.what()));
    }
  }
  if (!tokenizer_json) return FromVocabFile(vocab_path.string(), options);
  QKV_ASSIGN_OR_RETURN(const Json tokenizer, ReadJson(*tokenizer_json));
  std::optional<std::vector<std::string>> json_vocab;
  std::vector<AddedToken> added_tokens;
  if (tokenizer.is_object() && TokenizerJsonModelType(tokenizer) != "WordPiece") {
    absl::StatusOr<PipelineParts> parts = ReadPipelineJson(tokenizer);
    if (parts.ok()) {
      try {
        parts->added_tokens = ReadAddedTokens(tokenizer);
      } catch (const Json::exception& e) {
        parts = absl::InvalidArgumentError(e.what());
      }
    }
    if (!parts.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(tokenizer_json->string(), ": ", parts.status().message()));
    }
    return FromPipeline(*std::move(parts), tokenizer_json->string());
  }
  try {
    json_vocab = ApplyTokenizerJson(tokenizer, /*want_vocab=*/!has_vocab_txt, &options);
    added_tokens = ReadAddedTokens(tokenizer);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(tokenizer_json->string(), ": ", e.what()));
  }
  // The post-processor's special tokens (MPNet: <s> A </s></s> B </s>); BERT's when it has none.
  absl::StatusOr<std::optional<SpecialsTemplate>> specials = ReadWordPieceSpecials(tokenizer);
  if (!specials.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(tokenizer_json->string(), ": ", specials.status().message()));
  }
  std::vector<std::string> vocab;
  if (has_vocab_txt) {
    QKV_ASSIGN_OR_RETURN(const std::string contents, ReadFile(vocab_path));
    vocab = SplitVocabLines(contents);
  } else {
    vocab = *std::move(json_vocab);
  }
  const size_t model_size = vocab.size();
  AssignAddedTokenIds(&vocab, &added_tokens);
  absl::StatusOr<Tokenizer> loaded =
      FromTokens(std::move(vocab), options, has_vocab_txt ? vocab_path.string() : tokenizer_json->string(),
                 &added_tokens, model_size);
  if (loaded.ok() && specials->has_value()) {
    QKV_RETURN_IF_ERROR(loaded->SetSpecialsTemplate(**std::move(specials), tokenizer_json->string()));
  }
  return loaded;
}

absl::StatusOr<Tokenizer> Tokenizer::FromPipeline(PipelineParts parts, const std::string& source) {
  std::vector<std::string>& vocab = parts.vocab;
  // Added tokens may extend the model's vocabulary (their ids follow it, as HF numbers them).
  AssignAddedTokenIds(&vocab, &parts.added_tokens);
  if (vocab.empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": the vocabulary is empty"));
  for (size_t i = 0; i < vocab.size(); ++i) {
    if (!DecodeUtf8(vocab[i]).ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": token ", i, " is not valid UTF-8"));
    }
  }
  Tokenizer tokenizer;
  tokenizer.options_.lower_case = false;
  tokenizer.options_.strip_accents = false;
  tokenizer.model_type_ = parts.model_type;
  tokenizer.id_to_token_ = std::move(vocab);
  tokenizer.token_to_id_.reserve(tokenizer.id_to_token_.size());
  for (size_t i = 0; i < tokenizer.id_to_token_.size(); ++i) {
    tokenizer.token_to_id_.emplace(tokenizer.id_to_token_[i], static_cast<int32_t>(i));
  }
  for (const AddedToken& added : parts.added_tokens) {
    if (added.id < 0 || added.id >= tokenizer.vocab_size()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": added token \"", added.content, "\" has id ",
                                                     added.id, ", outside the vocabulary (size ",
                                                     tokenizer.vocab_size(), ")"));
    }
  }
  QKV_RETURN_IF_ERROR(tokenizer.SetSpecialsTemplate(std::move(parts.specials), source));
  SpecialTokens& special = tokenizer.special_;
  special.unk = parts.unk;
  auto first_of = [&tokenizer](const char* a, const char* b) {
    return tokenizer.TokenToId(a) >= 0 ? tokenizer.TokenToId(a) : tokenizer.TokenToId(b);
  };
  special.pad = first_of("<pad>", "[PAD]");
  special.mask = first_of("<mask>", "[MASK]");
  // HF's two passes: normalized=false tokens in the raw text, the others in the normalized stretches.
  std::vector<AddedToken> raw;
  std::vector<AddedToken> normalized;
  for (const AddedToken& added : parts.added_tokens) (added.normalized ? normalized : raw).push_back(added);
  tokenizer.added_tokens_ = AddedTokens(raw);
  parts.pipeline->SetNormalizedTokens(normalized);
  tokenizer.pipeline_ = std::move(parts.pipeline);
  return tokenizer;
}

absl::Status Tokenizer::SetSpecialsTemplate(SpecialsTemplate specials, const std::string& source) {
  for (const auto* items : {&specials.single, &specials.pair}) {
    for (const TemplateItem& item : *items) {
      if (item.special_id >= vocab_size()) {
        return absl::InvalidArgumentError(absl::StrCat(source, ": post_processor's special token id ",
                                                       item.special_id, " is outside the vocabulary"));
      }
    }
  }
  const std::vector<TemplateItem>& single = specials.single;
  if (single.empty() || single.front().special_id < 0 || single.back().special_id < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": post_processor must place a special token before and after the text"));
  }
  special_.cls = single.front().special_id;
  special_.sep = single.back().special_id;
  specials_ = std::move(specials);
  return absl::OkStatus();
}

}  // namespace qkv
