#include "client/json_dump.h"

#include "google/protobuf/util/json_util.h"

namespace qkv {

OrderedJson ProtoToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string text;
  // Printing a valid message cannot fail (it has no Any fields to resolve).
  (void)google::protobuf::util::MessageToJsonString(message, &text, options);
  OrderedJson json = OrderedJson::parse(text, nullptr, /*allow_exceptions=*/false);
  // The mapping writes 64-bit integers as strings (for JavaScript); the CLI's documents hold numbers.
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection& reflection = *message.GetReflection();
  for (int i = 0; i < message.GetDescriptor()->field_count(); ++i) {
    const FieldDescriptor* field = message.GetDescriptor()->field(i);
    if (field->is_repeated()) continue;
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_INT64) {
      json[field->name()] = reflection.GetInt64(message, field);
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_UINT64) {
      json[field->name()] = reflection.GetUInt64(message, field);
    }
  }
  return json;
}

std::string DumpJsonLine(const OrderedJson& json) {
  return json.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/false,
                   OrderedJson::error_handler_t::replace) +
         "\n";
}

}  // namespace qkv
