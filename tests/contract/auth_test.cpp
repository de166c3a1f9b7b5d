// Contract: /healthz, /v1/whoami, users and tokens, and the 401 rules.
#include <sys/stat.h>

#include <chrono>
#include <thread>
#include <vector>

#include "fixtures.h"
#include "store/db.h"

namespace converge::testing {
namespace {

class AuthTest : public ContractTest {};

TEST_F(AuthTest, HealthzNeedsNoToken) {
  Reply r = Anonymous().Get("/healthz");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["status"], "ok");
  EXPECT_TRUE(r.json()["version"].is_string());
}

TEST_F(AuthTest, AdminTokenFileIsPrivateAndWorks) {
  struct stat st;
  ASSERT_EQ(::stat((server().data_dir() / "initial-admin-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(server().data_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  Reply r = Admin().Get("/v1/whoami");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["user"]["handle"], "admin");
  EXPECT_EQ(r.json()["user"]["admin"], true);
  EXPECT_EQ(r.json()["token_id"].get<std::string>().size(), 16u);
  // The server prints where the token is, never the token itself.
  std::string log = server().Log();
  EXPECT_NE(log.find("initial admin token written to"), std::string::npos);
  EXPECT_EQ(log.find(server().admin_token()), std::string::npos);
}

TEST_F(AuthTest, MissingTokenIs401) {
  Reply r = Anonymous().Get("/v1/whoami");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.code(), "unauthenticated");
  EXPECT_FALSE(r.message().empty());
}

TEST_F(AuthTest, MalformedAndUnknownTokensAre401) {
  for (const std::string& t :
       {std::string("nonsense"), std::string("cvg_0123456789abcdef_") + std::string(64, '0'),
        std::string("cvg_XYZ")}) {
    Reply r = As(t).Get("/v1/whoami");
    EXPECT_EQ(r.status, 401) << t;
    EXPECT_EQ(r.code(), "unauthenticated");
    EXPECT_EQ(r.body.find(t), std::string::npos) << "the token must not be echoed";
  }
  // A real id with a wrong secret is as unknown as a made-up one.
  std::string good = server().admin_token();
  std::string wrong =
      good.substr(0, good.size() - 4) + (good.substr(good.size() - 4) == "0000" ? "1111" : "0000");
  EXPECT_EQ(As(wrong).Get("/v1/whoami").status, 401);
}

TEST_F(AuthTest, NonBearerSchemeIs401) {
  httplib::Client cli("127.0.0.1", server().port());
  auto r = cli.Get("/v1/whoami", {{"Authorization", "Basic YWRtaW46YWRtaW4="}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer realm=\"converge\"");
}

TEST_F(AuthTest, RevokedTokenIs401) {
  std::string token = NewUser();
  Api user = As(token);
  ASSERT_EQ(user.Get("/v1/whoami").status, 200);
  std::string id = user.Get("/v1/whoami").json()["token_id"];
  Reply r = user.Delete("/v1/tokens/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["revoked"], true);
  Reply after = user.Get("/v1/whoami");
  EXPECT_EQ(after.status, 401);
  EXPECT_NE(after.message().find("revoked"), std::string::npos) << after.body;
}

// No worker thread and no pooled database connection remembers a token: a
// revocation reaches every keep-alive client at its next request, however
// many connections of the pool their earlier requests (made at once) warmed.
TEST_F(AuthTest, ARevocationReachesEveryConnectionAtItsNextRequest) {
  constexpr int kClients = 8;
  std::string token = NewUser();
  std::vector<Api> clients;
  for (int i = 0; i < kClients; i++) clients.emplace_back(server().port(), token, true);
  std::vector<int> before(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; i++)
    threads.emplace_back([&, i] { before[i] = clients[i].Get("/v1/whoami").status; });
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kClients; i++) ASSERT_EQ(before[i], 200) << "client " << i;
  Reply who = As(token).Get("/v1/whoami");
  ASSERT_EQ(Admin().Delete("/v1/tokens/" + who.json()["token_id"].get<std::string>()).status, 200);
  for (int i = 0; i < kClients; i++) {
    Reply r = clients[i].Get("/v1/whoami");
    EXPECT_EQ(r.status, 401) << "client " << i << ": " << r.body;
  }
}

TEST_F(AuthTest, ExpiredTokenIs401) {
  Reply made = Admin().Post("/v1/tokens", {{"label", "short"}, {"expires_in_days", 1}});
  ASSERT_EQ(made.status, 201) << made.body;
  std::string token = made.json()["token"], id = made.json()["id"];
  EXPECT_TRUE(made.json()["expires_at"].is_string());
  ASSERT_EQ(As(token).Get("/v1/whoami").status, 200);
  {
    // Let a day pass: move the expiry into the past, as the clock would.
    Result<Db> db = server().OpenDb();
    ASSERT_TRUE(db.ok()) << db.status().message();
    Result<Stmt> q =
        db->Prepare("UPDATE tokens SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE id = ?");
    ASSERT_TRUE(q.ok());
    ASSERT_TRUE(q->Bind(1, id).Run().ok());
  }
  Reply r = As(token).Get("/v1/whoami");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.message().find("expired"), std::string::npos) << r.body;
}

TEST_F(AuthTest, AdminCreatesAndListsUsers) {
  std::string handle = Unique("carol");
  Reply r = Admin().Post("/v1/users", {{"handle", handle}, {"admin", false}});
  ASSERT_EQ(r.status, 201) << r.body;
  nlohmann::json j = r.json();
  EXPECT_EQ(j["user"]["handle"], handle);
  EXPECT_EQ(j["user"]["admin"], false);
  EXPECT_TRUE(j["user"]["id"].is_number_integer());
  EXPECT_TRUE(j["user"]["created_at"].is_string());
  std::string token = j["token"];
  EXPECT_EQ(token.rfind("cvg_" + j["token_id"].get<std::string>() + "_", 0), 0u);
  EXPECT_EQ(token.size(), 4u + 16 + 1 + 64);
  EXPECT_EQ(As(token).Get("/v1/whoami").json()["user"]["handle"], handle);

  Reply list = Admin().Get("/v1/users");
  ASSERT_EQ(list.status, 200);
  bool found = false;
  for (const auto& u : list.json()) found = found || u["handle"] == handle;
  EXPECT_TRUE(found);
}

TEST_F(AuthTest, UserRulesAreEnforced) {
  std::string handle = Unique("dave");
  ASSERT_EQ(Admin().Post("/v1/users", {{"handle", handle}}).status, 201);
  Reply dup = Admin().Post("/v1/users", {{"handle", handle}});
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.code(), "conflict");
  for (const char* bad : {"Bob", "-x", "", "a_b", "way-too-long-handle-way-too-long-handle-x"})
    EXPECT_EQ(Admin().Post("/v1/users", {{"handle", bad}}).status, 400) << bad;
  EXPECT_EQ(Admin().Post("/v1/users", {{"admin", true}}).status, 400);
  EXPECT_EQ(Admin().PostBytes("/v1/users", "{not json", "application/json").status, 400);
}

TEST_F(AuthTest, OnlyAdminsManageUsers) {
  Api user = As(NewUser());
  Reply r = user.Post("/v1/users", {{"handle", Unique("eve")}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.code(), "forbidden");
  EXPECT_EQ(user.Get("/v1/users").status, 403);
  EXPECT_EQ(Anonymous().Post("/v1/users", {{"handle", Unique("eve")}}).status, 401);
  EXPECT_EQ(Anonymous().Get("/v1/users").status, 401);
}

TEST_F(AuthTest, UsersManageTheirOwnTokens) {
  std::string first = NewUser();
  std::string handle = HandleOf(first);
  Api user = As(first);
  Reply made = user.Post("/v1/tokens", {{"label", "laptop"}});
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(made.json()["label"], "laptop");
  EXPECT_EQ(made.json()["user"], handle);
  EXPECT_TRUE(made.json()["expires_at"].is_null());
  std::string second = made.json()["token"];
  ASSERT_EQ(As(second).Get("/v1/whoami").status, 200);

  Reply list = user.Get("/v1/tokens");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json().size(), 2u);
  for (const auto& t : list.json()) {
    EXPECT_EQ(t["user"], handle);
    EXPECT_FALSE(t.contains("token")) << "a listed token never shows its secret";
    EXPECT_EQ(t["revoked"], false);
  }
  // last_used_at is set once a token is used.
  bool used = false;
  for (const auto& t : list.json()) used = used || t["last_used_at"].is_string();
  EXPECT_TRUE(used);
  EXPECT_EQ(list.body.find(second.substr(21)), std::string::npos);

  // Own tokens only: others' are refused, and their ids are not even visible.
  std::string other = NewUser();
  EXPECT_EQ(user.Post("/v1/tokens", {{"user", HandleOf(other)}}).status, 403);
  EXPECT_EQ(user.Get("/v1/tokens?user=" + HandleOf(other)).status, 403);
  std::string other_id = As(other).Get("/v1/whoami").json()["token_id"];
  EXPECT_EQ(user.Delete("/v1/tokens/" + other_id).status, 404);
  EXPECT_EQ(As(other).Get("/v1/whoami").status, 200);
  EXPECT_EQ(user.Delete("/v1/tokens/nothex").status, 400);
  EXPECT_EQ(user.Post("/v1/tokens", {{"expires_in_days", 0}}).status, 400);
  EXPECT_EQ(Anonymous().Post("/v1/tokens", nlohmann::json::object()).status, 401);
  EXPECT_EQ(Anonymous().Get("/v1/tokens").status, 401);
  EXPECT_EQ(Anonymous().Delete("/v1/tokens/" + other_id).status, 401);
}

TEST_F(AuthTest, AdminManagesEveryonesTokens) {
  std::string token = NewUser();
  std::string handle = HandleOf(token);
  Reply made = Admin().Post("/v1/tokens", {{"user", handle}, {"label", "ci"}});
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(made.json()["user"], handle);
  EXPECT_EQ(As(made.json()["token"]).Get("/v1/whoami").json()["user"]["handle"], handle);
  EXPECT_EQ(Admin().Post("/v1/tokens", {{"user", "nobody-here"}}).status, 404);

  Reply theirs = Admin().Get("/v1/tokens?user=" + handle);
  ASSERT_EQ(theirs.status, 200);
  EXPECT_EQ(theirs.json().size(), 2u);
  Reply all = Admin().Get("/v1/tokens");
  ASSERT_EQ(all.status, 200);
  EXPECT_GT(all.json().size(), 2u);

  std::string id = made.json()["id"];
  Reply revoked = Admin().Delete("/v1/tokens/" + id);
  ASSERT_EQ(revoked.status, 200);
  EXPECT_EQ(revoked.json()["revoked"], true);
  EXPECT_EQ(As(made.json()["token"]).Get("/v1/whoami").status, 401);
  EXPECT_EQ(As(token).Get("/v1/whoami").status, 200) << "other tokens keep working";
}

TEST_F(AuthTest, AccessLogNamesTheUserNeverTheToken) {
  std::string token = NewUser("logged");
  std::string handle = HandleOf(token);
  ASSERT_EQ(As(token).Get("/v1/repos?x=1").status, 200);
  // The line is written once the answer is out: wait for it.
  std::string log;
  for (int i = 0; i < 1000; i++) {
    log = server().Log();
    if (log.find(" GET /v1/repos 200 ") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_NE(log.find(" access 127.0.0.1 GET /v1/repos 200 "), std::string::npos) << log;
  EXPECT_NE(log.find("ms " + handle + "\n"), std::string::npos) << log;
  EXPECT_EQ(log.find(token), std::string::npos);
  EXPECT_EQ(log.find(token.substr(21)), std::string::npos) << "not even the secret part";
}

TEST_F(AuthTest, UnknownRoutesAnswerJson) {
  Reply r = Admin().Get("/v1/nothing-here");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.code(), "not_found");
  Reply p = Admin().Post("/v1/nothing-here", {{"x", 1}});
  EXPECT_EQ(p.status, 404);
  EXPECT_EQ(p.code(), "not_found");
}

}  // namespace
}  // namespace converge::testing
