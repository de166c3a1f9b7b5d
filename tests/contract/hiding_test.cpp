// Contract: what a caller who may not see a repo, or a user, can learn. A
// hidden repo and a missing one get the same answer byte for byte and the
// same audit row (so the same work); repo creation does not tell a taken name
// from a free one; lane membership does not tell a missing user from one
// without a role, or a server admin from anyone else.
#include "fixtures.h"

namespace converge::testing {
namespace {

class HidingTest : public ContractTest {
 protected:
  struct Probe {
    std::string method;
    std::string path;
    nlohmann::json body;
    std::string bytes;   // for PUT of raw object bytes
    std::string action;  // the audit action it is recorded under
  };

  // Every repo route, aimed at repo `r`.
  static std::vector<Probe> Probes(const std::string& r) {
    std::string base = "/v1/repos/" + r;
    TestObject blob = Blob("probe");
    nlohmann::json ids = {{"blobs", {blob.hex()}}};
    nlohmann::json publication = {
        {"snap", blob.hex()}, {"scope", "main"}, {"gate", "dev-intake"}, {"lane", "default"}};
    return {
        {"GET", base, nullptr, "", "repo.read"},
        {"PUT", base + "/members/admin", {{"role", "read"}}, "", "member.set"},
        {"DELETE", base + "/members/admin", nullptr, "", "member.remove"},
        {"GET", base + "/lanes", nullptr, "", "lane.list"},
        {"POST", base + "/lanes", {{"name", "x"}}, "", "lane.create"},
        {"PUT", base + "/lanes/default/members/admin", nullptr, "", "lane.member.add"},
        {"DELETE", base + "/lanes/default/members/admin", nullptr, "", "lane.member.remove"},
        {"GET", base + "/scopes", nullptr, "", "scope.list"},
        {"POST", base + "/scopes", {{"name", "x"}}, "", "scope.create"},
        {"GET", base + "/gate-graph", nullptr, "", "gate_graph.read"},
        {"PUT",
         base + "/gate-graph",
         {{"gates", {{{"id", "g"}, {"upstream", nlohmann::json::array()}}}}},
         "",
         "gate_graph.set"},
        {"POST", base + "/objects/missing", ids, "", "object.missing"},
        {"POST", base + "/objects/fetch", ids, "", "object.fetch"},
        {"PUT", blob.Path(r), nullptr, blob.bytes, "object.upload"},
        {"GET", blob.Path(r), nullptr, "", "object.read"},
        {"POST", base + "/publications", publication, "", "publication.create"},
        {"GET", base + "/publications", nullptr, "", "publication.list"},
        {"GET", base + "/publications/abcd", nullptr, "", "publication.read"},
        {"GET", base + "/audit", nullptr, "", "audit.read"},
    };
  }

  static Reply Call(Api api, const Probe& p) {
    if (p.method == "GET") return api.Get(p.path);
    if (p.method == "DELETE") return api.Delete(p.path);
    if (!p.bytes.empty()) return api.PutBytes(p.path, p.bytes);
    if (p.method == "PUT") return api.Put(p.path, p.body);
    return api.Post(p.path, p.body);
  }

  // The whole log, oldest first.
  static std::vector<nlohmann::json> Log() {
    std::vector<nlohmann::json> out;
    std::string before;
    for (;;) {
      Reply r = Admin().Get("/v1/audit?limit=1000" + (before.empty() ? "" : "&before=" + before));
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      for (const auto& e : r.json()["entries"]) out.push_back(e);
      if (r.json()["next"].is_null()) break;
      before = r.json()["next"].get<std::string>();
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

  static void ExpectSameReply(const Reply& a, const Reply& b, const std::string& what) {
    EXPECT_EQ(a.status, b.status) << what;
    EXPECT_EQ(a.body, b.body) << what;
    EXPECT_EQ(a.headers, b.headers) << what;
  }
};

// Every repo route answers a name that does not exist and the same name once
// it exists but is hidden from the caller byte for byte alike, and both leave
// the same audit row: the same work on both paths, so no timing difference
// either (the fsync'd row was the difference).
TEST_F(HidingTest, AMissingRepoAndAHiddenOneAreRefusedAlike) {
  std::string stranger = NewUser("stranger"), owner = NewUser("owner");
  std::string name = Unique("secret");
  std::vector<Probe> probes = Probes(name);
  std::vector<Reply> missing;
  size_t rows_before = Log().size();
  for (const Probe& p : probes) missing.push_back(Call(As(stranger), p));
  std::vector<nlohmann::json> missing_log = Log();

  ASSERT_EQ(Admin().Post("/v1/repos", {{"name", name}, {"admin", HandleOf(owner)}}).status, 201);
  std::vector<Reply> hidden;
  for (const Probe& p : probes) hidden.push_back(Call(As(stranger), p));
  std::vector<nlohmann::json> hidden_log = Log();

  for (size_t i = 0; i < probes.size(); i++) {
    std::string what = probes[i].method + " " + probes[i].path;
    EXPECT_EQ(missing[i].status, 404) << what << ": " << missing[i].body;
    ExpectSameReply(missing[i], hidden[i], what);
  }

  // One refusal row per request in both rounds, the same but for time and chain.
  auto refusals = [&](const std::vector<nlohmann::json>& log, size_t from, size_t to) {
    std::vector<nlohmann::json> out;
    for (size_t i = from; i < to; i++)
      if (log[i]["actor"] == HandleOf(stranger)) out.push_back(log[i]);
    return out;
  };
  std::vector<nlohmann::json> before = refusals(missing_log, rows_before, missing_log.size());
  std::vector<nlohmann::json> after = refusals(hidden_log, missing_log.size(), hidden_log.size());
  ASSERT_EQ(before.size(), probes.size()) << "a refused probe of a missing repo is audited";
  ASSERT_EQ(after.size(), probes.size());
  for (size_t i = 0; i < probes.size(); i++) {
    for (const char* key : {"action", "repo", "target", "outcome", "detail", "actor"})
      EXPECT_EQ(before[i][key], after[i][key]) << key << " of " << probes[i].path;
    EXPECT_EQ(before[i]["action"], probes[i].action) << probes[i].path;
    EXPECT_EQ(before[i]["repo"], name);
    EXPECT_EQ(before[i]["outcome"], "refused: not_found");
  }
  // The repo's admins see the probes of its name.
  Reply theirs = As(owner).Get("/v1/repos/" + name + "/audit?limit=1000");
  ASSERT_EQ(theirs.status, 200) << theirs.body;
  EXPECT_NE(theirs.body.find(HandleOf(stranger)), std::string::npos);
}

// Only server admins create repos, so nobody else can tell a taken name (a
// repo they may not see) from a free one: both get the same 403.
TEST_F(HidingTest, RepoCreationDoesNotTellATakenNameFromAFreeOne) {
  std::string stranger = NewUser("stranger"), owner = NewUser("owner");
  std::string taken = NewRepo(owner), spare = Unique("spare");
  Reply on_taken = As(stranger).Post("/v1/repos", {{"name", taken}});
  Reply on_free = As(stranger).Post("/v1/repos", {{"name", spare}});
  EXPECT_EQ(on_taken.status, 403) << on_taken.body;
  EXPECT_EQ(on_taken.code(), "forbidden");
  EXPECT_NE(on_taken.message().find("only server admins"), std::string::npos) << on_taken.body;
  ExpectSameReply(on_taken, on_free, "POST /v1/repos");
  // Not even for the repo's own admin, or with a bad name.
  Reply by_owner = As(owner).Post("/v1/repos", {{"name", spare}});
  ExpectSameReply(by_owner, on_free, "POST /v1/repos by a repo admin");
  Reply bad = As(stranger).Post("/v1/repos", {{"name", "a/b"}});
  EXPECT_EQ(bad.status, 403) << bad.body;
  // Nothing was made: the name is still free for a server admin.
  EXPECT_EQ(Admin().Post("/v1/repos", {{"name", spare}}).status, 201);
  EXPECT_EQ(Admin().Post("/v1/repos", {{"name", taken}}).status, 409);
}

// Adding to (or removing from) a lane answers a handle nobody has, a user
// without a role on the repo and a server admin without one the same way.
TEST_F(HidingTest, LaneMembershipDoesNotRevealUsersOrAdmins) {
  std::string owner = NewUser("owner"), outsider = NewUser("outsider");
  std::string other_admin = Unique("boss");
  Admin().CreateUser(other_admin, /*admin=*/true);
  std::string repo = NewRepo(owner);
  std::string lane = "/v1/repos/" + repo + "/lanes/default/members/";
  std::string ghost = Unique("ghost");
  std::vector<std::string> handles = {ghost, HandleOf(outsider), other_admin, "admin"};

  std::vector<Reply> added;
  for (const std::string& h : handles) added.push_back(As(owner).Put(lane + h, nullptr));
  for (size_t i = 0; i < handles.size(); i++) {
    EXPECT_EQ(added[i].status, 400) << handles[i] << ": " << added[i].body;
    std::string message = added[i].message();
    for (size_t at; (at = message.find(handles[i])) != std::string::npos;)
      message.replace(at, handles[i].size(), "H");
    std::string first = added[0].message();
    for (size_t at; (at = first.find(ghost)) != std::string::npos;)
      first.replace(at, ghost.size(), "H");
    EXPECT_EQ(message, first) << handles[i];
    EXPECT_EQ(added[i].code(), added[0].code());
  }
  EXPECT_NE(added[0].message().find("not a member"), std::string::npos) << added[0].body;

  std::vector<Reply> removed;
  for (const std::string& h : handles) removed.push_back(As(owner).Delete(lane + h));
  for (size_t i = 0; i < handles.size(); i++) {
    EXPECT_EQ(removed[i].status, 200) << handles[i] << ": " << removed[i].body;
    EXPECT_EQ(removed[i].body, removed[0].body) << handles[i];
  }
  Reply lanes = As(owner).Get("/v1/repos/" + repo + "/lanes");
  EXPECT_EQ(lanes.json()[0]["members"], nlohmann::json::array({HandleOf(owner)}));

  // Once granted a role, the user can join, whoever they are.
  Grant(repo, HandleOf(outsider), "publish");
  EXPECT_EQ(As(owner).Put(lane + HandleOf(outsider), nullptr).status, 200);
}

}  // namespace
}  // namespace converge::testing
