// proto <-> core conversion and request validation: the only file that sees both qkv.v1 protobuf types and
// core types. The checks against the model are core's (core/input_validation.h); this file converts, passes
// each its request field path and maps the result. Every validation error is INVALID_ARGUMENT
// (RESOURCE_EXHAUSTED for an oversized response) naming the field and index, e.g.
// "inputs[3].ids.ids[7]: id 40000 out of range [0, 30522)".
//
// Thread safety: stateless functions; safe from any thread.
#ifndef QKV_SERVER_PROTO_CONVERT_H_
#define QKV_SERVER_PROTO_CONVERT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "qkv/v1/encoder.pb.h"
#include "server/batch_scheduler.h"
#include "server/served_model.h"
#include "server/server_config.h"

namespace qkv {

// One validated input: the tokens the model will run on (owned here; EncodeJob spans point into them).
struct PreparedSequence {
  std::string id;                   // Input.id
  std::vector<int32_t> ids;         // [T]
  std::vector<int32_t> type_ids;    // [T]
  std::vector<std::string> tokens;  // [T]
  bool truncated = false;
};

// A validated EncodeRequest. Not copyable in spirit: jobs made from it point into `sequences`.
struct PreparedEncode {
  std::vector<PreparedSequence> sequences;
  OutputSpec spec;                   // resolved layers, pooling; the same for every sequence
  std::vector<int> attention_heads;  // resolved heads to copy out; empty = all heads
  int64_t input_tokens = 0;          // sum of T
  int64_t response_bytes = 0;        // upper estimate of the serialized EncodeResponse
};

// Validates `request` against the model and the server's limits (max_batch_sequences,
// max_attention_bytes, max_message_bytes), tokenizes text inputs and resolves negative layer numbers.
absl::StatusOr<PreparedEncode> PrepareEncode(const v1::EncodeRequest& request, const ServedModel& model,
                                             const ServerConfig& config);

// The scheduler job for `prepared`; its spans point into `prepared`, which must outlive the job.
EncodeJob MakeEncodeJob(const PreparedEncode& prepared, absl::Time deadline);

// Fills `response` from the job's outputs (selecting the requested attention heads) and its timing.
// `total` is the request's time so far. RESOURCE_EXHAUSTED when the response exceeds
// config.max_message_bytes.
absl::Status FillEncodeResponse(const PreparedEncode& prepared, JobResult result, absl::Duration total,
                                const ServedModel& model, const ServerConfig& config,
                                v1::EncodeResponse* response);

// Tokenize RPC: validates and tokenizes. The output is bounded like Encode's: at most max_length tokens
// (0 = the model's max positions); longer texts are cut (TRUNCATION_TRUNCATE) or refused (otherwise,
// INVALID_ARGUMENT naming the limit).
absl::Status Tokenize(const v1::TokenizeRequest& request, const ServedModel& model,
                      v1::TokenizeResponse* response);

// GetModelInfo RPC.
void FillModelInfo(const ServedModel& model, const ServerConfig& config, v1::GetModelInfoResponse* response);

v1::Pooling ToProto(Pooling pooling);

}  // namespace qkv

#endif  // QKV_SERVER_PROTO_CONVERT_H_
