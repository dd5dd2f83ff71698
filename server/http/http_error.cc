#include "server/http/http_error.h"

#include <optional>

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

int HttpStatusFor(const absl::Status& status) {
  if (status.ok()) return 200;
  if (auto forced = status.GetPayload(kHttpStatusPayload)) {
    int code = 0;
    if (absl::SimpleAtoi(std::string(*forced), &code)) return code;
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 422;
    case absl::StatusCode::kFailedPrecondition:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
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
