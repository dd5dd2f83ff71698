// Who a call comes from, for the per-client share of the queue and round-robin batching
// (BatchScheduler), and which connection it uses, for the per-connection stream cap.
//
// Today a client is its peer address without the port, so that every connection from one host counts as
// one client. When authentication lands, ClientKey is the one place to return the token's identity instead.
//
// Thread safety: stateless functions; safe from any thread.
#ifndef QKV_SERVER_CLIENT_IDENTITY_H_
#define QKV_SERVER_CLIENT_IDENTITY_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/strings/string_view.h"

namespace qkv {

// The client a call belongs to, e.g. "ipv4:10.0.0.7" or "ipv6:[::1]" ("unix:/run/qkv.sock" as is).
std::string ClientKey(const grpc::CallbackServerContext& context);

// The connection a call uses: gRPC's peer string with the port, e.g. "ipv4:10.0.0.7:51234".
std::string ConnectionKey(const grpc::CallbackServerContext& context);

// ClientKey's rule on a peer string: drops a trailing ":port" from ipv4:/ipv6: peers. Exposed for tests.
std::string PeerWithoutPort(absl::string_view peer);

}  // namespace qkv

#endif  // QKV_SERVER_CLIENT_IDENTITY_H_
