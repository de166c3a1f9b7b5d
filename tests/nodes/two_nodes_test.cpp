// Two `converge serve` nodes acting as one authority (docs/server.md,
// "Running several nodes"; the fixture is tests/nodes/fixture.h), driven
// through the built binary as people use it: started at once on an empty
// database they make one admin and one audit key; alice publishes through
// node A and bob restores through node B byte for byte, and what A
// acknowledges is there through B at once; a token revoked through one node,
// and the web session made with it, is refused by the other at the next
// request.
#include <gtest/gtest.h>

#include <regex>

#include "fixture.h"
#include "support/tree_helpers.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;
using Clock = NodesClock;

// Subdirectories, an executable, a symlink, an empty file and directory, and
// a 3 MB file (a chunk list).
void BuildTree(const fs::path& root) {
  WriteFile(root / "README", "hello, two nodes\n");
  WriteFile(root / "build.sh", "#!/bin/sh\necho built\n", /*executable=*/true);
  WriteFile(root / "src/main.c", "int main() { return 0; }\n");
  WriteFile(root / "src/lib/empty", "");
  fs::create_directories(root / "empty-dir");
  fs::create_symlink("README", root / "link");
  WriteFile(root / "blob.bin", PseudoRandomBytes(3 << 20, 11));
}

TEST_F(TwoNodesTest, StartedAtOnceOnAnEmptyDatabaseTheyMakeOneAdmin) {
  StartBoth();
  std::string logs = a_->Log() + b_->Log();
  EXPECT_EQ(CountIn(logs, "initial admin token written"), 1u) << logs;
  EXPECT_EQ(CountIn(logs, "metadata in PostgreSQL"), 2u) << logs;

  Api via_a(a_->port(), admin_token_), via_b(b_->port(), admin_token_);
  Reply users = via_b.Get("/v1/users");
  ASSERT_EQ(users.status, 200) << users.body;
  ASSERT_EQ(users.json().size(), 1u) << users.body;
  EXPECT_EQ(users.json()[0]["handle"], "admin");
  Reply tokens = via_a.Get("/v1/tokens");
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_EQ(tokens.json().size(), 1u) << tokens.body;

  Reply audit = via_a.Get("/v1/audit");
  ASSERT_EQ(audit.status, 200) << audit.body;
  std::string rows = audit.json()["entries"].dump();
  EXPECT_EQ(CountIn(rows, "\"user.create\""), 1u) << rows;
  EXPECT_EQ(CountIn(rows, "\"token.create\""), 1u) << rows;

  // One signing key, whichever node made it, and no half-made one left.
  std::string key_a = AuditKeyOf(a_->Log()), key_b = AuditKeyOf(b_->Log());
  EXPECT_FALSE(key_a.empty()) << a_->Log();
  EXPECT_EQ(key_a, key_b);
  for (const auto& e : fs::directory_iterator(data_))
    EXPECT_EQ(e.path().filename().string().find(".new-"), std::string::npos) << e.path();
  ExpectDataDirClean("after both first starts");

  // Restarts make no second admin.
  a_->Stop();
  b_->Stop();
  fs::remove(data_ / "initial-admin-token");
  a_->Launch();
  b_->Launch();
  a_->WaitHealthy();
  b_->WaitHealthy();
  EXPECT_FALSE(fs::exists(data_ / "initial-admin-token"));
  Reply again = Api(b_->port(), admin_token_).Get("/v1/users");
  EXPECT_EQ(again.json().size(), 1u) << again.body;
}

TEST_F(TwoNodesTest, AlicePublishesThroughANodeAndBobRestoresThroughTheOther) {
  StartBoth();
  MakeRepo(a_->port(), "web");
  Person alice = UserAt(a_->url(), "alice");
  Person bob = UserAt(b_->url(), "bob");
  MakePublisher(b_->port(), "web", "alice");
  Reply read = Api(a_->port(), admin_token_).Put("/v1/repos/web/members/bob", {{"role", "read"}});
  ASSERT_EQ(read.status, 200) << read.body;

  fs::path alice_ws = NewWorkspace(alice, "ws", a_->url(), "web");
  BuildTree(alice_ws);
  ASSERT_EQ(alice.Run({"snap", "-m", "first"}, alice_ws).exit_code, 0);
  json pub = alice.Json({"publish", "-m", "through A"}, alice_ws);
  std::string id = PublicationField(pub, "id");
  ASSERT_FALSE(id.empty()) << pub;

  fs::path bob_ws = NewWorkspace(bob, "ws", b_->url(), "web");
  json fetched = bob.Json({"fetch"}, bob_ws);
  ASSERT_EQ(fetched["publications"].size(), 1u) << fetched;
  EXPECT_EQ(fetched["publications"][0]["id"], id);
  fs::path out = bob.home->path() / "restored";
  RunResult r = bob.Run({"restore", id.substr(0, 8), "--to", out.string()}, bob_ws);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DescribeTree(out), DescribeTree(alice_ws));

  // Each publication A acknowledges is there through B at once: the record,
  // its snap and the files it names.
  Api bob_at_b(b_->port(), bob.token);
  for (int round = 0; round < 4; round++) {
    WriteFile(alice_ws / "src/main.c", "int main() { return " + std::to_string(round) + "; }\n");
    WriteFile(alice_ws / ("new-" + std::to_string(round)), PseudoRandomBytes(70000, round));
    std::string snap = alice.Json({"snap"}, alice_ws).value("id", "");
    json p = alice.Json({"publish"}, alice_ws);
    std::string pid = PublicationField(p, "id");
    Reply got = bob_at_b.Get("/v1/repos/web/publications/" + pid);
    EXPECT_EQ(got.status, 200) << "round " << round << ": " << got.body;
    EXPECT_EQ(got.json().value("snap", ""), snap);
    EXPECT_EQ(bob_at_b.Get("/v1/repos/web/snaps/" + snap).status, 200) << round;
  }
  ASSERT_EQ(bob.Run({"fetch"}, bob_ws).exit_code, 0);
  std::string newest = alice.Json({"snaps", "-n", "1"}, alice_ws)[0].value("id", "");
  fs::path out2 = bob.home->path() / "restored2";
  r = bob.Run({"restore", newest, "--to", out2.string()}, bob_ws);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DescribeTree(out2), DescribeTree(alice_ws));
  ExpectDataDirClean("after the publications");
}

TEST_F(TwoNodesTest, ATokenRevokedThroughOneNodeIsRefusedByTheOtherAtTheNextRequest) {
  StartBoth();
  Person admin_a = AdminAt(a_->url()), admin_b = AdminAt(b_->url());
  Api(a_->port(), admin_token_).CreateUser("bob");
  json made = admin_a.Json({"token", "create", "--user", "bob", "--label", "second"});
  std::string id = made.value("id", ""), secret = made.value("token", "");
  ASSERT_FALSE(secret.empty()) << made;

  Api bob_at_a(a_->port(), secret), bob_at_b(b_->port(), secret);
  EXPECT_EQ(bob_at_b.Get("/v1/whoami").status, 200);
  EXPECT_EQ(bob_at_a.Get("/v1/whoami").status, 200);
  ASSERT_EQ(admin_a.Run({"token", "revoke", id}).exit_code, 0);
  EXPECT_EQ(bob_at_b.Get("/v1/whoami").status, 401);
  EXPECT_EQ(bob_at_a.Get("/v1/whoami").status, 401);

  // The other way round, and for a web session: signed in with the form one
  // node served, posted to the other, the session cookie works on both; the
  // token revoked through B ends it on A at the next page.
  json third = admin_b.Json({"token", "create", "--user", "bob", "--label", "web"});
  httplib::Client web_a("127.0.0.1", a_->port()), web_b("127.0.0.1", b_->port());
  auto form = web_a.Get("/signin");
  ASSERT_TRUE(form && form->status == 200);
  std::smatch m;
  static const std::regex csrf_re("name=\"csrf\" value=\"([0-9a-f]+)\"");
  ASSERT_TRUE(std::regex_search(form->body, m, csrf_re)) << form->body;
  std::string csrf = m[1].str();
  std::string signin_cookie = form->get_header_value("Set-Cookie");
  signin_cookie = signin_cookie.substr(0, signin_cookie.find(';'));
  auto in = web_b.Post("/signin", {{"Cookie", signin_cookie}},
                       httplib::Params{{"token", third.value("token", "")}, {"csrf", csrf}});
  ASSERT_TRUE(in) << httplib::to_string(in.error());
  ASSERT_EQ(in->status, 303) << in->body;
  std::string session;
  auto cookies = in->headers.equal_range("Set-Cookie");
  for (auto it = cookies.first; it != cookies.second; ++it)
    if (it->second.rfind("converge_session=", 0) == 0)
      session = it->second.substr(0, it->second.find(';'));
  ASSERT_FALSE(session.empty());
  auto page_a = web_a.Get("/", {{"Cookie", session}});
  ASSERT_TRUE(page_a);
  EXPECT_EQ(page_a->status, 200);
  ASSERT_EQ(admin_b.Run({"token", "revoke", third.value("id", "")}).exit_code, 0);
  auto after = web_a.Get("/", {{"Cookie", session}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 303);
  EXPECT_EQ(after->get_header_value("Location"), "/signin");
  EXPECT_EQ(Api(a_->port(), third.value("token", "")).Get("/v1/whoami").status, 401);
  ExpectDataDirClean("after the revocations");
}

}  // namespace
}  // namespace converge::testing
