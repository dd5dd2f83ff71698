// Messages to and from gRPC ByteBuffers for EncoderService's raw callback methods.
//
// The service takes requests as bytes so that a request protobuf refuses to parse still gets an answer:
// gRPC 1.51's typed callback handlers answer such a request UNIMPLEMENTED with no message, and a typed
// stream ends its reads (the server then finished the stream OK, dropping the rest). The usual cause is a
// proto3 `string` field holding invalid UTF-8, which non-C++ or raw clients can send (C++ only warns when
// serializing one). ParseRequest names that field.
//
// How: the bytes are parsed strictly into the generated message; only when that fails they are parsed
// again into a lenient twin of its type, built at run time from the type's own descriptor with every
// `string` field turned into `bytes` (wire-compatible, so it stays in sync with the .proto by
// construction), and the twin is searched for the first field that is not valid UTF-8.
//
// Thread safety: all functions are safe from any thread.
#ifndef QKV_SERVER_MESSAGE_CODEC_H_
#define QKV_SERVER_MESSAGE_CODEC_H_

#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>

#include <string>

#include "absl/status/status.h"

namespace qkv {

// Parses `bytes` into `message` (cleared first). On failure INVALID_ARGUMENT, either naming the first
// string field that is not valid UTF-8 with its path from the message root ("inputs[2].text.text: not
// valid UTF-8") or saying that the bytes are not a valid message of the type ("request is not a valid
// qkv.v1.EncodeRequest"); `message` is then left cleared.
absl::Status ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::Message* message);

// After ParseRequest failed on `bytes` as `type`: the value of the top-level string field `field_name`
// when the lenient twin parses and that value is valid UTF-8 (so an error answer can echo it, e.g.
// EncodeStreamRequest.request_id); "" otherwise.
std::string RecoverStringField(const grpc::ByteBuffer& bytes, const google::protobuf::Descriptor& type,
                               const std::string& field_name);

// Serializes `message` into `bytes` (replacing its contents). INTERNAL on failure.
absl::Status SerializeResponse(const google::protobuf::Message& message, grpc::ByteBuffer* bytes);

}  // namespace qkv

#endif  // QKV_SERVER_MESSAGE_CODEC_H_
