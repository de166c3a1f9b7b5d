// Test support: TLS certificates made at test time with openssl, the way an
// operator would: a private CA and a server key and certificate for
// 127.0.0.1 that it signs. Shared by the HTTPS tests of tests/contract and
// tests/e2e, so both test the same kind of setup.
#pragma once

#include <string>

#include "support/process.h"
#include "support/server.h"

namespace converge::testing {

class TestCertificates {
 public:
  // Makes them in a temp dir of their own; fails the test (ASSERT) when
  // openssl does.
  TestCertificates();

  std::string ca() const { return Path("ca.pem"); }        // what a client must trust
  std::string cert() const { return Path("server.pem"); }  // --tls-cert
  std::string key() const { return Path("server.key"); }   // --tls-key
  // Server options for HTTPS with this certificate and key.
  ServerOptions Https() const;

 private:
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  void Make();
  TempDir dir_;
};

}  // namespace converge::testing
