#include "server/tls_check.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace qkv {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioFree> Bio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of a PEM text, or null.
std::unique_ptr<X509, X509Free> FirstCertificate(const std::string& pem) {
  auto bio = Bio(pem);
  if (bio == nullptr) return nullptr;
  return std::unique_ptr<X509, X509Free>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

absl::Status CheckTlsFiles(const std::string& cert_pem, const std::string& key_pem,
                           const std::string& ca_pem) {
  absl::Status status;
  std::unique_ptr<X509, X509Free> cert = FirstCertificate(cert_pem);
  if (cert == nullptr) {
    status = absl::InvalidArgumentError("--tls_cert holds no PEM certificate");
  } else {
    auto bio = Bio(key_pem);
    std::unique_ptr<EVP_PKEY, KeyFree> key(
        bio == nullptr ? nullptr : PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (key == nullptr) {
      status = absl::InvalidArgumentError("--tls_key holds no unencrypted PEM private key");
    } else if (X509_check_private_key(cert.get(), key.get()) != 1) {
      status = absl::InvalidArgumentError("--tls_key does not match the certificate in --tls_cert");
    } else if (!ca_pem.empty() && FirstCertificate(ca_pem) == nullptr) {
      status = absl::InvalidArgumentError("--tls_client_ca holds no PEM certificate");
    }
  }
  ERR_clear_error();  // leave no queued OpenSSL errors for gRPC's own TLS code to trip over
  return status;
}

}  // namespace qkv
