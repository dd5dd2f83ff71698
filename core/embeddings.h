// Embeddings: the BERT input embedding sum, word + position + token type, before the embedding LayerNorm
// (which the encoder runs over the whole packed batch). Positions are 0..T-1 for every sequence.
//
// Thread safety: immutable after Create(); Lookup() is const.
#ifndef QKV_CORE_EMBEDDINGS_H_
#define QKV_CORE_EMBEDDINGS_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/tensor.h"

namespace qkv {

class Embeddings {
 public:
  // word [V, D], position [P, D], token_type [type_vocab_size, D]. Consumes the tensors.
  static absl::StatusOr<std::unique_ptr<Embeddings>> Create(Tensor word, Tensor position, Tensor token_type);

  // out[t, :] = word[ids[t]] + position[t] + token_type[type_ids.empty() ? 0 : type_ids[t]], t in [0, T).
  // REQUIRES: 0 <= ids[t] < V, T <= P, type_ids empty or of size T with entries in range (Encoder::Run
  // validates), `out` holds T * D floats.
  void Lookup(absl::Span<const int32_t> ids, absl::Span<const int32_t> type_ids, float* out) const;

  int64_t vocab_size() const { return word_.shape[0]; }
  int64_t max_positions() const { return position_.shape[0]; }
  int64_t type_vocab_size() const { return token_type_.shape[0]; }
  int64_t width() const { return width_; }

 private:
  Embeddings(Tensor word, Tensor position, Tensor token_type);

  Tensor word_;
  Tensor position_;
  Tensor token_type_;
  int64_t width_;
};

}  // namespace qkv

#endif  // QKV_CORE_EMBEDDINGS_H_
