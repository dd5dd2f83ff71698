#include "server/message_codec.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/stubs/common.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace qkv {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::DescriptorPool;
using ::google::protobuf::DescriptorProto;
using ::google::protobuf::DynamicMessageFactory;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::FieldDescriptorProto;
using ::google::protobuf::FileDescriptor;
using ::google::protobuf::FileDescriptorProto;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;

// The same validity test protobuf's parser applies to proto3 strings (wire_format_lite's VerifyUtf8String).
bool IsValidUtf8(const std::string& s) {
  return google::protobuf::internal::IsStructurallyValidUTF8(s.data(), static_cast<int>(s.size()));
}

// Parses `bytes` into `message` without consuming them (a ByteBuffer copy shares its slices).
bool ParseBytes(const grpc::ByteBuffer& bytes, Message* message) {
  grpc::ByteBuffer copy(bytes);
  grpc::ProtoBufferReader reader(&copy);
  return reader.status().ok() && message->ParseFromZeroCopyStream(&reader);
}

void StringsToBytes(DescriptorProto* message) {
  for (FieldDescriptorProto& field : *message->mutable_field()) {
    if (field.type() == FieldDescriptorProto::TYPE_STRING) field.set_type(FieldDescriptorProto::TYPE_BYTES);
  }
  for (FieldDescriptorProto& field : *message->mutable_extension()) {
    if (field.type() == FieldDescriptorProto::TYPE_STRING) field.set_type(FieldDescriptorProto::TYPE_BYTES);
  }
  for (DescriptorProto& nested : *message->mutable_nested_type()) StringsToBytes(&nested);
}

// Lenient twins of generated message types: the same files rebuilt in a private pool with every string
// field made bytes, so any bytes that protobuf rejected only for their UTF-8 parse into the twin.
// Built on first use (the error path only); never destroyed, since twin messages point into the pool.
class LenientTypes {
 public:
  static LenientTypes& Get() {
    static LenientTypes* const types = new LenientTypes();
    return *types;
  }

  // A new, empty twin of `type`; nullptr when its file cannot be rebuilt (never expected).
  std::unique_ptr<Message> New(const Descriptor& type) {
    absl::MutexLock lock(&mu_);
    if (!AddFile(*type.file())) return nullptr;
    const Descriptor* twin = pool_.FindMessageTypeByName(type.full_name());
    if (twin == nullptr) return nullptr;
    return std::unique_ptr<Message>(factory_.GetPrototype(twin)->New());
  }

 private:
  LenientTypes() = default;

  bool AddFile(const FileDescriptor& file) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (pool_.FindFileByName(file.name()) != nullptr) return true;
    for (int i = 0; i < file.dependency_count(); ++i) {
      if (!AddFile(*file.dependency(i))) return false;
    }
    FileDescriptorProto proto;
    file.CopyTo(&proto);
    for (DescriptorProto& message : *proto.mutable_message_type()) StringsToBytes(&message);
    for (FieldDescriptorProto& field : *proto.mutable_extension()) {
      if (field.type() == FieldDescriptorProto::TYPE_STRING) field.set_type(FieldDescriptorProto::TYPE_BYTES);
    }
    return pool_.BuildFile(proto) != nullptr;
  }

  absl::Mutex mu_;
  DescriptorPool pool_ ABSL_GUARDED_BY(mu_);
  DynamicMessageFactory factory_{&pool_};
};

std::string Join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : absl::StrCat(prefix, ".", name);
}

// The path of the first field (in field-number order, depth first) of `twin` whose original field in
// `type` is a string holding invalid UTF-8; "" when there is none.
std::string FirstInvalidUtf8(const Message& twin, const Descriptor& type, const std::string& prefix) {
  const Reflection* reflection = twin.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(twin, &fields);
  for (const FieldDescriptor* field : fields) {
    const FieldDescriptor* original = type.FindFieldByNumber(field->number());
    if (original == nullptr) continue;
    const std::string path = Join(prefix, original->name());
    if (original->type() == FieldDescriptor::TYPE_STRING) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(twin, field); ++i) {
          if (!IsValidUtf8(reflection->GetRepeatedString(twin, field, i))) {
            return absl::StrCat(path, "[", i, "]");
          }
        }
      } else if (!IsValidUtf8(reflection->GetString(twin, field))) {
        return path;
      }
    } else if (original->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(twin, field); ++i) {
          std::string found = FirstInvalidUtf8(reflection->GetRepeatedMessage(twin, field, i),
                                               *original->message_type(), absl::StrCat(path, "[", i, "]"));
          if (!found.empty()) return found;
        }
      } else {
        std::string found =
            FirstInvalidUtf8(reflection->GetMessage(twin, field), *original->message_type(), path);
        if (!found.empty()) return found;
      }
    }
  }
  return "";
}

}  // namespace

absl::Status ParseRequest(const grpc::ByteBuffer& bytes, Message* message) {
  message->Clear();
  if (bytes.Valid() && ParseBytes(bytes, message)) return absl::OkStatus();
  message->Clear();
  const Descriptor& type = *message->GetDescriptor();
  std::unique_ptr<Message> twin = LenientTypes::Get().New(type);
  if (bytes.Valid() && twin != nullptr && ParseBytes(bytes, twin.get())) {
    const std::string field = FirstInvalidUtf8(*twin, type, "");
    if (!field.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": not valid UTF-8"));
  }
  return absl::InvalidArgumentError(absl::StrCat("request is not a valid ", type.full_name()));
}

std::string RecoverStringField(const grpc::ByteBuffer& bytes, const Descriptor& type,
                               const std::string& field_name) {
  const FieldDescriptor* original = type.FindFieldByName(field_name);
  if (!bytes.Valid() || original == nullptr || original->type() != FieldDescriptor::TYPE_STRING ||
      original->is_repeated()) {
    return "";
  }
  std::unique_ptr<Message> twin = LenientTypes::Get().New(type);
  if (twin == nullptr || !ParseBytes(bytes, twin.get())) return "";
  const FieldDescriptor* field = twin->GetDescriptor()->FindFieldByNumber(original->number());
  if (field == nullptr) return "";
  std::string value = twin->GetReflection()->GetString(*twin, field);
  return IsValidUtf8(value) ? value : "";
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
