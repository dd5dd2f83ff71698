// Unit tests of the bearer-token pieces: the token file parser (formats, errors by line number that never
// echo a token), the constant-time match, the `authorization` metadata parser, peer names, and the
// TokenAuthenticator's reload rules (a changed file takes effect; a broken one keeps the previous tokens).
#include "server/auth.h"
#include "server/client_identity.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/token_set.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAlice[] = "alice-token-0123456789abcdef";
constexpr char kBob[] = "Ym9iLXRva2VuLWJhc2U2NC1sb29raW5n==";

TEST(TokenSetTest, ParsesNamedAndUnnamedTokensCommentsAndBlankLines) {
  absl::StatusOr<TokenSet> set =
      TokenSet::Parse(absl::StrCat("# qkv tokens\n\n   \nalice:", kAlice, "\r\n  # indented comment\n\t",
                                   kBob, "  \nalice:", "alice-second-token-for-rotation\n"));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->size(), 3u);
  EXPECT_EQ(set->Match(kAlice).value_or("?"), "alice");
  EXPECT_EQ(set->Match("alice-second-token-for-rotation").value_or("?"), "alice");
  const std::string unnamed = set->Match(kBob).value_or("?");
  EXPECT_EQ(unnamed, TokenSet::UnnamedIdentity(kBob));
  EXPECT_THAT(unnamed, ::testing::MatchesRegex("token-[0-9a-f]{12}"));
  EXPECT_THAT(unnamed, Not(HasSubstr("Ym9i")));
}

TEST(TokenSetTest, RefusesWrongAndNearlyRightTokens) {
  absl::StatusOr<TokenSet> set = TokenSet::Parse(absl::StrCat("alice:", kAlice, "\n"));
  ASSERT_TRUE(set.ok()) << set.status();
  const std::string token = kAlice;
  for (const std::string& wrong : {std::string(""), token.substr(0, token.size() - 1), token + "0",
                                   std::string("ALICE-TOKEN-0123456789ABCDEF"), std::string("alice"),
                                   absl::StrCat("alice:", kAlice), std::string(kBob)}) {
    EXPECT_TRUE(absl::IsNotFound(set->Match(wrong).status())) << wrong;
  }
}

TEST(TokenSetTest, ErrorsNameTheLineAndNeverTheToken) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::string secret = "s3cret-but-too-long-for-a-name-0123456789-0123456789-0123456789-01234567";
  const std::vector<Case> cases = {
      {"", "no token"},
      {"# only a comment\n\n", "no token"},
      {"\nshort-secret\n", "line 2: a token must have 16 to 4096 characters (got 12)"},
      {"alice:\n", "line 1: a token must have 16"},
      {":abcdefghijklmnopqrstuvwxyz\n", "line 1: the name before ':' must have 1 to 64 characters"},
      {absl::StrCat(secret, ":abcdefghijklmnopqrstuvwxyz\n"), "line 1: the name before ':' must have"},
      {"al ice:abcdefghijklmnopqrstuvwxyz\n", "line 1: the name may hold only"},
      {"alice:secret token with blanks inside\n", "line 1: a token may hold only"},
      {"alice:secret=padding=in-the-middle\n", "line 1: a token may hold only"},
      {"alice:s3cret\xc3\xa9-non-ascii-token\n", "line 1: a token may hold only"},
      {"alice:================\n", "line 1: a token may hold only"},
      {absl::StrCat("a:", kAlice, "\nb:", kAlice, "\n"), "line 2: this token is already listed"},
      {absl::StrCat("a:", std::string(4097, 'x'), "\n"), "(got 4097)"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<TokenSet> set = TokenSet::Parse(c.text);
    ASSERT_FALSE(set.ok()) << c.text;
    EXPECT_TRUE(absl::IsInvalidArgument(set.status()));
    const std::string message(set.status().message());
    EXPECT_THAT(message, HasSubstr(c.expected)) << c.text;
    for (const char* leak : {"s3cret", "abcdefghijklmnop", "alice-token", "xxxxxxxx", "secret"}) {
      EXPECT_THAT(message, Not(HasSubstr(leak))) << c.text;
    }
  }
}

TEST(TokenSetTest, ValidTokenSyntax) {
  EXPECT_TRUE(IsValidBearerToken("abcdefghijklmnop"));
  EXPECT_TRUE(IsValidBearerToken("a-b.c_d~e+f/g0123=="));
  EXPECT_FALSE(IsValidBearerToken("abcdefghijklmno"));  // 15
  EXPECT_FALSE(IsValidBearerToken("abcdefgh:ijklmnop"));
  EXPECT_FALSE(IsValidBearerToken("abcdefgh ijklmnop"));
  EXPECT_FALSE(IsValidBearerToken(std::string(4097, 'a')));
}

TEST(BearerTokenTest, ParsesTheAuthorizationValue) {
  EXPECT_EQ(BearerTokenFromValues({"Bearer abc"}).value_or("?"), "abc");
  EXPECT_EQ(BearerTokenFromValues({"bearer   abc  "}).value_or("?"), "abc");
  EXPECT_EQ(BearerTokenFromValues({"BEARER\tabc"}).value_or("?"), "abc");
  struct Case {
    std::vector<absl::string_view> values;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {{}, "missing 'authorization: Bearer <token>' metadata"},
      {{"Bearer abc", "Bearer abc"}, "more than one 'authorization' metadata entry"},
      {{"Basic YWxhZGRpbjpvcGVuc2VzYW1l"}, "must be 'Bearer <token>'"},
      {{"Bearerabc"}, "must be 'Bearer <token>'"},
      {{"Bearer"}, "must be 'Bearer <token>'"},
      {{"Bearer    "}, "must be 'Bearer <token>'"},
      {{"abc"}, "must be 'Bearer <token>'"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::string> token = BearerTokenFromValues(c.values);
    ASSERT_FALSE(token.ok());
    EXPECT_TRUE(absl::IsUnauthenticated(token.status()));
    EXPECT_THAT(std::string(token.status().message()), HasSubstr(c.expected));
    EXPECT_THAT(std::string(token.status().message()), Not(HasSubstr("YWxhZGRp")));
  }
}

TEST(PeerTest, DropsThePort) {
  EXPECT_EQ(PeerWithoutPort("ipv4:10.1.2.3:5555"), "ipv4:10.1.2.3");
  EXPECT_EQ(PeerWithoutPort("ipv6:[::1]:5555"), "ipv6:[::1]");
  EXPECT_EQ(PeerWithoutPort("ipv6:%5B::1%5D:5555"), "ipv6:%5B::1%5D:5555");  // not the bracket form
  EXPECT_EQ(PeerWithoutPort("unix:/run/qkv.sock"), "unix:/run/qkv.sock");
  EXPECT_EQ(PeerWithoutPort(""), "");
}

class TokenAuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = absl::StrCat(::testing::TempDir(), "/qkv_tokens_", getpid(), "_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { std::remove(path_.c_str()); }

  // Replaces the file the way a Kubernetes Secret update or an editor's save does: write aside, rename.
  void Write(const std::string& text) {
    const std::string tmp = path_ + ".tmp";
    std::ofstream(tmp, std::ios::binary) << text;
    ASSERT_EQ(std::rename(tmp.c_str(), path_.c_str()), 0);
  }
  static std::multimap<grpc::string_ref, grpc::string_ref> Metadata(const std::string& value) {
    std::multimap<grpc::string_ref, grpc::string_ref> m;
    m.emplace("authorization", value);
    return m;
  }
  // The identity for "Bearer <token>" or the status code's name.
  static std::string Who(const TokenAuthenticator& auth, const std::string& token) {
    const std::string value = "Bearer " + token;
    absl::StatusOr<std::string> who = auth.Authenticate(Metadata(value));
    return who.ok() ? *who : absl::StatusCodeToString(who.status().code());
  }

  std::string path_;
};

TEST_F(TokenAuthenticatorTest, MissingOrInvalidFileFailsCreateNamingTheFlag) {
  absl::StatusOr<std::unique_ptr<TokenAuthenticator>> auth = TokenAuthenticator::Create(path_);
  ASSERT_FALSE(auth.ok());
  EXPECT_THAT(std::string(auth.status().message()), HasSubstr("--auth_token_file: " + path_));
  Write("# nothing\n");
  auth = TokenAuthenticator::Create(path_);
  ASSERT_FALSE(auth.ok());
  EXPECT_THAT(std::string(auth.status().message()), HasSubstr("no token"));
}

TEST_F(TokenAuthenticatorTest, ReloadsAChangedFileAndKeepsThePreviousTokensWhenItBreaks) {
  Write(absl::StrCat("alice:", kAlice, "\n"));
  // A long poll interval: the test drives the reloads itself.
  absl::StatusOr<std::unique_ptr<TokenAuthenticator>> created =
      TokenAuthenticator::Create(path_, absl::Hours(1));
  ASSERT_TRUE(created.ok()) << created.status();
  TokenAuthenticator& auth = **created;
  EXPECT_EQ(Who(auth, kAlice), "alice");
  EXPECT_EQ(Who(auth, kBob), "UNAUTHENTICATED");
  EXPECT_EQ(auth.ReloadIfChanged().value_or(true), false);  // unchanged

  Write(absl::StrCat("bob:", kBob, "\n"));
  EXPECT_EQ(auth.ReloadIfChanged().value_or(false), true);
  EXPECT_EQ(Who(auth, kBob), "bob");
  EXPECT_EQ(Who(auth, kAlice), "UNAUTHENTICATED");

  // Broken, empty, missing: bob's token stays valid; each error is reported once.
  for (const std::string& broken : {std::string("bob:short\n"), std::string("")}) {
    Write(broken);
    absl::StatusOr<bool> reloaded = auth.ReloadIfChanged();
    ASSERT_FALSE(reloaded.ok());
    EXPECT_THAT(std::string(reloaded.status().message()), HasSubstr("--auth_token_file"));
    EXPECT_EQ(auth.ReloadIfChanged().value_or(true), false);  // the same broken file: no new error
    EXPECT_EQ(Who(auth, kBob), "bob");
  }
  ASSERT_EQ(std::remove(path_.c_str()), 0);
  EXPECT_FALSE(auth.ReloadIfChanged().ok());
  EXPECT_EQ(Who(auth, kBob), "bob");
  EXPECT_EQ(auth.token_count(), 1u);

  Write(absl::StrCat("alice:", kAlice, "\nbob:", kBob, "\n"));
  EXPECT_EQ(auth.ReloadIfChanged().value_or(false), true);
  EXPECT_EQ(Who(auth, kAlice), "alice");
  EXPECT_EQ(auth.token_count(), 2u);
}

TEST_F(TokenAuthenticatorTest, TheWatcherPicksUpAChangeWithoutHelp) {
  Write(absl::StrCat("alice:", kAlice, "\n"));
  absl::StatusOr<std::unique_ptr<TokenAuthenticator>> auth =
      TokenAuthenticator::Create(path_, absl::Milliseconds(50));
  ASSERT_TRUE(auth.ok()) << auth.status();
  Write(absl::StrCat("bob:", kBob, "\n"));
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (Who(**auth, kBob) != "bob" && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(Who(**auth, kBob), "bob") << "the watcher did not reload within 30 s";
  EXPECT_EQ(Who(**auth, kAlice), "UNAUTHENTICATED");
}

}  // namespace
}  // namespace qkv
