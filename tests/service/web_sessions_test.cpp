// WebSessions in-process (server/web_sessions.h; docs/server.md, "The web
// view"): a session is bound to the token it was signed in with, expires no
// later than it, ends at sign-out, is audited, and a cookie value that is
// not a session is simply no session.
#include "server/web_sessions.h"
#include "base/clock.h"
#include "service_fixture.h"

namespace converge::testing {
namespace {

class WebSessionsTest : public ServiceTest {
 protected:
  WebSessions& sessions() { return authority().web_sessions(); }
};

TEST_F(WebSessionsTest, ASessionStandsForItsTokensUserUntilSignOut) {
  std::string token;
  Caller alice = NewUser("alice", false, &token);
  int64_t retry = 0;
  WebSignIn s = Must(sessions().SignIn(token, "127.0.0.1", &retry));
  EXPECT_EQ(s.cookie_id.size(), 64u);
  EXPECT_EQ(s.cookie_id.find(token.substr(4, 16)), std::string::npos);
  EXPECT_EQ(LastAudit().action, "session.create");
  EXPECT_EQ(LastAudit().target, s.caller.token_id);
  Caller c = Must(sessions().Resolve(s.cookie_id, "127.0.0.1"));
  EXPECT_EQ(c.user_id, alice.user_id);
  EXPECT_EQ(c.handle, "alice");
  EXPECT_FALSE(c.admin);
  EXPECT_EQ(WebSessions::CsrfFor(s.cookie_id).size(), 64u);
  EXPECT_NE(WebSessions::CsrfFor(s.cookie_id), s.cookie_id);
  ASSERT_TRUE(sessions().SignOut(c, s.cookie_id).ok());
  EXPECT_EQ(LastAudit().action, "session.end");
  EXPECT_TRUE(
      HasCode(sessions().Resolve(s.cookie_id, "127.0.0.1").status(), Code::kUnauthenticated));
}

TEST_F(WebSessionsTest, RevokingTheTokenEndsEverySessionMadeWithIt) {
  std::string token;
  Caller alice = NewUser("alice", false, &token);
  WebSignIn one = Must(sessions().SignIn(token, "127.0.0.1", nullptr));
  WebSignIn two = Must(sessions().SignIn(token, "127.0.0.2", nullptr));
  ASSERT_TRUE(identity().RevokeToken(alice, one.caller.token_id).ok());
  for (const WebSignIn* s : {&one, &two})
    EXPECT_TRUE(
        HasCode(sessions().Resolve(s->cookie_id, "127.0.0.1").status(), Code::kUnauthenticated));
}

TEST_F(WebSessionsTest, ASessionLastsTwelveHoursAndNoLongerThanItsToken) {
  NewUser("alice");
  wire::NewTokenRequest req;
  req.label = "short";
  req.expires_in_days = 1;
  req.user = "alice";
  wire::IssuedToken day = Must(identity().CreateToken(admin(), req));
  ASSERT_TRUE(day.expires_at);
  WebSignIn s = Must(sessions().SignIn(day.token, "127.0.0.1", nullptr));
  EXPECT_LE(s.expires_at, *day.expires_at);
  EXPECT_LE(s.expires_at, TimeFromNow(std::chrono::hours(kWebSessionHours)));
  EXPECT_GT(s.expires_at, TimeFromNow(std::chrono::hours(kWebSessionHours - 1)));
}

TEST_F(WebSessionsTest, WhatIsNotASessionIsNoSession) {
  for (const std::string& v : {std::string(), std::string(64, 'a'), std::string(63, 'a'),
                               std::string(64, 'A'), std::string("not hex at all")})
    EXPECT_TRUE(HasCode(sessions().Resolve(v, "127.0.0.1").status(), Code::kUnauthenticated)) << v;
  EXPECT_TRUE(HasCode(sessions().SignIn("cvg_nonsense", "127.0.0.1", nullptr).status(),
                      Code::kUnauthenticated));
}

}  // namespace
}  // namespace converge::testing
