// TLS and mTLS: certificates made with the openssl CLI at test time; skipped when it is missing.
#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "qkv/v1/encoder.grpc.pb.h"
#include "server/server.h"
#include "server_test_util.h"

namespace qkv {
namespace {

using namespace testing_util;  // NOLINT(build/namespaces): test helpers

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(absl::StrCat(::testing::TempDir(), "/qkv_tls_", getpid()));
    const std::string d = *dir_;
    // A self-signed server certificate for localhost, and a self-signed client certificate that doubles as
    // the client CA.
    const std::string cmd = absl::StrCat(
        "mkdir -p ", d, " && cd ", d,
        " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
        " -addext subjectAltName=DNS:localhost -keyout server.key -out server.crt >/dev/null 2>&1"
        " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=qkv-client"
        " -keyout client.key -out client.crt >/dev/null 2>&1");
    have_openssl_ = std::system(cmd.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    std::system(absl::StrCat("rm -rf ", *dir_).c_str());
    delete dir_;
  }
  void SetUp() override {
    if (!have_openssl_) GTEST_SKIP() << "the openssl CLI is needed to make test certificates";
  }
  static std::string Path(const char* name) { return absl::StrCat(*dir_, "/", name); }

  static grpc::Status Info(const std::string& address,
                           std::shared_ptr<grpc::ChannelCredentials> credentials) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    auto stub = v1::EncoderService::NewStub(grpc::CreateCustomChannel(address, credentials, args));
    v1::GetModelInfoResponse info;
    return stub->GetModelInfo(Context(absl::Seconds(20)).get(), v1::GetModelInfoRequest(), &info);
  }

  static std::string* dir_;
  static bool have_openssl_;
};

std::string* TlsTest::dir_ = nullptr;
bool TlsTest::have_openssl_ = false;

TEST_F(TlsTest, TlsServesTrustingClientsOnly) {
  ServerConfig config = TestConfig();
  config.tls_cert = Path("server.crt");
  config.tls_key = Path("server.key");
  TestServer t = StartServing(config);
  grpc::SslCredentialsOptions trusted;
  trusted.pem_root_certs = Slurp(Path("server.crt"));
  EXPECT_TRUE(Info(t.server->address(), grpc::SslCredentials(trusted)).ok());
  EXPECT_EQ(Info(t.server->address(), grpc::InsecureChannelCredentials()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  grpc::SslCredentialsOptions wrong_root;
  wrong_root.pem_root_certs = Slurp(Path("client.crt"));
  EXPECT_FALSE(Info(t.server->address(), grpc::SslCredentials(wrong_root)).ok());
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificate) {
  ServerConfig config = TestConfig();
  config.tls_cert = Path("server.crt");
  config.tls_key = Path("server.key");
  config.tls_client_ca = Path("client.crt");
  TestServer t = StartServing(config);
  grpc::SslCredentialsOptions with_cert;
  with_cert.pem_root_certs = Slurp(Path("server.crt"));
  with_cert.pem_private_key = Slurp(Path("client.key"));
  with_cert.pem_cert_chain = Slurp(Path("client.crt"));
  EXPECT_TRUE(Info(t.server->address(), grpc::SslCredentials(with_cert)).ok());
  grpc::SslCredentialsOptions without_cert;
  without_cert.pem_root_certs = Slurp(Path("server.crt"));
  EXPECT_FALSE(Info(t.server->address(), grpc::SslCredentials(without_cert)).ok());
}

TEST_F(TlsTest, MismatchedOrMalformedFilesFailToStartNamingTheFlag) {
  struct Case {
    std::string cert, key, ca, expected;
  };
  const std::string not_pem = absl::StrCat(*dir_, "/not.pem");
  std::ofstream(not_pem) << "not a PEM file\n";
  const std::vector<Case> cases = {
      {Path("server.crt"), Path("client.key"), "", "--tls_key does not match the certificate in --tls_cert"},
      {not_pem, Path("server.key"), "", "--tls_cert holds no PEM certificate"},
      {Path("server.crt"), not_pem, "", "--tls_key holds no unencrypted PEM private key"},
      {Path("server.crt"), Path("server.key"), not_pem, "--tls_client_ca holds no PEM certificate"},
  };
  for (const Case& c : cases) {
    ServerConfig config = TestConfig();
    config.tls_cert = c.cert;
    config.tls_key = c.key;
    config.tls_client_ca = c.ca;
    absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(config);
    ASSERT_FALSE(server.ok()) << c.expected;
    EXPECT_THAT(std::string(server.status().message()), ::testing::HasSubstr(c.expected));
  }
}

TEST_F(TlsTest, MissingCertificateFileFailsToStartNamingTheFlag) {
  ServerConfig config = TestConfig();
  config.tls_cert = Path("nope.crt");
  config.tls_key = Path("server.key");
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(config);
  EXPECT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()), ::testing::HasSubstr("--tls_cert"));
}

}  // namespace
}  // namespace qkv
