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
  return OrderedJson::parse(text, nullptr, /*allow_exceptions=*/false);
}

std::string DumpJsonLine(const OrderedJson& json) {
  return json.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/false,
                   OrderedJson::error_handler_t::replace) +
         "\n";
}

}  // namespace qkv
