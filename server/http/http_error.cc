#include "server/http/http_error.h"

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace qkv {
namespace {

constexpr absl::string_view kHttpStatusPayload = "type.qkv.dev/http.status";
constexpr absl::string_view kParamPayload = "type.qkv.dev/http.param";

absl::Status WithPayloads(absl::Status status, int http_status, absl::string_view param) {
  status.SetPayload(kHttpStatusPayload, absl::Cord(absl::StrCat(http_status)));
  if (!param.empty()) status.SetPayload(kParamPayload, absl::Cord(param));
  return status;
}

}  // namespace

absl::Status MalformedRequest(absl::string_view param, absl::string_view message) {
  return WithPayloads(
      absl::InvalidArgumentError(param.empty() ? std::string(message) : absl::StrCat(param, ": ", message)),
      400, param);
}

absl::Status BodyTooLarge(int64_t bytes, int64_t limit) {
  return WithPayloads(absl::ResourceExhaustedError(absl::StrCat("the request body has ", bytes,
                                                                " bytes > --max_message_bytes=", limit)),
                      413, "");
}

absl::Status NotFoundParam(absl::string_view param, absl::string_view message) {
  return WithPayloads(absl::NotFoundError(absl::StrCat(param, ": ", message)), 404, param);
}

// The HTTP status of each absl code that has a closer one than 500.
constexpr std::pair<absl::StatusCode, int> kHttpStatuses[] = {
    {absl::StatusCode::kInvalidArgument, 422},    {absl::StatusCode::kOutOfRange, 422},
    {absl::StatusCode::kFailedPrecondition, 400}, {absl::StatusCode::kUnauthenticated, 401},
    {absl::StatusCode::kPermissionDenied, 403},   {absl::StatusCode::kNotFound, 404},
    {absl::StatusCode::kAlreadyExists, 409},      {absl::StatusCode::kAborted, 409},
    {absl::StatusCode::kResourceExhausted, 429},  {absl::StatusCode::kCancelled, 499},
    {absl::StatusCode::kUnimplemented, 501},      {absl::StatusCode::kUnavailable, 503},
    {absl::StatusCode::kDeadlineExceeded, 504},
};

int HttpStatusFor(const absl::Status& status) {
  if (status.ok()) return 200;
  if (auto forced = status.GetPayload(kHttpStatusPayload)) {
    int code = 0;
    if (absl::SimpleAtoi(std::string(*forced), &code)) return code;
  }
  for (const auto& [code, http] : kHttpStatuses) {
    if (code == status.code()) return http;
  }
  return 500;
}

std::string ErrorParam(const absl::Status& status) {
  auto param = status.GetPayload(kParamPayload);
  return param ? std::string(*param) : std::string();
}

std::string CodeName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kCancelled:
      return "canceled";  // Connect's spelling
    default:
      return absl::AsciiStrToLower(absl::StatusCodeToString(code));
  }
}

}  // namespace qkv
