// Contract: the audit log records every state change and every refusal, in a
// hash chain, readable by repo admins (their repo) and server admins (all).
#include "fixtures.h"
#include "api/wire.h"

namespace converge::testing {
namespace {

class AuditTest : public ContractTest {
 protected:
  // Every entry of a log, oldest first, following "next" cursors.
  static std::vector<nlohmann::json> All(Api api, const std::string& path) {
    std::vector<nlohmann::json> out;
    std::string url = path + "?limit=50";
    for (;;) {
      Reply r = api.Get(url);
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      for (const auto& e : r.json()["entries"]) out.push_back(e);
      if (r.json()["next"].is_null()) break;
      url = path + "?limit=50&before=" + r.json()["next"].get<std::string>();
    }
    std::reverse(out.begin(), out.end());
    return out;
  }
  static bool Has(const std::vector<nlohmann::json>& log, const std::string& action,
                  const std::string& outcome_prefix, const std::string& actor = "") {
    for (const auto& e : log)
      if (e["action"] == action && e["outcome"].get<std::string>().rfind(outcome_prefix, 0) == 0 &&
          (actor.empty() || e["actor"] == actor))
        return true;
    return false;
  }
};

TEST_F(AuditTest, StateChangesAndRefusalsAreRecorded) {
  std::string owner = NewUser("owner"), reader = NewUser("reader");
  std::string repo = NewRepo(owner);
  Grant(repo, HandleOf(reader), "read");
  std::string base = "/v1/repos/" + repo;
  ASSERT_EQ(As(owner).Post(base + "/lanes", {{"name", "qa"}}).status, 201);
  ASSERT_EQ(As(owner).Put(base + "/lanes/qa/members/" + HandleOf(reader), nullptr).status, 200);
  ASSERT_EQ(As(owner).Delete(base + "/lanes/qa/members/" + HandleOf(reader)).status, 200);
  ASSERT_EQ(As(owner).Post(base + "/scopes", {{"name", "dev"}}).status, 201);
  ASSERT_EQ(As(owner)
                .Put(base + "/gate-graph",
                     {{"gates", {{{"id", "dev-intake"}, {"upstream", nlohmann::json::array()}}}}})
                .status,
            200);
  TestTree t = MakeTree("audit");
  ASSERT_EQ(As(owner).PostBytes(base + "/objects/pack", PackOf(t.objects), kPackContentType).status,
            200);
  Reply pub = As(owner).Post(
      base + "/publications",
      {{"snap", t.snap().hex()}, {"scope", "main"}, {"gate", "dev-intake"}, {"lane", "default"}});
  ASSERT_EQ(pub.status, 201) << pub.body;
  // Refusals: a reader trying to change things.
  EXPECT_EQ(As(reader).Post(base + "/scopes", {{"name", "x"}}).status, 403);
  EXPECT_EQ(As(reader)
                .Post(base + "/publications", {{"snap", t.snap().hex()},
                                               {"scope", "main"},
                                               {"gate", "dev-intake"},
                                               {"lane", "default"}})
                .status,
            403);
  ASSERT_EQ(As(owner).Delete(base + "/members/" + HandleOf(reader)).status, 200);

  std::vector<nlohmann::json> log = All(As(owner), base + "/audit");
  std::string o = HandleOf(owner), r = HandleOf(reader);
  for (const char* action :
       {"repo.create", "member.set", "lane.create", "lane.member.add", "lane.member.remove",
        "scope.create", "gate_graph.set", "publication.create", "member.remove"})
    EXPECT_TRUE(Has(log, action, "ok")) << action;
  EXPECT_TRUE(Has(log, "scope.create", "refused: forbidden", r));
  EXPECT_TRUE(Has(log, "publication.create", "refused: forbidden", r));
  for (const auto& e : log) {
    EXPECT_EQ(e["repo"], repo);
    EXPECT_EQ(e["remote_addr"], "127.0.0.1");
    // What a new repo starts with (store/defaults.h), as the log has always said it.
    if (e["action"] == "repo.create") {
      EXPECT_EQ(e["detail"].get<std::string>().rfind(
                    "scope 'main', lane 'default', gate graph {dev-intake}; admin ", 0),
                0u)
          << e["detail"];
    }
    if (e["action"] == "publication.create" && e["outcome"] == "ok") {
      EXPECT_EQ(e["target"], pub.json()["id"]);
      EXPECT_EQ(e["actor"], o);
      EXPECT_EQ(e["actor_id"], pub.json()["publisher_id"]);
    }
  }
}

TEST_F(AuditTest, FailedAuthenticationIsRecordedWithoutTheSecret) {
  std::string token = NewUser("victim");
  std::string id = As(token).Get("/v1/whoami").json()["token_id"];
  ASSERT_EQ(As(token).Delete("/v1/tokens/" + id).status, 200);
  ASSERT_EQ(As(token).Get("/v1/whoami").status, 401);
  ASSERT_EQ(Anonymous().Get("/v1/repos").status, 401);
  Reply page = Admin().Get("/v1/audit?limit=20");
  ASSERT_EQ(page.status, 200);
  bool by_token = false, anonymous = false;
  for (const auto& e : page.json()["entries"]) {
    if (e["action"] != "auth.fail") continue;
    EXPECT_EQ(e["outcome"], "refused: unauthenticated");
    EXPECT_TRUE(e["actor_id"].is_null());
    by_token = by_token || (e["actor"] == "token:" + id && e["target"] == id);
    anonymous = anonymous || e["actor"] == "anonymous";
  }
  EXPECT_TRUE(by_token);
  // A request without a token is not audited one by one (it names no
  // credential, and a flood of them must not cost an fsync each): only a
  // block of its address is (backoff_test.cpp).
  EXPECT_FALSE(anonymous);
  std::string secret = token.substr(token.rfind('_') + 1);
  EXPECT_EQ(Admin().Get("/v1/audit?limit=1000").body.find(secret), std::string::npos);
  EXPECT_EQ(server().Log().find(secret), std::string::npos) << "never a token in the log";
}

// A non-reader's attempt on a hidden repo is a refusal too: its admins see
// it, the stranger still only got "not found".
TEST_F(AuditTest, HiddenRepoProbesAreRecordedForItsAdmins) {
  std::string owner = NewUser("owner"), stranger = NewUser("stranger");
  std::string repo = NewRepo(owner);
  ASSERT_EQ(As(stranger).Post("/v1/repos/" + repo + "/scopes", {{"name", "x"}}).status, 404);
  std::vector<nlohmann::json> log = All(As(owner), "/v1/repos/" + repo + "/audit");
  EXPECT_TRUE(Has(log, "scope.create", "refused: not_found", HandleOf(stranger)));
}

TEST_F(AuditTest, TheLogIsAHashChain) {
  std::string owner = NewUser("owner");
  NewRepo(owner);
  std::vector<nlohmann::json> log = All(Admin(), "/v1/audit");
  ASSERT_GT(log.size(), 3u);
  std::string prev(64, '0');
  int64_t seq = 0;
  for (const auto& e : log) {
    wire::AuditEntry entry;
    ASSERT_TRUE(wire::FromJson(e, entry).ok()) << e.dump();
    EXPECT_EQ(entry.seq, ++seq) << "no gaps";
    EXPECT_EQ(entry.prev_hash, prev);
    Hasher h;
    h.Update(entry.prev_hash);
    h.Update(wire::AuditHashInput(entry));
    EXPECT_EQ(entry.hash, h.Finish().hex()) << e.dump();
    prev = entry.hash;
  }
  // The first rows are the bootstrap: the server made its admin.
  EXPECT_EQ(log[0]["action"], "user.create");
  EXPECT_EQ(log[0]["target"], "admin");
  EXPECT_EQ(log[0]["actor"], "server");
}

TEST_F(AuditTest, WhoMayReadTheLog) {
  std::string owner = NewUser("owner"), pub = NewUser("pub"), stranger = NewUser("stranger");
  std::string repo = NewRepo(owner);
  Grant(repo, HandleOf(pub), "publish");
  std::string path = "/v1/repos/" + repo + "/audit";
  EXPECT_EQ(As(owner).Get(path).status, 200);
  EXPECT_EQ(Admin().Get(path).status, 200);
  EXPECT_EQ(As(pub).Get(path).status, 403);
  EXPECT_EQ(As(stranger).Get(path).status, 404);
  EXPECT_EQ(Anonymous().Get(path).status, 401);
  EXPECT_EQ(As(owner).Get("/v1/audit").status, 403);
  EXPECT_EQ(Anonymous().Get("/v1/audit").status, 401);
  // A repo admin's view holds only that repo.
  Reply mine = As(owner).Get(path + "?limit=1000");
  for (const auto& e : mine.json()["entries"]) EXPECT_EQ(e["repo"], repo);
  Reply one = Admin().Get("/v1/audit?limit=1");
  ASSERT_EQ(one.json()["entries"].size(), 1u);
  EXPECT_TRUE(one.json()["next"].is_string());
  EXPECT_EQ(Admin().Get("/v1/audit?limit=abc").status, 400);
}

}  // namespace
}  // namespace converge::testing
