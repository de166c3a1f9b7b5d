// Identity in-process: users and tokens (docs/api.md, "Tokens" and the routes
// /v1/users and /v1/tokens). Who may create what, that a revocation takes
// effect on the very next Authenticate, that a token made with a token is
// bound to it (revoked with it, and with everything made from it) while one a
// server admin issues to someone else stands alone, and the audit rows.
#include "service_fixture.h"

namespace converge::testing {
namespace {

class IdentityTest : public ServiceTest {
 protected:
  wire::IssuedToken TokenFor(const Caller& by, std::optional<std::string> user = std::nullopt,
                             const std::string& label = "t") {
    wire::NewTokenRequest req;
    req.user = std::move(user);
    req.label = label;
    return Must(identity().CreateToken(by, req), "creating a token");
  }
};

TEST_F(IdentityTest, TheFirstStartMakesOneServerAdminAndOnlyServerAdminsMakeUsers) {
  EXPECT_EQ(admin().handle, "admin");
  EXPECT_TRUE(admin().admin);
  Caller alice = NewUser("alice");
  EXPECT_FALSE(alice.admin);
  EXPECT_TRUE(HasCode(identity().CreateUser(alice, {"bob", false}).status(), Code::kPermission));
  EXPECT_EQ(LastAudit().action, "user.create");
  EXPECT_EQ(LastAudit().outcome, "refused: forbidden");
  EXPECT_TRUE(HasCode(identity().ListUsers(alice).status(), Code::kPermission));
  EXPECT_TRUE(HasCode(identity().CreateUser(admin(), {"alice", false}).status(), Code::kConflict));
  EXPECT_TRUE(
      HasCode(identity().CreateUser(admin(), {"Not A Handle", false}).status(), Code::kInvalid));
  std::vector<wire::User> users = Must(identity().ListUsers(admin()));
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[1].handle, "alice");
  EXPECT_EQ(Must(identity().Whoami(alice)).user.handle, "alice");
}

TEST_F(IdentityTest, MakingAUserAuditsTheUserAndItsFirstToken) {
  std::string token;
  Caller alice = NewUser("alice", false, &token);
  std::vector<wire::AuditEntry> rows = AuditRows();
  ASSERT_GE(rows.size(), 2u);
  const wire::AuditEntry& user = rows[rows.size() - 2];
  const wire::AuditEntry& first = rows.back();
  EXPECT_EQ(user.action, "user.create");
  EXPECT_EQ(user.target, "alice");
  EXPECT_EQ(user.actor, "admin");
  EXPECT_EQ(user.outcome, "ok");
  EXPECT_EQ(first.action, "token.create");
  EXPECT_EQ(first.target, alice.token_id);
  for (const wire::AuditEntry& e : rows)  // the secret is never written down
    EXPECT_EQ((e.detail + e.target).find(token.substr(22)), std::string::npos) << e.detail;
  EXPECT_TRUE(VerifyChain().ok());
}

TEST_F(IdentityTest, BadTokensAreUnauthenticatedAndAFailedOneIsAuditedByItsId) {
  int64_t seq = LastAudit().seq;
  for (const std::string& header : {std::string(""), std::string("Bearer "),
                                    std::string("Basic abc"), std::string("Bearer cvg_x_y")})
    EXPECT_TRUE(
        HasCode(identity().Authenticate(header, "10.0.0.1").status(), Code::kUnauthenticated))
        << header;
  // Without a token there is nothing to name: no row (and no database work).
  EXPECT_EQ(LastAudit().seq, seq);
  std::string unknown = "cvg_0123456789abcdef_" + std::string(64, '0');
  EXPECT_TRUE(HasCode(SignIn(unknown).status(), Code::kUnauthenticated));
  wire::AuditEntry row = LastAudit();
  EXPECT_EQ(row.action, "auth.fail");
  EXPECT_EQ(row.actor, "token:0123456789abcdef");
  EXPECT_EQ(row.detail.find(std::string(64, '0')), std::string::npos);
  EXPECT_TRUE(VerifyChain().ok());
}

class ThrottleServiceTest : public IdentityTest {
 protected:
  void Configure(ServerConfig& config) override { config.auth_fail_limit = 3; }
};

TEST_F(ThrottleServiceTest, RepeatedFailuresBlockTheAddressWithOneAuditRowPerBlock) {
  std::string token;
  NewUser("alice", false, &token);
  int64_t seq = LastAudit().seq;
  for (int i = 0; i < 3; i++)
    EXPECT_TRUE(HasCode(identity().Authenticate("", "10.0.0.9").status(), Code::kUnauthenticated));
  wire::AuditEntry row = LastAudit();
  EXPECT_EQ(row.seq, seq + 1);
  EXPECT_EQ(row.action, "auth.throttle");
  EXPECT_EQ(row.outcome, "refused: unauthenticated");
  EXPECT_EQ(row.remote_addr, "10.0.0.9");
  // Blocked: even a good token is not checked (the HTTP layer answers 429 with
  // the seconds set in retry_after), and nothing more is logged.
  int64_t retry_after = 0;
  EXPECT_TRUE(HasCode(identity().Authenticate("Bearer " + token, "10.0.0.9", &retry_after).status(),
                      Code::kUnauthenticated));
  EXPECT_GT(retry_after, 0);
  retry_after = 0;
  EXPECT_FALSE(identity().Authenticate("", "10.0.0.9", &retry_after).ok());
  EXPECT_GT(retry_after, 0);
  EXPECT_EQ(LastAudit().seq, seq + 1);
  // Other addresses are not affected.
  EXPECT_TRUE(identity().Authenticate("Bearer " + token, "10.0.0.8").ok());
  EXPECT_TRUE(VerifyChain().ok());
}

TEST_F(IdentityTest, ARevokedTokenFailsAtOnce) {
  std::string token;
  Caller alice = NewUser("alice", false, &token);
  wire::IssuedToken laptop = TokenFor(alice);
  ASSERT_TRUE(SignIn(laptop.token).ok());
  wire::Token revoked = Must(identity().RevokeToken(alice, laptop.id));
  EXPECT_TRUE(revoked.revoked);
  EXPECT_EQ(LastAudit().action, "token.revoke");
  EXPECT_EQ(LastAudit().target, laptop.id);
  EXPECT_TRUE(HasCode(SignIn(laptop.token).status(), Code::kUnauthenticated));
  // The token it was made with is untouched; revoking twice is not an error.
  EXPECT_TRUE(SignIn(token).ok());
  EXPECT_TRUE(identity().RevokeToken(alice, laptop.id).ok());
  // A caller still holding a Caller of the revoked token cannot make more with it.
  Caller stale = alice;
  stale.token_id = laptop.id;
  EXPECT_TRUE(HasCode(identity().CreateToken(stale, {std::nullopt, "x", std::nullopt}).status(),
                      Code::kUnauthenticated));
  EXPECT_TRUE(VerifyChain().ok());
}

TEST_F(IdentityTest, ATokenMadeWithATokenIsRevokedWithItAndSoIsEverythingMadeFromIt) {
  std::string first;
  Caller alice = NewUser("alice", false, &first);
  wire::IssuedToken child = TokenFor(alice);
  EXPECT_EQ(child.parent, alice.token_id);
  Caller as_child = Must(SignIn(child.token));
  wire::IssuedToken grandchild = TokenFor(as_child);
  EXPECT_EQ(grandchild.parent, child.id);
  wire::IssuedToken sibling = TokenFor(alice);

  Must(identity().RevokeToken(alice, child.id));
  EXPECT_NE(LastAudit().detail.find("1 token(s) made with it"), std::string::npos)
      << LastAudit().detail;
  EXPECT_TRUE(HasCode(SignIn(child.token).status(), Code::kUnauthenticated));
  EXPECT_TRUE(HasCode(SignIn(grandchild.token).status(), Code::kUnauthenticated));
  EXPECT_TRUE(SignIn(sibling.token).ok());
  EXPECT_TRUE(SignIn(first).ok());
}

TEST_F(IdentityTest, ATokenNeverOutlivesTheTokenItWasMadeWith) {
  Caller alice = NewUser("alice");
  wire::NewTokenRequest req{std::nullopt, "short", 2};
  wire::IssuedToken short_lived = Must(identity().CreateToken(alice, req));
  ASSERT_TRUE(short_lived.expires_at);
  Caller as_short = Must(SignIn(short_lived.token));
  wire::IssuedToken inherits = TokenFor(as_short);
  EXPECT_EQ(inherits.expires_at, short_lived.expires_at);
  EXPECT_TRUE(HasCode(identity().CreateToken(as_short, {std::nullopt, "long", 30}).status(),
                      Code::kInvalid));
}

TEST_F(IdentityTest, TokensAServerAdminIssuesToOthersStandAlone) {
  Caller alice = NewUser("alice");
  wire::IssuedToken issued = TokenFor(admin(), "alice");
  EXPECT_FALSE(issued.parent);
  EXPECT_EQ(issued.user, "alice");
  // Revoking the admin's token does not cut alice off.
  Must(identity().RevokeToken(admin(), admin().token_id));
  EXPECT_TRUE(SignIn(issued.token).ok());
  (void)alice;
}

TEST_F(IdentityTest, OthersTokensCanBeNeitherMadeListedNorRevokedAndLookMissing) {
  Caller alice = NewUser("alice"), bob = NewUser("bob");
  EXPECT_TRUE(HasCode(identity().CreateToken(alice, {"bob", "x", std::nullopt}).status(),
                      Code::kPermission));
  EXPECT_EQ(LastAudit().outcome, "refused: forbidden");
  EXPECT_TRUE(HasCode(identity().ListTokens(alice, "bob").status(), Code::kPermission));
  EXPECT_EQ(LastAudit().action, "token.list");
  Status theirs = identity().RevokeToken(alice, bob.token_id).status();
  Status nobodys = identity().RevokeToken(alice, "0123456789abcdef").status();
  EXPECT_TRUE(HasCode(theirs, Code::kNotFound));
  EXPECT_EQ(theirs.message(), "token " + bob.token_id + " not found");
  EXPECT_EQ(nobodys.message(), "token 0123456789abcdef not found");
  EXPECT_TRUE(SignIn(Must(identity().CreateToken(admin(), {"bob", "y", std::nullopt})).token).ok());
  // Own tokens, and everyone's for a server admin.
  std::vector<wire::Token> own = Must(identity().ListTokens(alice, std::nullopt));
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].id, alice.token_id);
  EXPECT_EQ(Must(identity().ListTokens(admin(), "bob")).size(), 2u);
  EXPECT_GE(Must(identity().ListTokens(admin(), std::nullopt)).size(), 4u);
  EXPECT_TRUE(VerifyChain().ok());
}

}  // namespace
}  // namespace converge::testing
