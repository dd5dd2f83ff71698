#include "server/client_identity.h"

#include "absl/strings/match.h"

namespace qkv {

std::string PeerWithoutPort(absl::string_view peer) {
  if (!absl::StartsWith(peer, "ipv4:") && !absl::StartsWith(peer, "ipv6:")) return std::string(peer);
  const size_t colon = peer.rfind(':');
  if (colon <= 4) return std::string(peer);
  const absl::string_view host = peer.substr(0, colon);
  // An ipv6 peer has a port only in the bracket form, "ipv6:[::1]:5000".
  if (absl::StartsWith(peer, "ipv6:") && !absl::EndsWith(host, "]")) return std::string(peer);
  return std::string(host);
}

std::string ClientKey(const grpc::CallbackServerContext& context) { return PeerWithoutPort(context.peer()); }

std::string ConnectionKey(const grpc::CallbackServerContext& context) { return context.peer(); }

}  // namespace qkv
