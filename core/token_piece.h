// TokenPiece: one token of a text before the special tokens are added, as every tokenizer model produces it.
#ifndef QKV_CORE_TOKEN_PIECE_H_
#define QKV_CORE_TOKEN_PIECE_H_

#include <cstdint>

namespace qkv {

struct TokenPiece {
  int32_t id;
  int32_t begin;  // bytes [begin, end) of the original text
  int32_t end;
};

}  // namespace qkv

#endif  // QKV_CORE_TOKEN_PIECE_H_
