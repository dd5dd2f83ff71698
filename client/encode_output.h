// Rendering of qkv.v1.Output messages for `qkv encode`: JSON objects (nested arrays in the tensors' axis
// order) and a compact human-readable table. Pure functions; thread-safe.
//
// JSON object of one output (keys present only when the server returned the data):
//   {"id": "0", "ids": [101, ...], "tokens": ["[CLS]", ...] (with include_tokens), "truncated": true,
//    "pooled": [D floats], "token_vectors": [[D floats] x T],
//    "hidden_states": {"<layer>": [[D] x T]},
//    "attention": {"<layer>": [[[T] x T] x heads]}   (head, query, key; layer numbers as the server resolved
//    them) "attention_heads": {"<layer>": [h, ...]}          (only when the heads are not 0..n-1 in order)}
#ifndef QKV_CLIENT_ENCODE_OUTPUT_H_
#define QKV_CLIENT_ENCODE_OUTPUT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "client/json_writer.h"
#include "qkv/v1/encoder.pb.h"

namespace qkv {

struct EncodeOutputOptions {
  bool include_tokens = false;  // "tokens" in JSON, a tokens line in the table
};

// InvalidArgument (naming the field) when a tensor's values do not match its shape, or ids/tokens differ in
// length: a malformed response.
absl::Status ValidateOutput(const v1::Output& output);

// REQUIRES: ValidateOutput(output).ok().
void WriteOutputJson(const v1::Output& output, const EncodeOutputOptions& options, JsonWriter* writer);

// A tensor as nested JSON arrays following its shape (a scalar shape [] writes the single value).
// REQUIRES: values.size() == product(shape).
void WriteTensorJson(const v1::Tensor& tensor, JsonWriter* writer);

// The JSON object for an input that failed: {"id": ..., "error": {"code": "INVALID_ARGUMENT", "message":
// ...}}.
void WriteErrorJson(const std::string& id, int code, const std::string& message, JsonWriter* writer);

// Several lines describing one output; `label` is the input text or a description of it.
std::string FormatOutputTable(int64_t index, const std::string& label, const v1::Output& output,
                              const EncodeOutputOptions& options);

}  // namespace qkv

#endif  // QKV_CLIENT_ENCODE_OUTPUT_H_
