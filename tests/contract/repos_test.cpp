// Contract: repos, members, lanes, scopes and the gate graph, with the
// 401 / 403 / 404-for-non-readers rules on every route.
#include "fixtures.h"

namespace converge::testing {
namespace {

class ReposTest : public ContractTest {};

TEST_F(ReposTest, CreateGivesTheDefaults) {
  // A server admin creates the repo and names its first admin.
  std::string owner = NewUser("owner");
  std::string name = Unique("web");
  Reply r = Admin().Post("/v1/repos", {{"name", name}, {"admin", HandleOf(owner)}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json()["name"], name);
  EXPECT_EQ(r.json()["created_by"], "admin");
  EXPECT_EQ(r.json()["role"], "admin");
  EXPECT_TRUE(r.json()["created_at"].is_string());

  Reply show = As(owner).Get("/v1/repos/" + name);
  ASSERT_EQ(show.status, 200) << show.body;
  nlohmann::json j = show.json();
  EXPECT_EQ(j["role"], "admin");
  EXPECT_EQ(j["members"],
            nlohmann::json::parse(R"([{"handle":")" + HandleOf(owner) + R"(","role":"admin"}])"));
  ASSERT_EQ(j["lanes"].size(), 1u);
  EXPECT_EQ(j["lanes"][0]["name"], "default");
  EXPECT_EQ(j["lanes"][0]["members"], nlohmann::json::array({HandleOf(owner)}));
  ASSERT_EQ(j["scopes"].size(), 1u);
  EXPECT_EQ(j["scopes"][0]["name"], "main");
  EXPECT_EQ(j["gate_graph"],
            nlohmann::json::parse(R"({"gates":[{"id":"dev-intake","upstream":[]}]})"));

  // Without "admin", the creating server admin is the repo's admin.
  std::string own = Unique("web");
  ASSERT_EQ(Admin().Post("/v1/repos", {{"name", own}}).status, 201);
  EXPECT_EQ(Admin().Get("/v1/repos/" + own).json()["members"],
            nlohmann::json::parse(R"([{"handle":"admin","role":"admin"}])"));

  EXPECT_EQ(Admin().Post("/v1/repos", {{"name", name}}).status, 409);
  for (const char* bad : {"", "a/b", ".hidden", "-x", "a..b/..", "sp ace"})
    EXPECT_EQ(Admin().Post("/v1/repos", {{"name", bad}}).status, 400) << bad;
  EXPECT_EQ(Admin().Post("/v1/repos", {{"nom", "x"}}).status, 400);
  Reply nobody = Admin().Post("/v1/repos", {{"name", Unique("web")}, {"admin", "nobody-here"}});
  EXPECT_EQ(nobody.status, 404) << nobody.body;
  EXPECT_EQ(Anonymous().Post("/v1/repos", {{"name", Unique("web")}}).status, 401);
}

TEST_F(ReposTest, ListShowsOnlyReadableRepos) {
  std::string alice = NewUser("alice"), bob = NewUser("bob");
  std::string mine = NewRepo(alice), theirs = NewRepo(bob);
  Reply r = As(alice).Get("/v1/repos");
  ASSERT_EQ(r.status, 200);
  std::vector<std::string> names;
  for (const auto& repo : r.json()) names.push_back(repo["name"]);
  EXPECT_NE(std::find(names.begin(), names.end(), mine), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), theirs), names.end());
  // Server admins see everything, as admins.
  Reply all = Admin().Get("/v1/repos");
  bool seen = false;
  for (const auto& repo : all.json())
    if (repo["name"] == theirs) seen = repo["role"] == "admin";
  EXPECT_TRUE(seen);
  EXPECT_EQ(Anonymous().Get("/v1/repos").status, 401);
}

// A repo the caller may not read answers exactly like one that does not exist.
TEST_F(ReposTest, NonReadersGetTheSame404AsForAMissingRepo) {
  std::string owner = NewUser("owner"), stranger = NewUser("stranger");
  std::string repo = NewRepo(owner);
  std::string ghost = Unique("ghost");
  Api s = As(stranger);
  struct Probe {
    const char* method;
    std::string path;
    nlohmann::json body;
  };
  auto probes = [](const std::string& r) {
    return std::vector<Probe>{
        {"GET", "/v1/repos/" + r, nullptr},
        {"PUT", "/v1/repos/" + r + "/members/admin", {{"role", "read"}}},
        {"DELETE", "/v1/repos/" + r + "/members/admin", nullptr},
        {"GET", "/v1/repos/" + r + "/lanes", nullptr},
        {"POST", "/v1/repos/" + r + "/lanes", {{"name", "x"}}},
        {"PUT", "/v1/repos/" + r + "/lanes/default/members/admin", nullptr},
        {"DELETE", "/v1/repos/" + r + "/lanes/default/members/admin", nullptr},
        {"GET", "/v1/repos/" + r + "/scopes", nullptr},
        {"POST", "/v1/repos/" + r + "/scopes", {{"name", "x"}}},
        {"GET", "/v1/repos/" + r + "/gate-graph", nullptr},
        {"PUT",
         "/v1/repos/" + r + "/gate-graph",
         {{"gates", {{{"id", "g"}, {"upstream", nlohmann::json::array()}}}}}},
        {"GET", "/v1/repos/" + r + "/publications", nullptr},
        {"GET", "/v1/repos/" + r + "/publications/abcd", nullptr},
        {"GET", "/v1/repos/" + r + "/audit", nullptr},
    };
  };
  auto call = [&](const Probe& p) {
    if (std::string(p.method) == "GET") return s.Get(p.path);
    if (std::string(p.method) == "DELETE") return s.Delete(p.path);
    if (std::string(p.method) == "PUT") return s.Put(p.path, p.body);
    return s.Post(p.path, p.body);
  };
  std::vector<Probe> hidden = probes(repo), missing = probes(ghost);
  for (size_t i = 0; i < hidden.size(); i++) {
    Reply h = call(hidden[i]), m = call(missing[i]);
    EXPECT_EQ(h.status, 404) << hidden[i].method << " " << hidden[i].path << ": " << h.body;
    EXPECT_EQ(m.status, 404) << missing[i].method << " " << missing[i].path << ": " << m.body;
    std::string hm = h.message(), mm = m.message();
    // Same words, but for the name itself.
    size_t at = hm.find(repo);
    ASSERT_NE(at, std::string::npos) << hm;
    hm.replace(at, repo.size(), ghost);
    EXPECT_EQ(hm, mm) << hidden[i].path;
  }
}

TEST_F(ReposTest, MembersAreManagedByRepoAdmins) {
  std::string owner = NewUser("owner"), bob = NewUser("bob"), carol = NewUser("carol");
  std::string repo = NewRepo(owner);
  std::string path = "/v1/repos/" + repo + "/members/" + HandleOf(bob);
  Reply set = As(owner).Put(path, {{"role", "publish"}});
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(set.json(),
            nlohmann::json({{"repo", repo}, {"handle", HandleOf(bob)}, {"role", "publish"}}));
  EXPECT_EQ(As(bob).Get("/v1/repos/" + repo).json()["role"], "publish");

  // A publisher may read but not administer: 403, not 404.
  Reply refused =
      As(bob).Put("/v1/repos/" + repo + "/members/" + HandleOf(carol), {{"role", "read"}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.code(), "forbidden");
  EXPECT_EQ(As(bob).Delete(path).status, 403);

  EXPECT_EQ(As(owner).Put(path, {{"role", "owner"}}).status, 400);
  EXPECT_EQ(
      As(owner).Put("/v1/repos/" + repo + "/members/nobody-at-all", {{"role", "read"}}).status,
      404);
  EXPECT_EQ(Anonymous().Put(path, {{"role", "read"}}).status, 401);
  EXPECT_EQ(Anonymous().Delete(path).status, 401);

  Reply removed = As(owner).Delete(path);
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_TRUE(removed.json()["role"].is_null());
  EXPECT_EQ(As(bob).Get("/v1/repos/" + repo).status, 404);
}

TEST_F(ReposTest, ARepoKeepsItsLastAdmin) {
  std::string owner = NewUser("owner"), bob = NewUser("bob");
  std::string repo = NewRepo(owner);
  std::string self = "/v1/repos/" + repo + "/members/" + HandleOf(owner);
  EXPECT_EQ(As(owner).Put(self, {{"role", "read"}}).status, 409);
  EXPECT_EQ(As(owner).Delete(self).status, 409);
  ASSERT_EQ(
      As(owner).Put("/v1/repos/" + repo + "/members/" + HandleOf(bob), {{"role", "admin"}}).status,
      200);
  EXPECT_EQ(As(owner).Put(self, {{"role", "read"}}).status, 200);
}

TEST_F(ReposTest, LanesAndTheirMembers) {
  std::string owner = NewUser("owner"), bob = NewUser("bob"), carol = NewUser("carol");
  std::string repo = NewRepo(owner);
  std::string base = "/v1/repos/" + repo + "/lanes";
  Reply made = As(owner).Post(base, {{"name", "team/backend"}});
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(made.json()["name"], "team/backend");
  EXPECT_EQ(made.json()["members"], nlohmann::json::array());
  EXPECT_EQ(As(owner).Post(base, {{"name", "team/backend"}}).status, 409);
  EXPECT_EQ(As(owner).Post(base, {{"name", "bad//name"}}).status, 400);

  // Only users with a role on the repo can join a lane.
  std::string member = base + "/team/backend/members/" + HandleOf(bob);
  Reply norole = As(owner).Put(member, nullptr);
  EXPECT_EQ(norole.status, 400) << norole.body;
  Grant(repo, HandleOf(bob), "publish");
  Reply added = As(owner).Put(member, nullptr);
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(added.json()["members"], nlohmann::json::array({HandleOf(bob)}));
  EXPECT_EQ(As(owner).Put(base + "/nope/members/" + HandleOf(bob), nullptr).status, 404);

  Grant(repo, HandleOf(carol), "read");
  Reply list = As(carol).Get(base);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json().size(), 2u);
  EXPECT_EQ(As(carol).Post(base, {{"name", "x"}}).status, 403);
  EXPECT_EQ(As(carol).Put(base + "/default/members/" + HandleOf(carol), nullptr).status, 403);
  EXPECT_EQ(As(carol).Delete(member).status, 403);
  EXPECT_EQ(Anonymous().Get(base).status, 401);
  EXPECT_EQ(Anonymous().Post(base, {{"name", "x"}}).status, 401);
  EXPECT_EQ(Anonymous().Put(member, nullptr).status, 401);

  Reply gone = As(owner).Delete(member);
  ASSERT_EQ(gone.status, 200);
  EXPECT_EQ(gone.json()["members"], nlohmann::json::array());

  // Losing the repo role takes lane membership with it.
  ASSERT_EQ(As(owner).Put(member, nullptr).status, 200);
  ASSERT_EQ(As(owner).Delete("/v1/repos/" + repo + "/members/" + HandleOf(bob)).status, 200);
  Grant(repo, HandleOf(bob), "publish");
  Reply lanes = As(owner).Get(base);
  for (const auto& lane : lanes.json())
    EXPECT_EQ(lane["members"].dump().find(HandleOf(bob)), std::string::npos);
}

TEST_F(ReposTest, Scopes) {
  std::string owner = NewUser("owner"), reader = NewUser("reader");
  std::string repo = NewRepo(owner);
  std::string base = "/v1/repos/" + repo + "/scopes";
  Reply made = As(owner).Post(base, {{"name", "release/1.0"}});
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(made.json()["name"], "release/1.0");
  EXPECT_EQ(As(owner).Post(base, {{"name", "release/1.0"}}).status, 409);
  EXPECT_EQ(As(owner).Post(base, {{"name", "feature/"}}).status, 400);
  EXPECT_EQ(As(owner).Post(base, {{"name", "a/../b"}}).status, 400);
  Grant(repo, HandleOf(reader), "read");
  Reply list = As(reader).Get(base);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json().size(), 2u);
  EXPECT_EQ(list.json()[0]["name"], "main");
  EXPECT_EQ(list.json()[1]["name"], "release/1.0");
  EXPECT_EQ(As(reader).Post(base, {{"name", "x"}}).status, 403);
  EXPECT_EQ(Anonymous().Get(base).status, 401);
  EXPECT_EQ(Anonymous().Post(base, {{"name", "x"}}).status, 401);
}

TEST_F(ReposTest, GateGraphIsValidated) {
  std::string owner = NewUser("owner"), reader = NewUser("reader");
  std::string repo = NewRepo(owner);
  std::string path = "/v1/repos/" + repo + "/gate-graph";
  nlohmann::json graph = nlohmann::json::parse(R"({"gates":[
      {"id":"dev-intake","upstream":[]},
      {"id":"review","upstream":["dev-intake"],"description":"two approvals"},
      {"id":"release","upstream":["review","dev-intake"]}]})");
  Reply put = As(owner).Put(path, graph);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json(), graph);
  Grant(repo, HandleOf(reader), "read");
  EXPECT_EQ(As(reader).Get(path).json(), graph);

  auto bad = [&](const std::string& text) {
    Reply r = As(owner).Put(path, nlohmann::json::parse(text));
    EXPECT_EQ(r.status, 400) << text << " -> " << r.body;
    return r.message();
  };
  bad(R"({"gates":[]})");
  EXPECT_NE(bad(R"({"gates":[{"id":"a","upstream":[]},{"id":"a","upstream":[]}]})").find("twice"),
            std::string::npos);
  EXPECT_NE(bad(R"({"gates":[{"id":"a","upstream":["ghost"]}]})").find("ghost"), std::string::npos);
  EXPECT_NE(
      bad(R"({"gates":[{"id":"a","upstream":["b"]},{"id":"b","upstream":["a"]}]})").find("cycle"),
      std::string::npos);
  bad(R"({"gates":[{"id":"a","upstream":["a"]}]})");
  bad(R"({"gates":[{"id":"../x","upstream":[]}]})");
  bad(R"({"gates":"nope"})");
  EXPECT_EQ(As(owner).Get(path).json(), graph) << "a refused graph changes nothing";

  EXPECT_EQ(As(reader).Put(path, graph).status, 403);
  EXPECT_EQ(Anonymous().Get(path).status, 401);
  EXPECT_EQ(Anonymous().Put(path, graph).status, 401);
}

}  // namespace
}  // namespace converge::testing
