// TokenSet: the bearer tokens qkv-server accepts (--auth_token_file), parsed from the token file's text,
// and the constant-time lookup of a presented token. No gRPC and no I/O here (auth.h watches the file).
//
// Token file format (UTF-8 text, one entry per line; see docs/SECURITY.md):
//   # a comment                 lines whose first non-blank character is '#' are ignored, as are blank lines
//   alice:Zm9vYmFyYmF6cXV4MTIzNDU2   NAME:TOKEN  the caller's identity is NAME
//   c2VjcmV0LXRva2VuLXdpdGhvdXQtbmFtZQ  TOKEN alone  the identity is "token-" + the first 12 hex digits
//                                                 of SHA-256(TOKEN)
// Leading and trailing blanks (spaces, tabs, CR) of a line are ignored.
//   NAME:  1 to 64 characters of [A-Za-z0-9._-]. Several tokens may share a name (rotation: the old and
//          the new token both map to one identity while clients move over).
//   TOKEN: 16 to 4096 characters of RFC 6750's b64token alphabet: [A-Za-z0-9-._~+/] then optional '='
//          padding. Each token may appear only once. The file must hold at least one token.
//
//   QKV_ASSIGN_OR_RETURN(TokenSet tokens, TokenSet::Parse(text));
//   absl::StatusOr<std::string> identity = tokens.Match(presented_token);   // "alice" or NotFound
//
// Secrecy: a TokenSet keeps only SHA-256 digests of the tokens, never the tokens; Parse's errors name the
// line number and the rule broken, never the line's text. Match compares the presented token's digest with
// every stored digest with CRYPTO_memcmp and does not stop at the first match, so its time does not depend
// on the tokens' contents.
//
// Thread safety: a TokenSet is immutable after Parse; const methods may be called from any thread.
#ifndef QKV_SERVER_TOKEN_SET_H_
#define QKV_SERVER_TOKEN_SET_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qkv {

class TokenSet {
 public:
  static constexpr size_t kMinTokenLength = 16;
  static constexpr size_t kMaxTokenLength = 4096;
  static constexpr size_t kMaxNameLength = 64;

  using Digest = std::array<uint8_t, 32>;  // SHA-256

  // Parses the token file's text. InvalidArgument naming the line ("line 3: ...") for a malformed entry,
  // a duplicate token, or a file with no token at all.
  static absl::StatusOr<TokenSet> Parse(absl::string_view text);

  // The identity of `token`, or NotFound when no entry matches. Constant time in the tokens' contents.
  absl::StatusOr<std::string> Match(absl::string_view token) const;

  // Number of tokens.
  size_t size() const { return entries_.size(); }

  // The identity of an unnamed token: "token-" + the first 12 hex digits of its SHA-256.
  static std::string UnnamedIdentity(absl::string_view token);

 private:
  struct Entry {
    Digest digest;
    std::string identity;
  };
  std::vector<Entry> entries_;
};

// SHA-256 of `data`.
TokenSet::Digest Sha256(absl::string_view data);

// True when `token` has the TOKEN syntax above (length and alphabet). Shared with the CLI's checks.
bool IsValidBearerToken(absl::string_view token);

}  // namespace qkv

#endif  // QKV_SERVER_TOKEN_SET_H_
