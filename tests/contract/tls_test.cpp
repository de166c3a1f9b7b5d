// Contract: with a certificate the server speaks HTTPS (api.md: "HTTPS when
// the server has a certificate"), and a bad TLS setup fails at start.
#include "fixtures.h"
#include "support/certs.h"

namespace converge::testing {
namespace {

class TlsTest : public ContractTest {
 protected:
  static void SetUpTestSuite() {
    certs_ = std::make_unique<TestCertificates>();
    server_ = std::make_unique<ServerProcess>(certs_->Https());
  }
  static void TearDownTestSuite() {
    server_.reset();
    certs_.reset();
  }
  static std::string Ca() { return certs_->ca(); }
  static std::string Cert() { return certs_->cert(); }
  static std::string Key() { return certs_->key(); }
  static std::unique_ptr<TestCertificates> certs_;
};

std::unique_ptr<TestCertificates> TlsTest::certs_;

TEST_F(TlsTest, ServesHttpsWithItsCertificate) {
  httplib::SSLClient cli("127.0.0.1", server().port());
  cli.set_ca_cert_path(Ca().c_str());
  cli.enable_server_certificate_verification(true);
  auto health = cli.Get("/healthz");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  cli.set_bearer_token_auth(server().admin_token().c_str());
  auto who = cli.Get("/v1/whoami");
  ASSERT_TRUE(who);
  EXPECT_EQ(who->status, 200) << who->body;
  EXPECT_NE(server().Log().find("listening on https://127.0.0.1:"), std::string::npos);
  // Plain HTTP to the same port gets no answer it could mistake for one.
  EXPECT_NE(Anonymous().Get("/healthz").status, 200);
}

TEST_F(TlsTest, TheWebViewsCookiesAreSecureOverHttps) {
  httplib::SSLClient cli("127.0.0.1", server().port());
  cli.set_ca_cert_path(Ca().c_str());
  cli.enable_server_certificate_verification(true);
  auto form = cli.Get("/signin");
  ASSERT_TRUE(form);
  ASSERT_EQ(form->status, 200);
  std::string signin = form->get_header_value("Set-Cookie");
  EXPECT_NE(signin.find("; Secure"), std::string::npos) << signin;
  std::string csrf = signin.substr(signin.find('=') + 1, 64);
  auto in = cli.Post("/signin", {{"Cookie", "converge_signin=" + csrf}},
                     httplib::Params{{"token", server().admin_token()}, {"csrf", csrf}});
  ASSERT_TRUE(in);
  ASSERT_EQ(in->status, 303) << in->body;
  bool session = false;
  for (size_t i = 0; i < in->get_header_value_count("Set-Cookie"); i++) {
    std::string c = in->get_header_value("Set-Cookie", i);
    if (c.rfind("converge_session=", 0) != 0) continue;
    session = true;
    EXPECT_NE(c.find("; Secure"), std::string::npos) << c;
    EXPECT_NE(c.find("; HttpOnly"), std::string::npos) << c;
    EXPECT_NE(c.find("; SameSite=Strict"), std::string::npos) << c;
  }
  EXPECT_TRUE(session);
}

TEST_F(TlsTest, ABadTlsSetupFailsAtStart) {
  TempDir dir;
  RunResult half = ConvergeRefused({"serve", "--listen", "127.0.0.1:0", "--data-dir",
                                    (dir / "a").string(), "--tls-cert", Cert()});
  EXPECT_EQ(half.exit_code, 1);
  EXPECT_NE(half.err.find("both"), std::string::npos) << half.err;
  WriteFile(dir / "junk.pem", "not a certificate");
  RunResult junk =
      ConvergeRefused({"serve", "--listen", "127.0.0.1:0", "--data-dir", (dir / "b").string(),
                       "--tls-cert", (dir / "junk.pem").string(), "--tls-key", Key()});
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_NE(junk.err.find("cannot load the TLS certificate"), std::string::npos) << junk.err;
}

}  // namespace
}  // namespace converge::testing
