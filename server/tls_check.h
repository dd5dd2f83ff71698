// CheckTlsFiles: refuses, at startup, TLS files that gRPC would only complain about at each handshake: a
// certificate or CA bundle with no PEM certificate in it, a key that does not parse, or a key that does not
// belong to the certificate. Uses OpenSSL (the library gRPC itself uses).
#ifndef QKV_SERVER_TLS_CHECK_H_
#define QKV_SERVER_TLS_CHECK_H_

#include <string>

#include "absl/status/status.h"

namespace qkv {

// `cert_pem`, `key_pem`: the texts of --tls_cert and --tls_key; `ca_pem`: of --tls_client_ca, or empty.
// InvalidArgument naming the flag at fault, e.g. "--tls_key does not match the certificate in --tls_cert".
// Never quotes the key.
absl::Status CheckTlsFiles(const std::string& cert_pem, const std::string& key_pem,
                           const std::string& ca_pem);

}  // namespace qkv

#endif  // QKV_SERVER_TLS_CHECK_H_
