// The admin commands end to end (user, token, repo, lane, scope, gates,
// audit): the built binary driven as people drive it, each person with their
// own HOME and stored login, against one real `converge serve`.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "support/people.h"
#include "support/server.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

// Someone with a home directory of their own, logged in to the test server.
using CliUser = Person;

class AdminTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<ServerProcess>();
    admin_ = std::make_unique<CliUser>();
    admin_->handle = "admin";
    admin_->token = server_->admin_token();
    Login(*admin_);
  }
  static void TearDownTestSuite() {
    admin_.reset();
    server_.reset();
  }

  static std::string Url() { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  static CliUser& Admin() { return *admin_; }

  // Names never repeat across the tests sharing the server.
  static std::string Unique(const std::string& prefix) {
    static int n = 0;
    return prefix + std::to_string(++n);
  }

  static RunOptions EnvOf(const CliUser& p, const fs::path& cwd = {}) { return p.Env(cwd); }

  static void Login(CliUser& p) {
    p.url = Url();
    p.Login();
  }

  static RunResult Run(const CliUser& p, const std::vector<std::string>& args,
                       const fs::path& cwd = {}) {
    return p.Run(args, cwd);
  }

  static json J(const CliUser& p, std::vector<std::string> args, const fs::path& cwd = {}) {
    return p.Json(std::move(args), cwd);
  }

  // Runs without --json, expects success; answers stdout.
  static std::string Text(const CliUser& p, const std::vector<std::string>& args,
                          const fs::path& cwd = {}) {
    RunResult r = Run(p, args, cwd);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    return r.out;
  }

  // A new user made by the admin with `user create`, logged in at home.
  static CliUser NewPerson(const std::string& prefix) { return NewUser(Admin(), Unique(prefix)); }

  // Server admins create repos; `owner` becomes its admin.
  static std::string NewRepo(const CliUser& owner) {
    std::string name = Unique("web");
    EXPECT_EQ(J(Admin(), {"repo", "create", name, "--admin", owner.handle})["name"], name);
    return name;
  }

  static bool Has(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
  }

  static std::unique_ptr<ServerProcess> server_;
  static std::unique_ptr<CliUser> admin_;
};

std::unique_ptr<ServerProcess> AdminTest::server_;
std::unique_ptr<CliUser> AdminTest::admin_;

TEST_F(AdminTest, UserCreatePrintsTheTokenOnceAndUserListShowsEveryone) {
  std::string handle = Unique("alice");
  json made = J(Admin(), {"user", "create", handle});
  ASSERT_TRUE(made.contains("user")) << made;
  EXPECT_EQ(made["user"]["handle"], handle);
  EXPECT_EQ(made["user"]["admin"], false);
  EXPECT_TRUE(made["user"]["id"].is_number_integer());
  std::string token = made["token"];
  EXPECT_EQ(token.rfind("cvg_" + made["token_id"].get<std::string>() + "_", 0), 0u) << token;

  // The text form shows the token with a note that it is shown only once.
  RunResult text = Run(Admin(), {"user", "create", Unique("boss"), "--admin"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(Has(text.out, "server admin")) << text.out;
  EXPECT_TRUE(Has(text.out, "cvg_")) << text.out;
  EXPECT_TRUE(Has(text.err, "only this once")) << text.err;

  json users = J(Admin(), {"user", "list"});
  ASSERT_TRUE(users.is_array());
  bool seen = false;
  for (const json& u : users) {
    EXPECT_FALSE(u.contains("token"));
    if (u["handle"] == handle) seen = u["id"] == made["user"]["id"];
  }
  EXPECT_TRUE(seen) << users;
  std::string list = Text(Admin(), {"user", "list"});
  EXPECT_EQ(list.rfind("ID", 0), 0u) << list;
  EXPECT_TRUE(Has(list, handle)) << list;

  // Only server admins manage users; a taken or bad handle is refused clearly.
  CliUser alice{handle, token, Url()};
  Login(alice);
  ExpectError(Run(alice, {"user", "list"}), "only server admins");
  ExpectError(Run(alice, {"user", "create", Unique("eve")}), "only server admins");
  ExpectError(Run(Admin(), {"user", "create", handle}), "already exists");
  ExpectError(Run(Admin(), {"user", "create", "Not_Valid"}), "not valid");
  ExpectUsageError(Run(Admin(), {"user", "create"}));
  ExpectUsageError(Run(Admin(), {"user"}));
}

TEST_F(AdminTest, TokensCreateListRevoke) {
  CliUser alice = NewPerson("alice");
  json t = J(alice, {"token", "create", "--label", "laptop", "--expires-in-days", "30"});
  for (const char* key : {"id", "token", "label", "user", "created_at", "expires_at"})
    EXPECT_TRUE(t.contains(key)) << key << " missing in " << t;
  EXPECT_EQ(t["label"], "laptop");
  EXPECT_EQ(t["user"], alice.handle);
  EXPECT_TRUE(t["expires_at"].is_string());
  std::string id = t["id"], secret = t["token"];

  // Lists never carry a secret.
  json mine = J(alice, {"token", "list"});
  ASSERT_TRUE(mine.is_array());
  bool listed = false;
  for (const json& tok : mine) {
    EXPECT_FALSE(tok.contains("token")) << tok;
    EXPECT_EQ(tok["user"], alice.handle);
    if (tok["id"] == id) listed = tok["revoked"] == false && tok["label"] == "laptop";
  }
  EXPECT_TRUE(listed) << mine;
  std::string text = Text(alice, {"token", "list"});
  EXPECT_TRUE(Has(text, id) && Has(text, "laptop") && Has(text, "active")) << text;
  EXPECT_FALSE(Has(text, secret)) << text;

  // A server admin may list and make anyone's tokens; others only their own.
  json theirs = J(Admin(), {"token", "list", "--user", alice.handle});
  EXPECT_EQ(theirs.size(), mine.size());
  json for_alice = J(Admin(), {"token", "create", "--user", alice.handle, "--label", "ci"});
  EXPECT_EQ(for_alice["user"], alice.handle);
  ExpectError(Run(alice, {"token", "list", "--user", "admin"}), "only your own tokens");
  ExpectError(Run(alice, {"token", "create", "--user", "admin"}), "only for yourself");

  // The new token works, until it is revoked.
  RunOptions with_token = EnvOf(alice);
  with_token.env["CONVERGE_TOKEN"] = secret;
  with_token.env["CONVERGE_URL"] = Url();
  EXPECT_EQ(Converge({"whoami"}, with_token).exit_code, 0);
  ExpectError(Run(alice, {"token", "revoke", secret}), "pass only its id");
  json revoked = J(alice, {"token", "revoke", id});
  EXPECT_EQ(revoked["id"], id);
  EXPECT_EQ(revoked["revoked"], true);
  ExpectError(Converge({"whoami"}, with_token), "revoked");
  ExpectError(Converge({"repo", "list"}, with_token), "revoked");
  EXPECT_TRUE(Has(Text(alice, {"token", "list"}), "revoked"));

  ExpectError(Run(alice, {"token", "revoke", "0123456789abcdef"}), "not found");
  ExpectError(Run(alice, {"token", "revoke", "nothex"}), "not a token id");
  ExpectUsageError(Run(alice, {"token", "revoke"}));
  ExpectUsageError(Run(alice, {"token", "create", "--expires-in-days", "0"}));
}

TEST_F(AdminTest, ReposCreateListShowGrantRevoke) {
  CliUser alice = NewPerson("alice"), bob = NewPerson("bob"), carol = NewPerson("carol");
  std::string repo = NewRepo(Admin());
  // The text form names what a new repo starts with (store/defaults.h).
  std::string other = Unique("web");
  EXPECT_EQ(Text(Admin(), {"repo", "create", other}),
            "Created repo " + other +
                ": you are its admin; it has scope main, lane default (with its admin) and gate "
                "dev-intake\n");
  json granted = J(Admin(), {"repo", "grant", repo, alice.handle, "--role", "publish"});
  EXPECT_EQ(granted, json({{"repo", repo}, {"handle", alice.handle}, {"role", "publish"}}));
  J(Admin(), {"repo", "grant", repo, bob.handle, "--role", "read"});

  json list = J(bob, {"repo", "list"});
  ASSERT_EQ(list.size(), 1u) << list;
  EXPECT_EQ(list[0]["name"], repo);
  EXPECT_EQ(list[0]["role"], "read");
  for (const char* key : {"name", "role", "created_at", "created_by"})
    EXPECT_TRUE(list[0].contains(key)) << key;
  std::string table = Text(bob, {"repo", "list"});
  EXPECT_EQ(table.rfind("NAME", 0), 0u) << table;
  EXPECT_TRUE(Has(table, "ROLE") && Has(table, repo) && Has(table, "read")) << table;
  EXPECT_TRUE(Text(carol, {"repo", "list"}).empty());

  json shown = J(bob, {"repo", "show", repo});
  EXPECT_EQ(shown["name"], repo);
  json members = shown["members"];
  auto role_of = [&](const std::string& handle) -> json {
    for (const json& m : members)
      if (m["handle"] == handle) return m["role"];
    return nullptr;
  };
  EXPECT_EQ(role_of(alice.handle), "publish");
  EXPECT_EQ(role_of(bob.handle), "read");
  EXPECT_EQ(role_of("admin"), "admin");
  EXPECT_EQ(shown["lanes"][0]["name"], "default");
  EXPECT_EQ(shown["scopes"][0]["name"], "main");
  EXPECT_EQ(shown["gate_graph"]["gates"][0]["id"], "dev-intake");
  std::string text = Text(bob, {"repo", "show", repo});
  for (const char* part : {"members", "lanes", "scopes", "gates", "dev-intake", "default"})
    EXPECT_TRUE(Has(text, part)) << part << " missing in:\n" << text;

  // Only a repo admin grants; a reader gets a clear refusal, a stranger a 404.
  ExpectError(Run(bob, {"repo", "grant", repo, carol.handle, "--role", "read"}),
              "only admins of repo '" + repo + "'");
  ExpectError(Run(carol, {"repo", "show", repo}),
              "repository '" + repo + "' not found (or you have no access to it)");
  ExpectError(Run(carol, {"repo", "grant", repo, carol.handle, "--role", "admin"}),
              "not found (or you have no access to it)");
  ExpectError(Run(bob, {"repo", "show", "no-such-repo"}),
              "repository 'no-such-repo' not found (or you have no access to it)");
  ExpectError(Run(bob, {"repo", "show"}), "no repo given");
  ExpectError(Run(Admin(), {"repo", "create", repo}), "already exists");
  ExpectError(Run(Admin(), {"repo", "create", "a/b"}), "may not contain '/'");

  json removed = J(Admin(), {"repo", "revoke", repo, bob.handle});
  EXPECT_TRUE(removed["role"].is_null()) << removed;
  ExpectError(Run(bob, {"repo", "show", repo}), "not found (or you have no access to it)");
  ExpectError(Run(Admin(), {"repo", "revoke", repo, "admin"}), "last admin");

  ExpectUsageError(Run(Admin(), {"repo", "grant", repo, bob.handle}));
  ExpectUsageError(Run(Admin(), {"repo", "grant", repo, bob.handle, "--role", "owner"}));
  ExpectUsageError(Run(Admin(), {"repo", "bogus"}));
}

TEST_F(AdminTest, LanesAndScopesOfTheConfiguredRepo) {
  CliUser alice = NewPerson("alice"), bob = NewPerson("bob");
  std::string repo = NewRepo(alice);
  J(alice, {"repo", "grant", repo, bob.handle, "--role", "read"});

  // Inside a workspace whose remote names the repo, no --repo is needed.
  fs::path ws = alice.home->path() / "ws";
  fs::create_directories(ws);
  ASSERT_EQ(Run(alice, {"init"}, ws).exit_code, 0);
  ASSERT_EQ(Run(alice, {"remote", "set", "--url", Url(), "--repo", repo}, ws).exit_code, 0);

  json lane = J(alice, {"lane", "create", "qa"}, ws);
  EXPECT_EQ(lane["name"], "qa");
  EXPECT_EQ(lane["members"], json::array());
  json added = J(alice, {"lane", "add", "qa", bob.handle}, ws);
  EXPECT_EQ(added["members"], json::array({bob.handle}));
  json lanes = J(bob, {"lane", "list", "--repo", repo});
  ASSERT_EQ(lanes.size(), 2u) << lanes;
  EXPECT_EQ(lanes[0]["name"], "default");
  EXPECT_EQ(lanes[0]["members"], json::array({alice.handle}));
  EXPECT_EQ(lanes[1]["name"], "qa");
  EXPECT_EQ(lanes[1]["members"], json::array({bob.handle}));
  std::string table = Text(alice, {"lane", "list"}, ws);
  EXPECT_EQ(table.rfind("LANE", 0), 0u) << table;
  EXPECT_TRUE(Has(table, "qa") && Has(table, bob.handle)) << table;
  json removed = J(alice, {"lane", "remove", "qa", bob.handle}, ws);
  EXPECT_EQ(removed["members"], json::array());

  json scope = J(alice, {"scope", "create", "release/1.0"}, ws);
  EXPECT_EQ(scope["name"], "release/1.0");
  json scopes = J(bob, {"scope", "list", "--repo", repo});
  ASSERT_EQ(scopes.size(), 2u) << scopes;
  EXPECT_TRUE(Has(Text(alice, {"scope", "list"}, ws), "release/1.0"));

  // A reader may look but not change; mistakes name what to do.
  ExpectError(Run(bob, {"lane", "create", "ops", "--repo", repo}),
              "cannot create lane 'ops': only admins of repo '" + repo + "'");
  ExpectError(Run(bob, {"scope", "create", "hotfix", "--repo", repo}),
              "only admins of repo '" + repo + "'");
  ExpectError(Run(alice, {"lane", "create", "qa"}, ws), "already exists");
  ExpectError(Run(alice, {"lane", "add", "nope", bob.handle}, ws), "lane 'nope' not found");
  CliUser carol = NewPerson("carol");
  ExpectError(Run(alice, {"lane", "add", "qa", carol.handle}, ws), "grant one first");
  ExpectError(Run(carol, {"lane", "list", "--repo", repo}), "not found (or you have no access");
  ExpectError(Run(alice, {"lane", "list"}), "no repo given");
  ExpectUsageError(Run(alice, {"lane", "add", "qa"}, ws));
}

TEST_F(AdminTest, GatesShowAndSet) {
  CliUser alice = NewPerson("alice"), bob = NewPerson("bob");
  std::string repo = NewRepo(alice);
  J(alice, {"repo", "grant", repo, bob.handle, "--role", "publish"});

  json graph = J(bob, {"gates", "--repo", repo});
  EXPECT_EQ(graph, json::parse(R"({"gates":[{"id":"dev-intake","upstream":[]}]})"));
  std::string text = Text(bob, {"gates", "--repo", repo});
  EXPECT_TRUE(Has(text, "GATE") && Has(text, "dev-intake")) << text;

  TempDir files;
  json wanted = json::parse(R"({"gates":[
      {"id":"dev-intake","upstream":[]},
      {"id":"review","upstream":["dev-intake"],"description":"code review"},
      {"id":"release","upstream":["review"]}]})");
  WriteFile(files / "ok.json", wanted.dump());
  json set = J(alice, {"gates", "--repo", repo, "--set", (files / "ok.json").string()});
  EXPECT_EQ(set, wanted);
  EXPECT_EQ(J(bob, {"gates", "--repo", repo}), wanted);
  std::string shown = Text(bob, {"gates", "--repo", repo});
  EXPECT_TRUE(Has(shown, "review      dev-intake  code review")) << shown;
  EXPECT_TRUE(Has(shown, "release     review")) << shown;

  // Bad graphs are refused with the reason, and the graph stays as it was.
  WriteFile(files / "cycle.json",
            R"({"gates":[{"id":"a","upstream":["b"]},{"id":"b","upstream":["a"]}]})");
  ExpectError(Run(alice, {"gates", "--repo", repo, "--set", (files / "cycle.json").string()}),
              "cycle");
  WriteFile(files / "typo.json", R"({"gates":[{"id":"a","upstreams":[]}]})");
  ExpectError(Run(alice, {"gates", "--repo", repo, "--set", (files / "typo.json").string()}),
              "unknown gate field \"upstreams\"");
  WriteFile(files / "broken.json", "{\"gates\": [");
  ExpectError(Run(alice, {"gates", "--repo", repo, "--set", (files / "broken.json").string()}),
              "broken.json");
  ExpectError(Run(alice, {"gates", "--repo", repo, "--set", (files / "none.json").string()}),
              "none.json");
  ExpectError(Run(bob, {"gates", "--repo", repo, "--set", (files / "ok.json").string()}),
              "cannot replace the gate graph: only admins of repo '" + repo + "'");
  EXPECT_EQ(J(bob, {"gates", "--repo", repo}), wanted);
}

TEST_F(AdminTest, AuditShowsChangesAndRefusals) {
  CliUser alice = NewPerson("alice"), bob = NewPerson("bob");
  std::string repo = NewRepo(alice);
  J(alice, {"repo", "grant", repo, bob.handle, "--role", "read"});
  J(alice, {"lane", "create", "qa", "--repo", repo});
  ASSERT_EQ(Run(bob, {"lane", "create", "ops", "--repo", repo}).exit_code, 1);

  json log = J(alice, {"audit", "--repo", repo});
  ASSERT_TRUE(log["entries"].is_array());
  EXPECT_TRUE(log.contains("next"));
  std::vector<std::string> actions;
  for (const json& e : log["entries"]) {
    for (const char* key : {"seq", "at", "actor", "action", "repo", "target", "outcome"})
      EXPECT_TRUE(e.contains(key)) << key << " missing in " << e;
    EXPECT_EQ(e["repo"], repo);
    actions.push_back(e["action"].get<std::string>() + " " + e["outcome"].get<std::string>());
  }
  // Newest first.
  std::vector<std::string> expected = {"lane.create refused: forbidden", "lane.create ok",
                                       "member.set ok", "repo.create ok"};
  EXPECT_EQ(actions, expected);

  std::string text = Text(alice, {"audit", "--repo", repo});
  EXPECT_EQ(text.rfind("TIME", 0), 0u) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5) << text;
  EXPECT_TRUE(Has(text, bob.handle) && Has(text, "refused: forbidden") && Has(text, "ops")) << text;

  // --limit stops early and says where to go on.
  json two = J(alice, {"audit", "--repo", repo, "--limit", "2"});
  EXPECT_EQ(two["entries"].size(), 2u);
  EXPECT_FALSE(two["next"].is_null());

  // Filters, applied by the server: what bob did, and what was refused.
  json bobs = J(alice, {"audit", "--repo", repo, "--actor", bob.handle});
  ASSERT_EQ(bobs["entries"].size(), 1u) << bobs;
  EXPECT_EQ(bobs["entries"][0]["action"], "lane.create");
  json refused =
      J(alice, {"audit", "--repo", repo, "--outcome", "refused", "--since", "2000-01-01"});
  ASSERT_EQ(refused["entries"].size(), 1u) << refused;
  EXPECT_EQ(J(alice, {"audit", "--repo", repo, "--action", "member.set"})["entries"].size(), 1u);
  ExpectError(Run(alice, {"audit", "--repo", repo, "--since", "yesterday"}), "since");
  ExpectUsageError(Run(alice, {"audit", "--repo", repo, "--outcome", "maybe"}));

  // The whole server's log is for server admins.
  json all = J(Admin(), {"audit", "--all", "--limit", "2000"});
  bool user_created = false;
  for (const json& e : all["entries"])
    if (e["action"] == "user.create" && e["target"] == alice.handle) user_created = true;
  EXPECT_TRUE(user_created);
  EXPECT_TRUE(Has(Text(Admin(), {"audit", "--all", "-n", "3"}), "REPO"));
  ExpectError(Run(alice, {"audit", "--all"}), "only server admins");
  ExpectError(Run(bob, {"audit", "--repo", repo}), "only admins of repo '" + repo + "'");
  ExpectError(Run(alice, {"audit"}), "no repo given");
  ExpectUsageError(Run(Admin(), {"audit", "--all", "--repo", repo}));
  ExpectUsageError(Run(Admin(), {"audit", "--all", "--limit", "0"}));
}

TEST_F(AdminTest, WithoutALoginCommandsSayHowToLogIn) {
  CliUser nobody;
  RunResult r = Run(nobody, {"repo", "list", "--url", Url()});
  ExpectError(r, "converge login --url " + Url());
}

}  // namespace
}  // namespace converge::testing
