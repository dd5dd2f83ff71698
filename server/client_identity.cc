#include "server/client_identity.h"

#include "absl/strings/match.h"

namespace qkv {

std::string PeerWithoutPort(absl::string_view peer) {
  if (!absl::StartsWith(peer, "ipv4:") && !absl::StartsWith(peer, "ipv6:")) return std::string(peer);
  const size_t colon = peer.rfind(':');
  const size_t bracket = peer.rfind(']');
  // "ipv6:[::1]:5000": the port follows the bracket; "ipv4:1.2.3.4:5000": the last colon.
  if (colon == absl::string_view::npos || colon <= 4 || (bracket != absl::string_view::npos && colon < bracket)) {
    return std::string(peer);
  }
  return std::string(peer.substr(0, colon));
}

std::string ClientKey(const grpc::CallbackServerContext& context) { return PeerWithoutPort(context.peer()); }

std::string ConnectionKey(const grpc::CallbackServerContext& context) { return context.peer(); }

}  // namespace qkv
