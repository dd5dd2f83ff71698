// Bearer-token access control for qkv-server (--auth_token_file), and the caller's identity.
//
//   QKV_ASSIGN_OR_RETURN(std::unique_ptr<TokenAuthenticator> auth,
//                        TokenAuthenticator::Create("/etc/qkv/tokens"));   // reads, then watches the file
//   builder.experimental().SetInterceptorCreators(AuthInterceptorCreators(auth.get()));
//   ...
//   // in a handler: the token's name, or UNAUTHENTICATED
//   absl::StatusOr<std::string> who = CallerIdentity(*context, auth.get());
//
// What is checked: every call except grpc.health.v1.Health/* must carry exactly one metadata entry
// `authorization: Bearer <token>` (scheme case-insensitive) whose token is in the file (token_set.h has the
// file format and the constant-time comparison). Anything else is UNAUTHENTICATED with a message that says
// what is wrong but never echoes the token.
//
// Where it is checked: gRPC 1.51's AuthMetadataProcessor cannot be set on insecure credentials (it aborts)
// and its AuthContext is shared by every call of a connection, and server interceptors cannot answer a call
// themselves. So AuthInterceptor (installed for every method but health) checks the metadata as soon as it
// arrives and, on failure, cancels the call with UNAUTHENTICATED through the C core
// (grpc_call_cancel_with_status): this covers server reflection and any method registered later. Because a
// unary request may already have been read when the interceptor runs, the EncoderService handlers check
// again through CallerIdentity before doing any work, and take the identity from it.
//
// Reloading: the file is stat()ed every `poll_interval` (default 1 s) on a watcher thread; when its inode,
// size or mtime changed it is re-read and, if it parses, replaces the tokens at once (calls already running
// are unaffected). A file that is missing, unreadable or invalid on reload keeps the previous tokens and
// logs one error line per change (spdlog); a successful reload logs the token count. Tokens are never
// logged.
//
// Thread safety: all methods may be called from any thread.
#ifndef QKV_SERVER_AUTH_H_
#define QKV_SERVER_AUTH_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/token_set.h"

namespace qkv {

// gRPC methods under this prefix need no token (probes must work without secrets).
inline constexpr char kHealthMethodPrefix[] = "/grpc.health.v1.Health/";

// The token in the `authorization` values of a request (all the values that key holds: gRPC metadata may
// repeat a key). UNAUTHENTICATED when there is none, more than one, or it is not "Bearer <token>".
absl::StatusOr<std::string> BearerTokenFromValues(const std::vector<absl::string_view>& values);

class TokenAuthenticator {
 public:
  // Reads `path` (InvalidArgument naming --auth_token_file, the path and the line when it cannot be read
  // or parsed) and starts the watcher thread.
  static absl::StatusOr<std::unique_ptr<TokenAuthenticator>> Create(
      std::string path, absl::Duration poll_interval = absl::Seconds(1));
  // Stops the watcher thread.
  ~TokenAuthenticator();
  TokenAuthenticator(const TokenAuthenticator&) = delete;
  TokenAuthenticator& operator=(const TokenAuthenticator&) = delete;

  // The identity of the caller whose request metadata is `metadata`, or UNAUTHENTICATED.
  absl::StatusOr<std::string> Authenticate(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const;
  // The same for the values of the `authorization` header (for non-gRPC front ends).
  absl::StatusOr<std::string> AuthenticateValues(const std::vector<absl::string_view>& values) const;

  // Re-reads the file if its inode, size, mtime or ctime changed since the last look. Returns true when the
  // new tokens are in use, false when nothing changed, or the error (the previous tokens stay in use; the
  // same unchanged broken file is not reported again). The watcher thread calls this.
  absl::StatusOr<bool> ReloadIfChanged();

  // Number of tokens in use.
  size_t token_count() const;
  const std::string& path() const { return path_; }

 private:
  // What stat() says about the file; a change in any field triggers a re-read.
  struct FileSignature {
    bool exists = false;
    uint64_t device = 0, inode = 0, size = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    bool operator==(const FileSignature& o) const {
      return exists == o.exists && device == o.device && inode == o.inode && size == o.size &&
             mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns;
    }
  };

  TokenAuthenticator(std::string path, absl::Duration poll_interval);
  static FileSignature Stat(const std::string& path);
  // Reads and parses the file; errors name --auth_token_file and the path.
  absl::StatusOr<TokenSet> Load() const;
  void WatchLoop();

  const std::string path_;
  const absl::Duration poll_interval_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const TokenSet> tokens_ ABSL_GUARDED_BY(mu_);

  // Used by ReloadIfChanged only.
  absl::Mutex reload_mu_;
  FileSignature signature_ ABSL_GUARDED_BY(reload_mu_);

  absl::Notification stop_;
  std::thread watcher_;
};

// The interceptor factories that put every method but grpc.health.v1 behind `auth` (not owned; it must
// outlive the server). Pass to ServerBuilder::experimental().SetInterceptorCreators.
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> AuthInterceptorCreators(
    const TokenAuthenticator* auth);

// Who is calling, for per-client accounting (fairness, logs):
//   - with `auth` (not null): the token's identity, or UNAUTHENTICATED when the call's token is missing or
//     wrong;
//   - without: "peer:" + the client's address without its port (e.g. "peer:ipv4:10.1.2.3",
//     "peer:ipv6:[::1]", "peer:unix:/run/qkv.sock"); this is not authenticated and all clients behind one
//     proxy or NAT share it.
absl::StatusOr<std::string> CallerIdentity(const grpc::ServerContextBase& context,
                                           const TokenAuthenticator* auth);

}  // namespace qkv

#endif  // QKV_SERVER_AUTH_H_
