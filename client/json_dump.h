// The CLI's fixed-layout JSON documents (info, tokenize, bench reports) are built as nlohmann JSON values
// with their keys in insertion order, and written compactly on one line. Encode outputs, which need the
// shortest exact float form and streaming, use JsonWriter instead.
#ifndef QKV_CLIENT_JSON_DUMP_H_
#define QKV_CLIENT_JSON_DUMP_H_

#include <string>

#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"

namespace qkv {

using OrderedJson = nlohmann::ordered_json;

// Every field of `message` (defaults included) under its proto name, in field order, through protobuf's
// JSON mapping (enums become their value names), except that singular 64-bit integers stay numbers.
OrderedJson ProtoToJson(const google::protobuf::Message& message);

// `json` without whitespace, followed by a newline. Strings that are not valid UTF-8 (a server's error
// message, say) have each bad byte replaced by U+FFFD; NaN and infinities are written as null.
std::string DumpJsonLine(const OrderedJson& json);

}  // namespace qkv

#endif  // QKV_CLIENT_JSON_DUMP_H_
