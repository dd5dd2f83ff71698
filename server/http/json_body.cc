#include "server/http/json_body.h"

#include <algorithm>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/bounded_json.h"
#include "server/http/http_error.h"

namespace qkv {
namespace {

const char* TypeName(const nlohmann::json& value) { return value.type_name(); }

absl::Status AppendIds(const nlohmann::json& ids, const std::string& param, v1::EncodeRequest* request) {
  v1::TokenIds* out = request->add_inputs()->mutable_ids();
  out->mutable_ids()->Reserve(static_cast<int>(ids.size()));
  for (size_t j = 0; j < ids.size(); ++j) {
    const nlohmann::json& id = ids[j];
    if (!id.is_number_integer()) {
      return MalformedRequest(absl::StrCat(param, "[", j, "]"),
                              absl::StrCat("expected a token id (integer), got ", TypeName(id)));
    }
    const int64_t v = id.is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(
                                                    id.get<uint64_t>(), std::numeric_limits<int64_t>::max()))
                                              : id.get<int64_t>();
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
      return MalformedRequest(absl::StrCat(param, "[", j, "]"), absl::StrCat("token id ", v, " out of range"));
    }
    out->add_ids(static_cast<int32_t>(v));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseJsonObject(absl::string_view body) {
  absl::StatusOr<nlohmann::json> parsed = ParseBoundedJson(body);
  if (!parsed.ok()) {
    return MalformedRequest("", absl::StrCat("the body is not valid JSON: ", parsed.status().message()));
  }
  if (!parsed->is_object()) {
    return MalformedRequest("", absl::StrCat("the body must be a JSON object, got ", TypeName(*parsed)));
  }
  return parsed;
}

absl::Status AppendInputs(const nlohmann::json& value, absl::string_view param, v1::EncodeRequest* request) {
  const std::string name(param);
  if (value.is_string()) {
    request->add_inputs()->mutable_text()->set_text(value.get<std::string>());
    return absl::OkStatus();
  }
  if (!value.is_array()) {
    return MalformedRequest(name, absl::StrCat("expected a string, an array of strings or token ids, got ",
                                               TypeName(value)));
  }
  if (value.empty()) return MalformedRequest(name, "is empty; send at least one input");
  if (value[0].is_number()) return AppendIds(value, name, request);  // one sequence of ids
  for (size_t i = 0; i < value.size(); ++i) {
    const nlohmann::json& item = value[i];
    const std::string item_param = absl::StrCat(name, "[", i, "]");
    if (item.is_string()) {
      request->add_inputs()->mutable_text()->set_text(item.get<std::string>());
    } else if (item.is_array()) {
      absl::Status status = AppendIds(item, item_param, request);
      if (!status.ok()) return status;
    } else {
      return MalformedRequest(item_param,
                              absl::StrCat("expected a string or an array of token ids, got ", TypeName(item)));
    }
  }
  return absl::OkStatus();
}

const nlohmann::json* OptionalField(const nlohmann::json& object, absl::string_view name) {
  auto it = object.find(std::string(name));
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

absl::Status CheckKnownFields(const nlohmann::json& object, std::initializer_list<absl::string_view> allowed) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
      return MalformedRequest(it.key(), "unknown field");
    }
  }
  return absl::OkStatus();
}

}  // namespace qkv
