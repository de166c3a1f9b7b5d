#include "support/certs.h"

#include <gtest/gtest.h>

namespace converge::testing {

namespace {

// Runs openssl; asserts success.
void OpenSsl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = Run(argv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace

TestCertificates::TestCertificates() {
  Make();
}

void TestCertificates::Make() {
  const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                       "-nodes"};
  std::vector<std::string> make_ca = {"req", "-x509"};
  make_ca.insert(make_ca.end(), ec.begin(), ec.end());
  make_ca.insert(make_ca.end(), {"-days", "2", "-subj", "/CN=converge test CA", "-keyout",
                                 Path("ca.key"), "-out", ca()});
  ASSERT_NO_FATAL_FAILURE(OpenSsl(make_ca));
  std::vector<std::string> csr = {"req"};
  csr.insert(csr.end(), ec.begin(), ec.end());
  csr.insert(csr.end(), {"-subj", "/CN=127.0.0.1", "-keyout", key(), "-out", Path("server.csr")});
  ASSERT_NO_FATAL_FAILURE(OpenSsl(csr));
  WriteFile(dir_ / "ext.cnf", "subjectAltName=IP:127.0.0.1\n");
  ASSERT_NO_FATAL_FAILURE(
      OpenSsl({"x509", "-req", "-in", Path("server.csr"), "-CA", ca(), "-CAkey", Path("ca.key"),
               "-CAcreateserial", "-days", "2", "-extfile", Path("ext.cnf"), "-out", cert()}));
}

ServerOptions TestCertificates::Https() const {
  ServerOptions options;
  options.config = {{"tls_cert_file", cert()}, {"tls_key_file", key()}};
  return options;
}

}  // namespace converge::testing
