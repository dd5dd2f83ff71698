#include "core/embeddings.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace qkv {

Embeddings::Embeddings(Tensor word, Tensor position, Tensor token_type, PositionRule positions)
    : word_(std::move(word)),
      position_(std::move(position)),
      token_type_(std::move(token_type)),
      positions_(positions),
      width_(word_.shape[1]) {}

absl::StatusOr<std::unique_ptr<Embeddings>> Embeddings::Create(Tensor word, Tensor position,
                                                               Tensor token_type, PositionRule positions) {
  const struct {
    const char* name;
    const Tensor* tensor;
  } tables[] = {
      {"word_embeddings", &word}, {"position_embeddings", &position}, {"token_type_embeddings", &token_type}};
  for (const auto& table : tables) {
    const Tensor& t = *table.tensor;
    if (&t == &token_type && t.empty() && t.shape.empty()) continue;  // no token types
    if (t.shape.size() != 2 || t.shape[0] <= 0 || t.shape[1] != word.shape[1] ||
        static_cast<int64_t>(t.data.size()) != t.NumElements()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "embeddings: ", table.name,
          " must be a non-empty [rows, D] table with D = ", word.shape.size() == 2 ? word.shape[1] : -1));
    }
  }
  if (positions.rule == PositionIds::kFromPadding &&
      (positions.padding_idx < 0 || positions.padding_idx + 1 >= position.shape[0])) {
    return absl::InvalidArgumentError(absl::StrCat("embeddings: padding_idx ", positions.padding_idx,
                                                   " leaves no position in a table of ", position.shape[0]));
  }
  return std::unique_ptr<Embeddings>(
      new Embeddings(std::move(word), std::move(position), std::move(token_type), positions));
}

void Embeddings::Lookup(absl::Span<const int32_t> ids, absl::Span<const int32_t> type_ids, float* out) const {
  const int64_t d = width_;
  const bool from_padding = positions_.rule == PositionIds::kFromPadding;
  int64_t counted = 0;  // kFromPadding: non-padding tokens so far
  for (size_t t = 0; t < ids.size(); ++t) {
    int64_t position = static_cast<int64_t>(t);
    if (from_padding) {
      position =
          ids[t] == positions_.padding_idx ? positions_.padding_idx : positions_.padding_idx + ++counted;
    }
    const float* word = word_.data.data() + static_cast<int64_t>(ids[t]) * d;
    const float* pos = position_.data.data() + position * d;
    float* row = out + static_cast<int64_t>(t) * d;
    if (token_type_.empty()) {
      for (int64_t j = 0; j < d; ++j) row[j] = word[j] + pos[j];  // DistilBERT, MPNet
    } else {
      const float* type = token_type_.data.data() + (type_ids.empty() ? 0 : int64_t{type_ids[t]}) * d;
      for (int64_t j = 0; j < d; ++j) row[j] = (word[j] + type[j]) + pos[j];  // HF order
    }
  }
}

}  // namespace qkv
