#include "server/auth.h"

#include <grpc/grpc.h>
#include <sys/stat.h>

#include <fstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/client_identity.h"
#include "spdlog/spdlog.h"

namespace qkv {
namespace {

// A token file larger than this is refused: it is a mistake (the flag pointing at a model file, say), not
// a list of tokens (1 MiB holds thousands of them).
constexpr int64_t kMaxTokenFileBytes = 1 << 20;

constexpr char kMissing[] =
    "missing 'authorization: Bearer <token>' metadata: this server requires a bearer token";

absl::Status Unauthenticated(absl::string_view message) { return absl::UnauthenticatedError(message); }

// Checks each call's metadata as it arrives; on failure cancels the call with UNAUTHENTICATED.
class AuthInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuthInterceptor(grpc::experimental::ServerRpcInfo* info, const TokenAuthenticator* auth)
      : info_(info), auth_(auth) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      const std::multimap<grpc::string_ref, grpc::string_ref>* metadata = methods->GetRecvInitialMetadata();
      absl::Status status =
          metadata == nullptr ? Unauthenticated(kMissing) : auth_->Authenticate(*metadata).status();
      if (!status.ok()) {
        const std::string message(status.message());
        // The status and message reach the client as the call's trailers; the handler that may still run
        // sees a cancelled call (and checks the token itself).
        grpc_call_cancel_with_status(info_->server_context()->c_call(), GRPC_STATUS_UNAUTHENTICATED,
                                     message.c_str(), nullptr);
      }
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* const info_;
  const TokenAuthenticator* const auth_;
};

class AuthInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AuthInterceptorFactory(const TokenAuthenticator* auth) : auth_(auth) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    const char* method = info->method();
    if (method != nullptr && absl::StartsWith(method, kHealthMethodPrefix)) return nullptr;
    return new AuthInterceptor(info, auth_);
  }

 private:
  const TokenAuthenticator* const auth_;
};

}  // namespace

absl::StatusOr<std::string> BearerTokenFromValues(const std::vector<absl::string_view>& values) {
  if (values.empty()) return Unauthenticated(kMissing);
  if (values.size() > 1) return Unauthenticated("more than one 'authorization' metadata entry");
  absl::string_view value = absl::StripAsciiWhitespace(values[0]);
  constexpr absl::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() || !absl::StartsWithIgnoreCase(value, kScheme) ||
      (value[kScheme.size()] != ' ' && value[kScheme.size()] != '\t')) {
    return Unauthenticated("the 'authorization' metadata must be 'Bearer <token>'");
  }
  absl::string_view token = absl::StripLeadingAsciiWhitespace(value.substr(kScheme.size()));
  if (token.empty()) return Unauthenticated("the 'authorization' metadata has an empty bearer token");
  return std::string(token);
}

TokenAuthenticator::TokenAuthenticator(std::string path, absl::Duration poll_interval)
    : path_(std::move(path)), poll_interval_(poll_interval) {}

absl::StatusOr<std::unique_ptr<TokenAuthenticator>> TokenAuthenticator::Create(std::string path,
                                                                               absl::Duration poll_interval) {
  std::unique_ptr<TokenAuthenticator> auth(new TokenAuthenticator(std::move(path), poll_interval));
  {
    absl::MutexLock lock(&auth->reload_mu_);
    auth->signature_ = Stat(auth->path_);
  }
  absl::StatusOr<TokenSet> tokens = auth->Load();
  if (!tokens.ok()) return tokens.status();
  {
    absl::MutexLock lock(&auth->mu_);
    auth->tokens_ = std::make_shared<const TokenSet>(*std::move(tokens));
  }
  auth->watcher_ = std::thread([a = auth.get()] { a->WatchLoop(); });
  return auth;
}

TokenAuthenticator::~TokenAuthenticator() {
  stop_.Notify();
  if (watcher_.joinable()) watcher_.join();
}

TokenAuthenticator::FileSignature TokenAuthenticator::Stat(const std::string& path) {
  FileSignature s;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return s;
  s.exists = true;
  s.device = st.st_dev;
  s.inode = st.st_ino;
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  return s;
}

absl::StatusOr<TokenSet> TokenAuthenticator::Load() const {
  const std::string where = absl::StrCat("--auth_token_file: ", path_);
  std::ifstream in(path_, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(where, ": cannot read the file"));
  std::string text;
  char buffer[8192];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (static_cast<int64_t>(text.size()) > kMaxTokenFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": larger than ", kMaxTokenFileBytes, " bytes; is this the token file?"));
    }
  }
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat(where, ": read error"));
  absl::StatusOr<TokenSet> tokens = TokenSet::Parse(text);
  if (!tokens.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", tokens.status().message()));
  return tokens;
}

absl::StatusOr<bool> TokenAuthenticator::ReloadIfChanged() {
  absl::MutexLock reload_lock(&reload_mu_);
  const FileSignature now = Stat(path_);
  if (now == signature_) return false;
  signature_ = now;
  absl::StatusOr<TokenSet> tokens = Load();
  if (!tokens.ok()) return tokens.status();
  absl::MutexLock lock(&mu_);
  tokens_ = std::make_shared<const TokenSet>(*std::move(tokens));
  return true;
}

void TokenAuthenticator::WatchLoop() {
  while (!stop_.WaitForNotificationWithTimeout(poll_interval_)) {
    // Only changes are reported: an invalid file is logged once, not at every poll.
    absl::StatusOr<bool> reloaded = ReloadIfChanged();
    if (!reloaded.ok()) {
      spdlog::error("{}; still using the previous {} token(s)", std::string(reloaded.status().message()),
                    token_count());
    } else if (*reloaded) {
      spdlog::info("--auth_token_file: reloaded {}: {} token(s)", path_, token_count());
    }
  }
}

size_t TokenAuthenticator::token_count() const {
  absl::MutexLock lock(&mu_);
  return tokens_ == nullptr ? 0 : tokens_->size();
}

absl::StatusOr<std::string> TokenAuthenticator::AuthenticateValues(
    const std::vector<absl::string_view>& values) const {
  absl::StatusOr<std::string> token = BearerTokenFromValues(values);
  if (!token.ok()) return token.status();
  std::shared_ptr<const TokenSet> tokens;
  {
    absl::MutexLock lock(&mu_);
    tokens = tokens_;
  }
  absl::StatusOr<std::string> identity = tokens->Match(*token);
  if (!identity.ok()) return Unauthenticated("the bearer token is not valid for this server");
  return identity;
}

absl::StatusOr<std::string> TokenAuthenticator::Authenticate(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const {
  std::vector<absl::string_view> values;
  auto range = metadata.equal_range("authorization");
  for (auto it = range.first; it != range.second; ++it) {
    values.emplace_back(it->second.data(), it->second.size());
  }
  return AuthenticateValues(values);
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> AuthInterceptorCreators(
    const TokenAuthenticator* auth) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<AuthInterceptorFactory>(auth));
  return creators;
}

absl::StatusOr<std::string> CallerIdentity(const grpc::ServerContextBase& context,
                                           const TokenAuthenticator* auth) {
  if (auth != nullptr) return auth->Authenticate(context.client_metadata());
  return absl::StrCat("peer:", PeerWithoutPort(context.peer()));
}

}  // namespace qkv
