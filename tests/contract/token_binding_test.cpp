// Contract: a token a user makes with one of their tokens is bound to it: it
// never expires later, and revoking the parent revokes it (and what was made
// with it). Tokens a server admin makes for someone else are not bound.
#include <map>

#include "fixtures.h"

namespace converge::testing {
namespace {

class TokenBindingTest : public ContractTest {
 protected:
  // POST /v1/tokens with `token`; the new token's JSON (fails the test on error).
  static nlohmann::json Mint(const std::string& token, nlohmann::json body) {
    Reply r = As(token).Post("/v1/tokens", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json();
  }
  static int Whoami(const std::string& token) { return As(token).Get("/v1/whoami").status; }
  static std::string IdOf(const std::string& token) {
    return As(token).Get("/v1/whoami").json()["token_id"];
  }
};

TEST_F(TokenBindingTest, AMintedTokenNeverOutlivesTheTokenThatMadeIt) {
  std::string first = NewUser("minter");
  nlohmann::json day = Mint(first, {{"label", "one day"}, {"expires_in_days", 1}});
  ASSERT_TRUE(day["expires_at"].is_string()) << day;
  EXPECT_EQ(day["parent"], IdOf(first));
  std::string short_lived = day["token"];

  // Asking for nothing: it expires with its parent, not never.
  nlohmann::json child = Mint(short_lived, {{"label", "no expiry asked"}});
  EXPECT_EQ(child["expires_at"], day["expires_at"]) << child;
  EXPECT_EQ(child["parent"], day["id"]);

  // Asking for longer is refused, saying why and what to do.
  Reply longer = As(short_lived).Post("/v1/tokens", {{"expires_in_days", 30}});
  EXPECT_EQ(longer.status, 400) << longer.body;
  EXPECT_NE(longer.message().find("may not outlive"), std::string::npos) << longer.body;
  EXPECT_NE(longer.message().find(day["expires_at"].get<std::string>()), std::string::npos);

  // Revoking the short-lived token takes the one made with it along.
  ASSERT_EQ(Whoami(child["token"]), 200);
  ASSERT_EQ(As(first).Delete("/v1/tokens/" + day["id"].get<std::string>()).status, 200);
  EXPECT_EQ(Whoami(short_lived), 401);
  EXPECT_EQ(Whoami(child["token"]), 401);
  EXPECT_EQ(Whoami(first), 200) << "the parent of a revoked token is not touched";
}

TEST_F(TokenBindingTest, RevokingATokenRevokesEverythingMadeWithIt) {
  std::string first = NewUser("chain");
  nlohmann::json a = Mint(first, {{"label", "a"}});
  EXPECT_TRUE(a["expires_at"].is_null()) << "a token that never expires makes ones that do not";
  nlohmann::json b = Mint(a["token"], {{"label", "b"}});
  nlohmann::json c = Mint(b["token"], {{"label", "c"}, {"expires_in_days", 7}});
  nlohmann::json sibling = Mint(first, {{"label", "sibling"}});

  Reply revoked = As(first).Delete("/v1/tokens/" + a["id"].get<std::string>());
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  for (const nlohmann::json& t : {a, b, c}) EXPECT_EQ(Whoami(t["token"]), 401) << t["label"];
  EXPECT_EQ(Whoami(sibling["token"]), 200);
  EXPECT_EQ(Whoami(first), 200);

  // The list says which are revoked and what each was made with.
  Reply list = As(first).Get("/v1/tokens");
  ASSERT_EQ(list.status, 200);
  std::map<std::string, nlohmann::json> by_label;
  for (const auto& t : list.json()) by_label[t["label"]] = t;
  EXPECT_EQ(by_label["b"]["parent"], a["id"]);
  EXPECT_EQ(by_label["c"]["parent"], b["id"]);
  for (const char* label : {"a", "b", "c"}) EXPECT_EQ(by_label[label]["revoked"], true) << label;
  EXPECT_EQ(by_label["sibling"]["revoked"], false);
  EXPECT_TRUE(by_label["initial"]["parent"].is_null());

  // The audit row of the revocation counts what went with it.
  Reply log = Admin().Get("/v1/audit?limit=50");
  bool counted = false;
  for (const auto& e : log.json()["entries"])
    counted = counted ||
              (e["action"] == "token.revoke" && e["target"] == a["id"] &&
               e["detail"].get<std::string>().find("2 token(s) made with it") != std::string::npos);
  EXPECT_TRUE(counted) << log.body;
}

// A server admin's token makes tokens for others that stand on their own: an
// admin can create users outright, so binding them would protect nothing, and
// rotating the admin's token must not lock everyone out.
TEST_F(TokenBindingTest, TokensAnAdminMakesForOthersAreNotBound) {
  std::string boss = Admin().CreateUser(Unique("boss"), /*admin=*/true);
  std::string user = NewUser("worker");
  nlohmann::json made = Mint(boss, {{"user", HandleOf(user)}, {"label", "ci"}});
  EXPECT_TRUE(made["parent"].is_null()) << made;
  nlohmann::json own = Mint(boss, {{"label", "boss laptop"}});
  EXPECT_EQ(own["parent"], IdOf(boss)) << "an admin's own tokens are bound like anyone's";
  ASSERT_EQ(As(boss).Delete("/v1/tokens/" + IdOf(boss)).status, 200);
  EXPECT_EQ(Whoami(made["token"]), 200);
  EXPECT_EQ(Whoami(own["token"]), 401);
}

}  // namespace
}  // namespace converge::testing
