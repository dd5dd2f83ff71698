#include "server/token_set.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace qkv {
namespace {

bool IsNameChar(char c) { return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-'; }

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

absl::Status LineError(int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", what));
}

}  // namespace

TokenSet::Digest Sha256(absl::string_view data) {
  TokenSet::Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
  return digest;
}

bool IsValidBearerToken(absl::string_view token) {
  if (token.size() < TokenSet::kMinTokenLength || token.size() > TokenSet::kMaxTokenLength) return false;
  size_t end = token.size();
  while (end > 0 && token[end - 1] == '=') --end;  // '=' only as trailing padding
  if (end == 0) return false;
  for (size_t i = 0; i < end; ++i) {
    if (!IsTokenChar(token[i])) return false;
  }
  return true;
}

std::string TokenSet::UnnamedIdentity(absl::string_view token) {
  const Digest digest = Sha256(token);
  const std::string hex =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
  return absl::StrCat("token-", hex.substr(0, 12));
}

absl::StatusOr<TokenSet> TokenSet::Parse(absl::string_view text) {
  TokenSet set;
  absl::flat_hash_set<std::string> digests;  // raw digest bytes, to refuse a token listed twice
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    absl::string_view name;
    absl::string_view token = line;
    if (const size_t colon = line.find(':'); colon != absl::string_view::npos) {
      name = line.substr(0, colon);
      token = line.substr(colon + 1);
      if (name.empty() || name.size() > kMaxNameLength) {
        return LineError(line_number,
                         absl::StrCat("the name before ':' must have 1 to ", kMaxNameLength, " characters"));
      }
      for (char c : name) {
        if (!IsNameChar(c)) return LineError(line_number, "the name may hold only A-Z a-z 0-9 . _ -");
      }
    }
    if (token.size() < kMinTokenLength || token.size() > kMaxTokenLength) {
      return LineError(line_number, absl::StrCat("a token must have ", kMinTokenLength, " to ",
                                                 kMaxTokenLength, " characters (got ", token.size(), ")"));
    }
    if (!IsValidBearerToken(token)) {
      return LineError(line_number,
                       "a token may hold only A-Z a-z 0-9 - . _ ~ + / and trailing '=' (no blanks)");
    }
    Entry entry;
    entry.digest = Sha256(token);
    if (!digests.insert(std::string(entry.digest.begin(), entry.digest.end())).second) {
      return LineError(line_number, "this token is already listed on an earlier line");
    }
    entry.identity = name.empty() ? UnnamedIdentity(token) : std::string(name);
    set.entries_.push_back(std::move(entry));
  }
  if (set.entries_.empty()) {
    return absl::InvalidArgumentError("no token: every line is blank or a comment");
  }
  return set;
}

absl::StatusOr<std::string> TokenSet::Match(absl::string_view token) const {
  const Digest digest = Sha256(token);
  const Entry* match = nullptr;
  // Every entry is compared (no early exit); CRYPTO_memcmp's time does not depend on the bytes.
  for (const Entry& entry : entries_) {
    const bool equal = CRYPTO_memcmp(digest.data(), entry.digest.data(), digest.size()) == 0;
    if (equal) match = &entry;
  }
  if (match == nullptr) return absl::NotFoundError("no such token");
  return match->identity;
}

}  // namespace qkv
