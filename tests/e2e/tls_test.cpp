// HTTPS end to end: a private CA made at test time signs the server's
// certificate; the client refuses the server until told to trust that CA
// (--ca-file or CONVERGE_CA_FILE), then the whole loop works over TLS.
#include <gtest/gtest.h>

#include "support/certs.h"
#include "support/team.h"
#include "support/tree_helpers.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

class TlsLoopTest : public TeamTest {
 protected:
  // The admin is not logged in: the first test shows that fails until the
  // client trusts the CA.
  void SetUp() override {
    ASSERT_FALSE(HasFatalFailure()) << "making the certificates failed";
    StartTeam(certs_.Https(), /*login_admin=*/false);
  }

  std::string Ca() const { return certs_.ca(); }

  // `person` runs converge trusting the test CA through CONVERGE_CA_FILE.
  RunResult Trusting(const Person& person, const std::vector<std::string>& args,
                     const fs::path& cwd = {}, const std::string& input = "") const {
    RunOptions o = person.Env(cwd);
    o.env["CONVERGE_CA_FILE"] = Ca();
    o.input = input;
    return Converge(args, o);
  }

  TestCertificates certs_;
};

TEST_F(TlsLoopTest, AnUntrustedCertificateIsRefusedWithAHint) {
  Person admin = MakePerson("admin", server_->admin_token());
  RunOptions o = admin.Env();
  o.input = admin.token + "\n";
  RunResult r = Converge({"login", "--url", url_}, o);
  ExpectError(r, "--ca-file");
  EXPECT_NE(r.err.find("certificate"), std::string::npos) << r.err;
  // Plain http to the TLS port does not get through either.
  RunResult plain =
      Converge({"login", "--url", "http://127.0.0.1:" + std::to_string(server_->port())}, o);
  EXPECT_EQ(plain.exit_code, 1) << plain.err;
}

TEST_F(TlsLoopTest, PublishAndFetchOverHttps) {
  Person admin = MakePerson("admin", server_->admin_token());
  ASSERT_EQ(Trusting(admin, {"login", "--url", url_}, {}, admin.token + "\n").exit_code, 0);
  ASSERT_EQ(Trusting(admin, {"repo", "create", "web"}).exit_code, 0);

  // --ca-file works as well as the environment variable.
  RunResult whoami = admin.Run({"whoami", "--url", url_, "--ca-file", Ca()});
  ASSERT_EQ(whoami.exit_code, 0) << whoami.err;
  EXPECT_NE(whoami.out.find("admin"), std::string::npos) << whoami.out;

  fs::path ws = admin.home->path() / "ws";
  WriteFile(ws / "README", "over TLS\n");
  WriteFile(ws / "data.bin", PseudoRandomBytes(300 << 10, 11));
  ASSERT_EQ(Trusting(admin, {"init", ws.string()}).exit_code, 0);
  ASSERT_EQ(Trusting(admin, {"remote", "set", "--url", url_, "--repo", "web"}, ws).exit_code, 0);
  ASSERT_EQ(Trusting(admin, {"snap", "-m", "tls"}, ws).exit_code, 0);
  RunResult pub = Trusting(admin, {"publish", "--json"}, ws);
  ASSERT_EQ(pub.exit_code, 0) << pub.err;
  std::string id = json::parse(pub.out)["publication"].value("id", "");
  ASSERT_FALSE(id.empty()) << pub.out;

  fs::path other = admin.home->path() / "other";
  ASSERT_EQ(Trusting(admin, {"init", other.string()}).exit_code, 0);
  ASSERT_EQ(Trusting(admin, {"remote", "set", "--url", url_, "--repo", "web"}, other).exit_code, 0);
  RunResult fetched = Trusting(admin, {"fetch", "--all-lanes"}, other);
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  fs::path out = admin.home->path() / "out";
  ASSERT_EQ(Trusting(admin, {"restore", id, "--to", out.string()}, other).exit_code, 0);
  EXPECT_EQ(ReadFileOrDie(out / "README"), "over TLS\n");
  EXPECT_EQ(ReadFileOrDie(out / "data.bin"), ReadFileOrDie(ws / "data.bin"));
}

}  // namespace
}  // namespace converge::testing
