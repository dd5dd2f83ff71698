// Messages to and from gRPC ByteBuffers for EncoderService's raw callback methods.
//
// The service takes requests as bytes so that it can bound their cost before parsing them, and so that a
// request protobuf refuses to parse still gets an answer (gRPC 1.51's typed callback handlers answer such
// a request UNIMPLEMENTED with no message, and a typed stream ends its reads). The usual cause is a proto3
// `string` field holding invalid UTF-8, which non-C++ or raw clients can send; ParseRequest names it.
//
// How: one linear scan of the wire bytes, driven by the type's descriptor and allocating nothing per field,
// checks the limits (the bytes of every string field, the elements of every repeated message field) and
// the UTF-8 of every string field. After the first violation it only skips (reading no more strings) to
// check the framing: broken framing makes the bytes "not a valid" message whatever came before. Only bytes
// that pass are parsed, once,
// into the message (on the caller's protobuf Arena when the message lives on one). A malformed request is
// thus scanned once and parsed at most once.
//
// Thread safety: all functions are safe from any thread.
#ifndef QKV_SERVER_MESSAGE_CODEC_H_
#define QKV_SERVER_MESSAGE_CODEC_H_

#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace qkv {

// Bounds checked on the wire before parsing; 0 = unbounded. The flag names go into the error messages.
struct ParseLimits {
  int64_t max_string_bytes = 0;    // any string or bytes field
  std::string string_flag = "max_text_bytes";
  int64_t max_repeated_messages = 0;  // elements of any one repeated message field (e.g. inputs)
  std::string repeated_flag = "max_batch_sequences";
};

// Parses `bytes` into `message` (cleared first). On failure INVALID_ARGUMENT with `message` left cleared:
// - a limit, naming the field and the flag: "inputs[0].text.text: 16777216 bytes > --max_text_bytes=1048576",
//   "inputs: more than 64 elements (--max_batch_sequences=64)";
// - the first string field that is not valid UTF-8, with its path from the message root
//   ("inputs[2].text.text: not valid UTF-8");
// - or "request is not a valid qkv.v1.EncodeRequest" when the bytes are not a message of the type.
// When `recover_field` names a top-level string field, `*recovered` gets its value if the scan reached it
// and it is valid UTF-8 (so that an error answer can echo e.g. EncodeStreamRequest.request_id), else "".
absl::Status ParseRequest(const grpc::ByteBuffer& bytes, const ParseLimits& limits,
                          google::protobuf::Message* message, const std::string& recover_field = "",
                          std::string* recovered = nullptr);
// The same without limits.
absl::Status ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::Message* message);

// The value of the top-level string field `field_name` of `bytes` read as `type` ("" when the bytes are
// malformed before it, it is absent, or it is not valid UTF-8). Scans; parses nothing.
std::string RecoverStringField(const grpc::ByteBuffer& bytes, const google::protobuf::Descriptor& type,
                               const std::string& field_name);

// Serializes `message` into `bytes` (replacing its contents). INTERNAL on failure.
absl::Status SerializeResponse(const google::protobuf::Message& message, grpc::ByteBuffer* bytes);

}  // namespace qkv

#endif  // QKV_SERVER_MESSAGE_CODEC_H_
