// Embeddings: the input embedding sum, word + position (+ token type), before the embedding LayerNorm
// (which the encoder runs over the whole packed batch). Position ids follow the family's rule
// (model_family.h: 0..T-1, or from the padding index as RoBERTa and MPNet count them), per sequence, so a
// sequence's embeddings do not depend on its batch.
//
// Thread safety: immutable after Create(); Lookup() is const.
#ifndef QKV_CORE_EMBEDDINGS_H_
#define QKV_CORE_EMBEDDINGS_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/model_family.h"
#include "core/tensor.h"

namespace qkv {

// How Lookup() numbers positions: `rule`, and for PositionIds::kFromPadding the padding index.
struct PositionRule {
  PositionIds rule = PositionIds::kAbsolute;
  int64_t padding_idx = 0;
};

class Embeddings {
 public:
  // word [V, D], position [P, D], token_type [type_vocab_size, D] or empty (a family without token types).
  // Consumes the tensors. For kFromPadding, padding_idx must be in [0, P - 1).
  static absl::StatusOr<std::unique_ptr<Embeddings>> Create(Tensor word, Tensor position, Tensor token_type,
                                                            PositionRule positions = {});

  // out[t, :] = word[ids[t]] + position[p(t)] (+ token_type[type_ids.empty() ? 0 : type_ids[t]]), t in
  // [0, T), in Hugging Face's summation order. p(t) = t for kAbsolute; for kFromPadding, padding_idx for a
  // padding token and padding_idx + (non-padding tokens up to and including t) otherwise.
  // REQUIRES: 0 <= ids[t] < V, the largest p(t) < P (T <= P - padding_idx - 1 for kFromPadding), type_ids
  // empty or of size T with entries in range (all 0 without a token type table; Encoder::Run validates),
  // `out` holds T * D floats.
  void Lookup(absl::Span<const int32_t> ids, absl::Span<const int32_t> type_ids, float* out) const;

  int64_t vocab_size() const { return word_.shape[0]; }
  int64_t max_positions() const { return position_.shape[0]; }
  bool has_token_types() const { return !token_type_.empty(); }
  int64_t width() const { return width_; }

 private:
  Embeddings(Tensor word, Tensor position, Tensor token_type, PositionRule positions);

  Tensor word_;
  Tensor position_;
  Tensor token_type_;  // empty: no token types
  PositionRule positions_;
  int64_t width_;
};

}  // namespace qkv

#endif  // QKV_CORE_EMBEDDINGS_H_
