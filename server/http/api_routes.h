// The JSON API on the HTTP listener: thin adapters that turn each HTTP request into a qkv.v1 call on the
// server's own EncoderService through an in-process gRPC channel, so that HTTP requests go through exactly
// what gRPC requests go through: the same auth interceptor and handler checks, limits, admission, scheduler,
// metrics and access log (method label) and request id. No second serving path.
//
//   POST /v1/embeddings                        OpenAI embeddings (openai_api.h)
//   POST /embed, /embed_all, /tokenize         Hugging Face TEI (tei_api.h)
//   GET  /info
//   POST /qkv.v1.EncoderService/Encode         the proto's canonical JSON mapping (protobuf util JSON), unary
//   POST /qkv.v1.EncoderService/Tokenize       calls in the style of the Connect protocol: the body is the
//   POST /qkv.v1.EncoderService/GetModelInfo   request message in JSON, the answer the response message in
//                                              JSON; errors are {"code": "invalid_argument", "message": ...}
//
// Every route: `Authorization: Bearer <token>` is checked first when auth is on (401), then forwarded with
// `x-request-id` as call metadata. Bodies are bounded by the listener (413 before reading) and parsed with
// a depth bound (json_body.h); malformed JSON is 400 with a JSON error in the route's shape; service errors
// get the HTTP status of http_error.h. Each call has `deadline` (504 past it).
//
// Thread safety: the routes run on the listener's threads, several at once.
#ifndef QKV_SERVER_HTTP_API_ROUTES_H_
#define QKV_SERVER_HTTP_API_ROUTES_H_

#include <memory>

#include <grpcpp/channel.h>

#include "absl/time/time.h"
#include "server/auth.h"
#include "server/http/http_server.h"

namespace qkv {

struct ApiRoutesOptions {
  // Longest time one HTTP request may take in the service (queue + compute).
  absl::Duration deadline = absl::Seconds(60);
};

// Registers the routes on `http`. `channel` is an in-process channel to the server's gRPC services;
// `auth` (null: auth off) must outlive `http`'s serving. Also installs the JSON error bodies for errors
// the listener answers itself (unknown route, body too large).
void AddApiRoutes(HttpServer* http, std::shared_ptr<grpc::Channel> channel, const TokenAuthenticator* auth,
                  ApiRoutesOptions options = {});

}  // namespace qkv

#endif  // QKV_SERVER_HTTP_API_ROUTES_H_
