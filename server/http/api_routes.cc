#include "server/http/api_routes.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/types/optional.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "qkv/v1/encoder.grpc.pb.h"
#include "server/http/http_error.h"
#include "server/http/json_body.h"
#include "server/http/openai_api.h"
#include "server/http/tei_api.h"
#include "server/observability/request_id.h"

namespace qkv {
namespace {

// Which error body a route answers with.
enum class ErrorShape { kOpenAi, kTei, kConnect };

constexpr char kJson[] = "application/json";

HttpResponse JsonResponse(int status, const nlohmann::json& body) {
  HttpResponse response;
  response.status = status;
  response.content_type = kJson;
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

HttpResponse ErrorResponse(ErrorShape shape, const absl::Status& status) {
  const int http_status = HttpStatusFor(status);
  switch (shape) {
    case ErrorShape::kOpenAi:
      return JsonResponse(http_status, OpenAiError(status));
    case ErrorShape::kTei:
      return JsonResponse(http_status, TeiError(status));
    case ErrorShape::kConnect:
      return JsonResponse(http_status,
                          {{"code", CodeName(status.code())}, {"message", std::string(status.message())}});
  }
  return JsonResponse(500, {{"error", "unreachable"}});
}

// The route family of a path, for the errors the listener answers itself.
ErrorShape ShapeForPath(absl::string_view path) {
  if (absl::StartsWith(path, "/v1/")) return ErrorShape::kOpenAi;
  if (absl::StartsWith(path, "/qkv.")) return ErrorShape::kConnect;
  return ErrorShape::kTei;
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

class ApiRoutes : public std::enable_shared_from_this<ApiRoutes> {
 public:
  ApiRoutes(std::shared_ptr<grpc::Channel> channel, const TokenAuthenticator* auth, ApiRoutesOptions options)
      : stub_(v1::EncoderService::NewStub(channel)), auth_(auth), options_(options) {}

  void Register(HttpServer* http) {
    // Each handler holds a shared_ptr to the routes: they live as long as the listener's handlers.
    // REQUIRES: `this` is owned by a shared_ptr.
    Add(http, "POST", "/v1/embeddings", ErrorShape::kOpenAi, &ApiRoutes::OpenAiEmbeddings);
    Add(http, "POST", "/embed", ErrorShape::kTei, &ApiRoutes::TeiEmbed);
    Add(http, "POST", "/embed_all", ErrorShape::kTei, &ApiRoutes::TeiEmbedAll);
    Add(http, "POST", "/tokenize", ErrorShape::kTei, &ApiRoutes::TeiTokenize);
    Add(http, "GET", "/info", ErrorShape::kTei, &ApiRoutes::TeiInfoRoute);
    Add(http, "POST", "/qkv.v1.EncoderService/Encode", ErrorShape::kConnect, &ApiRoutes::ProtoEncode);
    Add(http, "POST", "/qkv.v1.EncoderService/Tokenize", ErrorShape::kConnect, &ApiRoutes::ProtoTokenize);
    Add(http, "POST", "/qkv.v1.EncoderService/GetModelInfo", ErrorShape::kConnect,
        &ApiRoutes::ProtoGetModelInfo);
  }

 private:
  using Route = absl::StatusOr<HttpResponse> (ApiRoutes::*)(const HttpRequest&);

  void Add(HttpServer* http, const char* method, const std::string& path, ErrorShape shape, Route route) {
    http->Handle(method, path, [self = shared_from_this(), shape, route](const HttpRequest& request) {
      absl::Status allowed = self->Authenticate(request);
      if (!allowed.ok()) return ErrorResponse(shape, allowed);
      absl::StatusOr<HttpResponse> response = ((*self).*route)(request);
      return response.ok() ? *std::move(response) : ErrorResponse(shape, response.status());
    });
  }

  // UNAUTHENTICATED unless auth is off or the Authorization header holds a known token. The service checks
  // again (the header is forwarded); checking here answers before the body is parsed.
  absl::Status Authenticate(const HttpRequest& request) const {
    if (auth_ == nullptr) return absl::OkStatus();
    std::vector<absl::string_view> values;
    auto [begin, end] = request.headers.equal_range("authorization");
    for (auto it = begin; it != end; ++it) values.push_back(it->second);
    return auth_->AuthenticateValues(values).status();
  }

  // The call context of one request: deadline, the caller's token and the request id.
  // `deadline`: the HTTP request's (InfiniteFuture: now + options_.deadline).
  void Prepare(const HttpRequest& request, grpc::ClientContext* context,
               absl::Time deadline = absl::InfiniteFuture()) const {
    if (deadline == absl::InfiniteFuture()) deadline = absl::Now() + options_.deadline;
    context->set_deadline(absl::ToChronoTime(deadline));
    const std::string authorization = request.Header("authorization");
    if (!authorization.empty()) context->AddMetadata("authorization", authorization);
    context->AddMetadata(kRequestIdKey, request.request_id);
  }

  absl::StatusOr<v1::EncodeResponse> Encode(const HttpRequest& request, const v1::EncodeRequest& encode) {
    grpc::ClientContext context;
    Prepare(request, &context);
    v1::EncodeResponse response;
    grpc::Status status = stub_->Encode(&context, encode, &response);
    if (!status.ok()) return FromGrpc(status);
    return response;
  }

  absl::StatusOr<v1::TokenizeResponse> Tokenize(const HttpRequest& request, const v1::TokenizeRequest& tokenize,
                                                absl::Time deadline = absl::InfiniteFuture()) {
    grpc::ClientContext context;
    Prepare(request, &context, deadline);
    v1::TokenizeResponse response;
    grpc::Status status = stub_->Tokenize(&context, tokenize, &response);
    if (!status.ok()) return FromGrpc(status);
    return response;
  }

  // The model description; fetched once and kept (the served model never changes after it loads).
  absl::StatusOr<v1::GetModelInfoResponse> ModelInfo(const HttpRequest& request) {
    {
      absl::MutexLock lock(&mu_);
      if (info_.has_value()) return *info_;
    }
    grpc::ClientContext context;
    Prepare(request, &context);
    v1::GetModelInfoResponse info;
    grpc::Status status = stub_->GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
    if (!status.ok()) return FromGrpc(status);
    absl::MutexLock lock(&mu_);
    info_ = info;
    return info;
  }

  absl::StatusOr<HttpResponse> OpenAiEmbeddings(const HttpRequest& request) {
    QKV_ASSIGN_OR_RETURN(const nlohmann::json body, ParseJsonObject(request.body));
    QKV_ASSIGN_OR_RETURN(const v1::GetModelInfoResponse info, ModelInfo(request));
    QKV_ASSIGN_OR_RETURN(const OpenAiEmbeddingsRequest parsed,
                         ParseOpenAiEmbeddings(body, info.model(), info.architecture().hidden_size()));
    QKV_ASSIGN_OR_RETURN(const v1::EncodeResponse encoded, Encode(request, parsed.encode));
    QKV_ASSIGN_OR_RETURN(const nlohmann::json out, OpenAiEmbeddingsResponse(parsed, encoded, info.model()));
    return JsonResponse(200, out);
  }

  absl::StatusOr<HttpResponse> TeiEmbedImpl(const HttpRequest& request, bool all) {
    QKV_ASSIGN_OR_RETURN(const nlohmann::json body, ParseJsonObject(request.body));
    QKV_ASSIGN_OR_RETURN(const v1::GetModelInfoResponse info, ModelInfo(request));
    QKV_ASSIGN_OR_RETURN(const TeiEmbedRequest parsed, ParseTeiEmbed(body, all, info.architecture().hidden_size()));
    QKV_ASSIGN_OR_RETURN(const v1::EncodeResponse encoded, Encode(request, parsed.encode));
    QKV_ASSIGN_OR_RETURN(const nlohmann::json out,
                         all ? TeiEmbedAllResponse(encoded) : TeiEmbedResponse(parsed, encoded));
    return JsonResponse(200, out);
  }
  absl::StatusOr<HttpResponse> TeiEmbed(const HttpRequest& request) { return TeiEmbedImpl(request, false); }
  absl::StatusOr<HttpResponse> TeiEmbedAll(const HttpRequest& request) { return TeiEmbedImpl(request, true); }

  absl::StatusOr<HttpResponse> TeiTokenize(const HttpRequest& request) {
    QKV_ASSIGN_OR_RETURN(const nlohmann::json body, ParseJsonObject(request.body));
    QKV_ASSIGN_OR_RETURN(const TeiTokenizeRequest parsed, ParseTeiTokenize(body));
    QKV_ASSIGN_OR_RETURN(const v1::GetModelInfoResponse info, ModelInfo(request));
    const int64_t most = info.limits().max_batch_sequences();
    if (static_cast<int64_t>(parsed.texts.size()) > most) {
      return absl::InvalidArgumentError(absl::StrCat("inputs: ", parsed.texts.size(),
                                                     " inputs > --max_batch_sequences=", most));
    }
    // One deadline for the whole HTTP request, however many texts it holds.
    const absl::Time deadline = absl::Now() + options_.deadline;
    std::vector<v1::TokenizeResponse> responses;
    responses.reserve(parsed.texts.size());
    for (size_t i = 0; i < parsed.texts.size(); ++i) {
      absl::StatusOr<v1::TokenizeResponse> tokens = Tokenize(request, parsed.texts[i], deadline);
      if (!tokens.ok()) {
        return absl::Status(tokens.status().code(),
                            absl::StrCat("inputs[", i, "]: ", tokens.status().message()));
      }
      responses.push_back(*std::move(tokens));
    }
    return JsonResponse(200, TeiTokenizeResponse(parsed, responses));
  }

  absl::StatusOr<HttpResponse> TeiInfoRoute(const HttpRequest& request) {
    QKV_ASSIGN_OR_RETURN(const v1::GetModelInfoResponse info, ModelInfo(request));
    return JsonResponse(200, TeiInfo(info));
  }

  // Proto JSON: the body is the request message in protobuf's JSON mapping (unknown fields refused).
  template <typename Message>
  static absl::Status ParseProtoJson(const HttpRequest& request, Message* message) {
    QKV_RETURN_IF_ERROR(ParseJsonObject(request.body).status());  // depth, syntax, an object
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    const google::protobuf::util::Status status =
        google::protobuf::util::JsonStringToMessage(request.body, message, options);
    if (!status.ok()) return MalformedRequest("", std::string(status.message()));
    return absl::OkStatus();
  }

  static absl::StatusOr<HttpResponse> ProtoJsonResponse(const google::protobuf::Message& message) {
    std::string out;
    const google::protobuf::util::Status status = google::protobuf::util::MessageToJsonString(message, &out);
    if (!status.ok()) return absl::InternalError(std::string(status.message()));
    HttpResponse response;
    response.content_type = kJson;
    response.body = std::move(out);
    return response;
  }

  absl::StatusOr<HttpResponse> ProtoEncode(const HttpRequest& request) {
    v1::EncodeRequest encode;
    QKV_RETURN_IF_ERROR(ParseProtoJson(request, &encode));
    QKV_ASSIGN_OR_RETURN(const v1::EncodeResponse response, Encode(request, encode));
    return ProtoJsonResponse(response);
  }

  absl::StatusOr<HttpResponse> ProtoTokenize(const HttpRequest& request) {
    v1::TokenizeRequest tokenize;
    QKV_RETURN_IF_ERROR(ParseProtoJson(request, &tokenize));
    QKV_ASSIGN_OR_RETURN(const v1::TokenizeResponse response, Tokenize(request, tokenize));
    return ProtoJsonResponse(response);
  }

  absl::StatusOr<HttpResponse> ProtoGetModelInfo(const HttpRequest& request) {
    v1::GetModelInfoRequest get;
    QKV_RETURN_IF_ERROR(ParseProtoJson(request, &get));
    grpc::ClientContext context;
    Prepare(request, &context);
    v1::GetModelInfoResponse info;
    grpc::Status status = stub_->GetModelInfo(&context, get, &info);
    if (!status.ok()) return FromGrpc(status);
    return ProtoJsonResponse(info);
  }

  const std::unique_ptr<v1::EncoderService::Stub> stub_;
  const TokenAuthenticator* const auth_;
  const ApiRoutesOptions options_;
  absl::Mutex mu_;
  absl::optional<v1::GetModelInfoResponse> info_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

void AddApiRoutes(HttpServer* http, std::shared_ptr<grpc::Channel> channel, const TokenAuthenticator* auth,
                  ApiRoutesOptions options) {
  // The routes live as long as the process's listener; the HttpServer's handlers share ownership.
  auto routes = std::make_shared<ApiRoutes>(std::move(channel), auth, options);
  routes->Register(http);
  http->SetErrorBody([routes](const std::string& path, int status, const std::string& message) {
    absl::Status error = status == 404   ? absl::NotFoundError(message)
                         : status == 413 ? absl::ResourceExhaustedError(message)
                                         : absl::InvalidArgumentError(message);
    HttpResponse response = ErrorResponse(ShapeForPath(path), error);
    response.status = status;
    return response;
  });
}

}  // namespace qkv
