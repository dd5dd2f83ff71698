// libFuzzer target: the server's request path short of the model: ByteBuffer -> ParseRequest (strict
// parse, lenient UTF-8 re-parse naming the bad field, RecoverStringField for stream request ids) ->
// PrepareEncode / Tokenize validation against the bundled bert-tiny-random -> FillEncodeResponse with
// outputs shaped as the encoder would return them.
//
// Input: byte 0 bits 0-1 pick the message (0 EncodeRequest, 1 TokenizeRequest, 2 EncodeStreamRequest,
// 3 EncodeRequest with tight server limits), bit 2 splits the bytes into two slices; the rest is the
// serialized message. Invariants: every error is INVALID_ARGUMENT (RESOURCE_EXHAUSTED for limits), and a
// request PrepareEncode accepts passes the encoder's own ValidateInputs.
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/input_validation.h"
#include "qkv/v1/encoder.pb.h"
#include "server/message_codec.h"
#include "server/proto_convert.h"
#include "server/served_model.h"
#include "server/server_config.h"
#include "tests/fuzz/encoding_checks.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using qkv::fuzz::Check;

const qkv::ServedModel& Model() {
  static const qkv::ServedModel* const model = [] {
    absl::StatusOr<std::unique_ptr<qkv::ServedModel>> loaded =
        qkv::LoadServedModel(qkv::fuzz::SourceDir() + "/models/bert-tiny-random", 8192);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
      std::abort();
    }
    return loaded->release();
  }();
  return *model;
}

bool IsValidationError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ||
         status.code() == absl::StatusCode::kResourceExhausted;
}

// What the encoder would return for `prepared`: zeros of the right shapes.
qkv::JobResult FakeResult(const qkv::PreparedEncode& prepared, const qkv::ModelConfig& config) {
  qkv::JobResult result;
  const int64_t d = config.hidden_size, h = config.num_attention_heads;
  for (const qkv::PreparedSequence& sequence : prepared.sequences) {
    const int64_t t = static_cast<int64_t>(sequence.ids.size());
    qkv::SequenceOutput out;
    out.num_tokens = t;
    if (prepared.spec.token_vectors) out.last_hidden.assign(t * d, 0.0f);
    if (prepared.spec.pooling != qkv::Pooling::kNone) out.pooled.assign(d, 0.0f);
    for (int layer : prepared.spec.hidden_state_layers) out.hidden_states.push_back({layer, std::vector<float>(t * d)});
    for (int layer : prepared.spec.attention_layers) out.attentions.push_back({layer, std::vector<float>(h * t * t)});
    result.outputs.push_back(std::move(out));
  }
  result.batches = 1;
  return result;
}

// Floats FakeResult would allocate; large requests skip the response step to keep executions fast.
int64_t ResultFloats(const qkv::PreparedEncode& prepared, const qkv::ModelConfig& config) {
  int64_t floats = 0;
  for (const qkv::PreparedSequence& sequence : prepared.sequences) {
    const int64_t t = static_cast<int64_t>(sequence.ids.size());
    floats += t * config.hidden_size * (2 + static_cast<int64_t>(prepared.spec.hidden_state_layers.size())) +
              config.num_attention_heads * t * t * static_cast<int64_t>(prepared.spec.attention_layers.size());
  }
  return floats;
}

void CheckEncode(const qkv::v1::EncodeRequest& request, const qkv::ServerConfig& config) {
  const qkv::ServedModel& model = Model();
  absl::StatusOr<qkv::PreparedEncode> prepared = qkv::PrepareEncode(request, model, config);
  if (!prepared.ok()) {
    Check(IsValidationError(prepared.status()), "PrepareEncode errors are INVALID_ARGUMENT / RESOURCE_EXHAUSTED");
    return;
  }
  Check(prepared->sequences.size() == static_cast<size_t>(request.inputs_size()), "one sequence per input");
  const qkv::EncodeJob job = qkv::MakeEncodeJob(*prepared, absl::InfiniteFuture());
  const absl::Status valid = qkv::ValidateInputs(model.config, model.has_pooler, job.sequences);
  if (!valid.ok()) {
    std::fprintf(stderr, "PrepareEncode accepted what the encoder rejects: %s\n", valid.ToString().c_str());
    std::abort();
  }
  if (ResultFloats(*prepared, model.config) > (4 << 20)) return;
  qkv::v1::EncodeResponse response;
  const absl::Status filled =
      qkv::FillEncodeResponse(*prepared, FakeResult(*prepared, model.config), absl::Milliseconds(1), model,
                              config, &response);
  Check(filled.ok() || filled.code() == absl::StatusCode::kResourceExhausted,
        "FillEncodeResponse fails only on the response size limit");
  if (filled.ok()) Check(response.outputs_size() == request.inputs_size(), "one output per input");
}

}  // namespace

// Loads the fixtures before fuzzing starts, so that their cost is not charged to the first input's -timeout.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  Model();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int kind = data[0] & 3;
  const bool two_slices = data[0] & 4;
  ++data;
  --size;
  const size_t first = two_slices ? size / 2 : size;
  grpc::Slice slices[2] = {grpc::Slice(data, first), grpc::Slice(data + first, size - first)};
  const grpc::ByteBuffer bytes(slices, two_slices ? 2 : 1);

  static const qkv::ServerConfig default_config;
  static const qkv::ServerConfig tight_config = [] {
    qkv::ServerConfig config;
    config.max_batch_sequences = 3;
    config.max_message_bytes = 4096;
    config.max_attention_bytes = 1024;
    return config;
  }();

  if (kind == 1) {
    qkv::v1::TokenizeRequest request;
    const absl::Status parsed = qkv::ParseRequest(bytes, &request);
    if (!parsed.ok()) {
      Check(parsed.code() == absl::StatusCode::kInvalidArgument, "ParseRequest errors are INVALID_ARGUMENT");
      return 0;
    }
    qkv::v1::TokenizeResponse response;
    const absl::Status status = qkv::Tokenize(request, Model(), &response);
    Check(status.ok() || IsValidationError(status), "Tokenize errors are INVALID_ARGUMENT");
    return 0;
  }
  if (kind == 2) {
    qkv::v1::EncodeStreamRequest request;
    const absl::Status parsed = qkv::ParseRequest(bytes, &request);
    if (!parsed.ok()) {
      Check(parsed.code() == absl::StatusCode::kInvalidArgument, "ParseRequest errors are INVALID_ARGUMENT");
      (void)qkv::RecoverStringField(bytes, *qkv::v1::EncodeStreamRequest::descriptor(), "request_id");
      return 0;
    }
    CheckEncode(request.request(), default_config);
    return 0;
  }
  qkv::v1::EncodeRequest request;
  const absl::Status parsed = qkv::ParseRequest(bytes, &request);
  if (!parsed.ok()) {
    Check(parsed.code() == absl::StatusCode::kInvalidArgument, "ParseRequest errors are INVALID_ARGUMENT");
    return 0;
  }
  CheckEncode(request, kind == 3 ? tight_config : default_config);
  return 0;
}
