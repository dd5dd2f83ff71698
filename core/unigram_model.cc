#include "core/unigram_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/utf8.h"

namespace qkv {
namespace {

// HF's penalty of an unknown character below the lowest piece score.
constexpr double kUnkPenalty = 10.0;

}  // namespace

absl::StatusOr<std::unique_ptr<UnigramModel>> UnigramModel::Create(
    std::vector<std::pair<std::string, double>> pieces, int32_t unk_id, bool byte_fallback) {
  if (pieces.empty()) return absl::InvalidArgumentError("model.vocab is empty");
  if (unk_id < 0 || static_cast<size_t>(unk_id) >= pieces.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.unk_id ", unk_id, " is outside model.vocab (size ", pieces.size(), ")"));
  }
  auto model = std::unique_ptr<UnigramModel>(new UnigramModel());
  model->unk_id_ = unk_id;
  model->byte_fallback_ = byte_fallback;
  double min_score = std::numeric_limits<double>::infinity();
  model->scores_.reserve(pieces.size());
  model->token_to_id_.reserve(pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    const auto& [token, score] = pieces[i];
    if (!std::isfinite(score)) {
      return absl::InvalidArgumentError(absl::StrCat("model.vocab[", i, "] has a score that is not finite"));
    }
    model->scores_.push_back(score);
    // A later duplicate replaces the id, as HF's map does (for the pieces and their scores alike).
    model->token_to_id_[token] = static_cast<int32_t>(i);
    min_score = std::min(min_score, score);
  }
  // The trie keeps the first id inserted for a token: inserting from the end makes that the last one.
  for (size_t i = pieces.size(); i-- > 0;) {
    if (!pieces[i].first.empty()) model->trie_.Insert(pieces[i].first, static_cast<int32_t>(i));
  }
  model->unk_score_ = min_score - kUnkPenalty;
  return model;
}

void UnigramModel::Tokenize(const CharString& word, std::vector<TokenPiece>* pieces) const {
  // The word as UTF-8; char_index[b]: the character that byte b belongs to.
  std::string utf8;
  std::vector<size_t> char_index;
  for (size_t i = 0; i < word.size(); ++i) {
    AppendUtf8(word[i].code_point, &utf8);
    char_index.resize(utf8.size(), i);
  }
  const size_t size = utf8.size();
  if (size == 0) return;
  struct Node {
    int32_t id = -1;
    double score = 0;
    int64_t starts_at = -1;  // -1: not reached
  };
  std::vector<Node> best(size + 1);
  const auto* bytes = reinterpret_cast<const uint8_t*>(utf8.data());
  for (size_t start = 0; start < size;) {
    const double here = best[start].score;
    size_t char_length = 1;
    while (start + char_length < size && char_index[start + char_length] == char_index[start]) ++char_length;
    bool has_single = false;
    int32_t node = VocabTrie::kRoot;
    for (size_t b = start; b < size; ++b) {
      node = trie_.Next(node, bytes[b]);
      if (node == VocabTrie::kNone) break;
      const int32_t id = trie_.Id(node);
      if (id == VocabTrie::kNone) continue;
      const size_t end = b + 1;
      const double candidate = scores_[static_cast<size_t>(id)] + here;
      Node& target = best[end];
      if (target.starts_at < 0 || candidate > target.score) {
        target = {id, candidate, static_cast<int64_t>(start)};
      }
      if (end - start == char_length) has_single = true;
    }
    if (!has_single) {
      Node& target = best[start + char_length];
      const double candidate = unk_score_ + here;
      if (target.starts_at < 0 || candidate > target.score) {
        target = {unk_id_, candidate, static_cast<int64_t>(start)};
      }
    }
    start += char_length;
  }
  // Back from the end: the Viterbi nodes, reversed.
  std::vector<std::pair<size_t, size_t>> raw;  // (start, end) per Viterbi node, reversed
  std::vector<int32_t> raw_ids;
  for (size_t end = size; end > 0;) {
    const Node& node = best[end];
    const auto start = static_cast<size_t>(node.starts_at);
    raw.emplace_back(start, end);
    raw_ids.push_back(node.id);
    end = start;
  }
  // Fuse runs of unk (fuse_unk is always on for Unigram in HF).
  std::vector<std::pair<size_t, size_t>> merged;
  std::vector<bool> unknown;
  for (size_t k = raw.size(); k-- > 0;) {
    const bool is_unk = raw_ids[k] == unk_id_;
    if (is_unk && !merged.empty() && unknown.back()) {
      merged.back().second = raw[k].second;
    } else {
      merged.push_back(raw[k]);
      unknown.push_back(is_unk);
    }
  }
  for (size_t k = 0; k < merged.size(); ++k) {
    const auto [start, end] = merged[k];
    const int32_t begin = word[char_index[start]].begin;
    const int32_t finish = word[char_index[end - 1]].end;
    const std::string token = utf8.substr(start, end - start);
    const auto it = token_to_id_.find(token);
    if (it != token_to_id_.end()) {
      pieces->push_back({it->second, begin, finish});
      continue;
    }
    if (byte_fallback_) {
      std::vector<int32_t> byte_ids;
      for (const char byte : token) {
        const auto b = token_to_id_.find(absl::StrFormat("<0x%02X>", static_cast<uint8_t>(byte)));
        if (b == token_to_id_.end()) break;
        byte_ids.push_back(b->second);
      }
      if (byte_ids.size() == token.size()) {
        for (const int32_t id : byte_ids) pieces->push_back({id, begin, finish});
        continue;
      }
    }
    pieces->push_back({unk_id_, begin, finish});
  }
}

}  // namespace qkv
