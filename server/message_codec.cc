#include "server/message_codec.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace qkv {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::io::CodedInputStream;
using ::google::protobuf::internal::WireFormatLite;

// Deeper than any qkv.v1 request; bounds the scanner's recursion on hostile nesting of known types.
constexpr int kMaxDepth = 32;

// The same validity test protobuf's parser applies to proto3 strings (wire_format_lite's VerifyUtf8String).
bool IsValidUtf8(const std::string& s) {
  return google::protobuf::internal::IsStructurallyValidUTF8(s.data(), static_cast<int>(s.size()));
}

std::string Join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : absl::StrCat(prefix, ".", name);
}

// One pass over a message's wire bytes. Scan() returns false when the framing is broken; violations of
// the limits or of UTF-8 go to `first_error` (the first one found) and do not stop the pass.
class WireScanner {
 public:
  WireScanner(const ParseLimits& limits, const std::string& recover_field)
      : limits_(limits), recover_field_(recover_field) {}

  bool Scan(CodedInputStream* in, const Descriptor& type, const std::string& prefix, int depth) {
    if (depth > kMaxDepth) return false;
    // Occurrences so far of each field of this message (an index for paths, a count for limits).
    absl::flat_hash_map<int, int64_t> seen;
    for (;;) {
      const uint32_t tag = in->ReadTag();
      if (tag == 0) return in->ConsumedEntireMessage();  // false for a literal 0 tag
      const int number = WireFormatLite::GetTagFieldNumber(tag);
      if (number == 0) return false;
      const FieldDescriptor* field = type.FindFieldByNumber(number);
      switch (WireFormatLite::GetTagWireType(tag)) {
        case WireFormatLite::WIRETYPE_VARINT: {
          uint64_t value;
          if (!in->ReadVarint64(&value)) return false;
          break;
        }
        case WireFormatLite::WIRETYPE_FIXED64:
          if (!in->Skip(8)) return false;
          break;
        case WireFormatLite::WIRETYPE_FIXED32:
          if (!in->Skip(4)) return false;
          break;
        case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
          uint32_t length;
          if (!in->ReadVarint32(&length) || length > static_cast<uint32_t>(INT32_MAX)) return false;
          const int64_t index = seen[number]++;
          if (!LengthDelimited(in, field, static_cast<int>(length), index, prefix, depth)) return false;
          break;
        }
        default:
          return false;  // groups (not in proto3) and invalid wire types
      }
    }
  }

  const absl::Status& first_error() const { return first_error_; }
  const std::string& recovered() const { return recovered_; }

 private:
  bool LengthDelimited(CodedInputStream* in, const FieldDescriptor* field, int length, int64_t index,
                       const std::string& prefix, int depth) {
    const bool is_string = field != nullptr && field->type() == FieldDescriptor::TYPE_STRING;
    const bool is_bytes = field != nullptr && field->type() == FieldDescriptor::TYPE_BYTES;
    const bool is_message = field != nullptr && field->type() == FieldDescriptor::TYPE_MESSAGE;
    if (!is_string && !is_bytes && !is_message) return in->Skip(length);  // packed scalars, unknown fields
    const std::string path =
        field->is_repeated() ? absl::StrCat(Join(prefix, field->name()), "[", index, "]")
                             : Join(prefix, field->name());
    if (is_message) {
      if (field->is_repeated() && limits_.max_repeated_messages > 0 &&
          index >= limits_.max_repeated_messages) {
        Fail(absl::StrCat(Join(prefix, field->name()), ": more than ", limits_.max_repeated_messages,
                          " elements (--", limits_.repeated_flag, "=", limits_.max_repeated_messages, ")"));
        return in->Skip(length);  // checking the framing only from here: no need to look inside
      }
      if (!first_error_.ok()) return in->Skip(length);
      const CodedInputStream::Limit limit = in->PushLimit(length);
      if (!in->IncrementRecursionDepth()) return false;
      const bool ok = Scan(in, *field->message_type(), path, depth + 1) && in->ConsumedEntireMessage();
      in->DecrementRecursionDepth();
      in->PopLimit(limit);
      return ok;
    }
    if (limits_.max_string_bytes > 0 && length > limits_.max_string_bytes) {
      Fail(absl::StrCat(path, ": ", length, " bytes > --", limits_.string_flag, "=", limits_.max_string_bytes));
      return in->Skip(length);
    }
    const bool recover = depth == 0 && !recover_field_.empty() && field->name() == recover_field_;
    if (!is_string || (!first_error_.ok() && !recover)) return in->Skip(length);
    if (!in->ReadString(&buffer_, length)) return false;
    const bool valid = IsValidUtf8(buffer_);
    if (!valid) Fail(absl::StrCat(path, ": not valid UTF-8"));
    if (recover) recovered_ = valid ? buffer_ : "";
    return true;
  }

  void Fail(std::string message) {
    if (first_error_.ok()) first_error_ = absl::InvalidArgumentError(std::move(message));
  }

  const ParseLimits limits_;  // copied: callers may pass a temporary
  const std::string recover_field_;
  absl::Status first_error_;
  std::string recovered_;
  std::string buffer_;  // reused for each string read
};

// Scans `bytes` as `type`: false when the framing is broken.
bool ScanBytes(const grpc::ByteBuffer& bytes, const Descriptor& type, WireScanner* scanner) {
  grpc::ByteBuffer copy(bytes);  // shares the slices; the reader consumes its buffer
  grpc::ProtoBufferReader reader(&copy);
  if (!reader.status().ok()) return false;
  CodedInputStream in(&reader);
  return scanner->Scan(&in, type, "", 0) && in.ConsumedEntireMessage();
}

absl::Status NotValid(const Message& message) {
  return absl::InvalidArgumentError(
      absl::StrCat("request is not a valid ", message.GetDescriptor()->full_name()));
}

}  // namespace

absl::Status ParseRequest(const grpc::ByteBuffer& bytes, const ParseLimits& limits, Message* message,
                          const std::string& recover_field, std::string* recovered) {
  message->Clear();
  if (recovered != nullptr) recovered->clear();
  if (!bytes.Valid()) return NotValid(*message);
  WireScanner scanner(limits, recover_field);
  const bool framed = ScanBytes(bytes, *message->GetDescriptor(), &scanner);
  if (framed && recovered != nullptr) *recovered = scanner.recovered();
  if (!framed) return NotValid(*message);
  if (!scanner.first_error().ok()) return scanner.first_error();
  grpc::ByteBuffer copy(bytes);
  grpc::ProtoBufferReader reader(&copy);
  if (reader.status().ok() && message->ParseFromZeroCopyStream(&reader)) return absl::OkStatus();
  message->Clear();
  return NotValid(*message);
}

absl::Status ParseRequest(const grpc::ByteBuffer& bytes, Message* message) {
  return ParseRequest(bytes, ParseLimits{}, message);
}

std::string RecoverStringField(const grpc::ByteBuffer& bytes, const Descriptor& type,
                               const std::string& field_name) {
  if (!bytes.Valid()) return "";
  WireScanner scanner(ParseLimits{}, field_name);
  if (!ScanBytes(bytes, type, &scanner)) return "";
  return scanner.recovered();
}

absl::Status SerializeResponse(const Message& message, grpc::ByteBuffer* bytes) {
  bytes->Clear();  // gRPC's writer requires an empty buffer
  bool own_buffer = false;
  const grpc::Status status = grpc::SerializationTraits<Message>::Serialize(message, bytes, &own_buffer);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot serialize ", message.GetDescriptor()->full_name(), ": ",
                                            status.error_message()));
  }
  return absl::OkStatus();
}

}  // namespace qkv
