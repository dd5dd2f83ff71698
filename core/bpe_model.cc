#include "core/bpe_model.h"

#include <algorithm>
#include <queue>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/utf8.h"

namespace qkv {
namespace {

// A symbol of the word being merged: a vocabulary id covering characters [begin, end), in a list linked
// through prev / next (-1 at the ends); end == begin once it was merged into its left neighbour.
struct Symbol {
  int32_t id;
  size_t begin;
  size_t end;
  int64_t prev;
  int64_t next;
};

// A candidate merge of the symbol at `pos` with its right neighbour; the queue pops the lowest rank, then
// the leftmost.
struct Candidate {
  int32_t rank;
  size_t pos;
  int32_t id;
  bool operator<(const Candidate& other) const {
    return rank != other.rank ? rank > other.rank : pos > other.pos;
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::Create(
    absl::flat_hash_map<std::string, int32_t> vocab,
    const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options) {
  auto model = std::unique_ptr<BpeModel>(new BpeModel());
  model->vocab_ = std::move(vocab);
  model->options_ = std::move(options);
  if (!model->options_.unk_token.empty()) {
    model->unk_id_ = model->Find(model->options_.unk_token);
    if (model->unk_id_ < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("model.unk_token \"", model->options_.unk_token, "\" is not in model.vocab"));
    }
  }
  const size_t prefix_length = model->options_.continuing_subword_prefix.size();
  model->merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const int32_t left_id = model->Find(left);
    const int32_t right_id = model->Find(right);
    const std::string joined =
        left + (right.size() >= prefix_length &&
                        right.compare(0, prefix_length, model->options_.continuing_subword_prefix) == 0
                    ? right.substr(prefix_length)
                    : right);
    const int32_t joined_id = model->Find(joined);
    if (left_id < 0 || right_id < 0 || joined_id < 0) {
      return absl::InvalidArgumentError(absl::StrCat("model.merges[", rank, "] (\"", left, "\" \"", right,
                                                     "\"): \"",
                                                     left_id < 0    ? left
                                                     : right_id < 0 ? right
                                                                    : joined,
                                                     "\" is not in model.vocab"));
    }
    model->merges_[PairKey(left_id, right_id)] = {static_cast<int32_t>(rank), joined_id};
  }
  return model;
}

int32_t BpeModel::Find(const std::string& token) const {
  const auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

void BpeModel::Tokenize(const CharString& word, std::vector<TokenPiece>* pieces) const {
  std::string text;
  if (options_.ignore_merges) {
    for (const Utf8Char& c : word) AppendUtf8(c.code_point, &text);
    if (const int32_t id = Find(text); id >= 0) {
      pieces->push_back({id, word.front().begin, word.back().end});
      return;
    }
  }
  // The initial symbols. `consumed` counts the characters the symbols cover: HF computes offsets from the
  // symbols' lengths, so a dropped character shifts the later offsets, and so does it here.
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  size_t consumed = 0;
  int32_t pending_unk = -1;  // characters of a pending unk_token symbol
  size_t pending_length = 0;
  auto add = [&](int32_t id, size_t length) {
    const int64_t index = static_cast<int64_t>(symbols.size());
    symbols.push_back({id, consumed, consumed + length, index - 1, index + 1});
    consumed += length;
  };
  auto flush_unk = [&] {
    if (pending_unk >= 0) add(pending_unk, pending_length);
    pending_unk = -1;
  };
  for (size_t i = 0; i < word.size(); ++i) {
    text.clear();
    if (i > 0) text = options_.continuing_subword_prefix;
    AppendUtf8(word[i].code_point, &text);
    if (i + 1 == word.size()) text += options_.end_of_word_suffix;
    if (const int32_t id = Find(text); id >= 0) {
      flush_unk();
      add(id, 1);
      continue;
    }
    if (options_.byte_fallback) {
      std::vector<int32_t> bytes;
      for (const char byte : text) {
        const int32_t id = Find(absl::StrFormat("<0x%02X>", static_cast<uint8_t>(byte)));
        if (id < 0) break;
        bytes.push_back(id);
      }
      if (bytes.size() == text.size()) {
        // Each byte token covers the whole character (HF maps a part of a character to all of it).
        for (const int32_t id : bytes) {
          const int64_t index = static_cast<int64_t>(symbols.size());
          symbols.push_back({id, consumed, consumed + 1, index - 1, index + 1});
        }
        ++consumed;
        continue;
      }
    }
    if (unk_id_ >= 0) {
      if (pending_unk >= 0 && options_.fuse_unk) {
        ++pending_length;
      } else {
        flush_unk();
        pending_unk = unk_id_;
        pending_length = 1;
      }
    }
  }
  flush_unk();
  if (symbols.empty()) return;
  symbols.back().next = -1;

  std::priority_queue<Candidate> queue;
  auto push = [&](size_t pos) {
    const int64_t next = symbols[pos].next;
    if (next < 0) return;
    const auto it = merges_.find(PairKey(symbols[pos].id, symbols[static_cast<size_t>(next)].id));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.id});
  };
  for (size_t pos = 0; pos + 1 < symbols.size(); ++pos) push(pos);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.end == left.begin || left.next < 0) continue;
    const size_t right_pos = static_cast<size_t>(left.next);
    Symbol& right = symbols[right_pos];
    // A stale entry: the pair at `pos` changed since it was queued.
    const auto it = merges_.find(PairKey(left.id, right.id));
    if (it == merges_.end() || it->second.id != top.id) continue;
    left.id = top.id;
    left.end = right.end;
    left.next = right.next;
    right.end = right.begin;
    if (left.next >= 0) symbols[static_cast<size_t>(left.next)].prev = static_cast<int64_t>(top.pos);
    if (left.prev >= 0) push(static_cast<size_t>(left.prev));
    push(top.pos);
  }
  for (const Symbol& symbol : symbols) {
    if (symbol.end == symbol.begin) continue;
    // Offsets of the characters covered; a shifted symbol (after a dropped character) is clamped.
    const size_t first = std::min(symbol.begin, word.size() - 1);
    const size_t last = std::min(symbol.end, word.size()) - 1;
    pieces->push_back({symbol.id, word[first].begin, word[last].end});
  }
}

}  // namespace qkv
