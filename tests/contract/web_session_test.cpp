// Contract: the web view's sessions (docs/server.md, "The web view"): the
// cookies are Secure behind a trusted TLS-terminating proxy (and only
// then), refused sign-in and sign-out forms and sessions whose token was
// revoked or expired are audited without letting a flood write a row each,
// and a session ends no later than its token.
#include "base/clock.h"
#include "fixtures.h"
#include "store/db.h"
#include "support/nginx.h"
#include "web_browser.h"

namespace converge::testing {
namespace {

constexpr int kWebFailLimit = 3;

// A whole request sent from the loopback address `source`; the answer.
std::string SendFrom(const std::string& source, int port, const std::string& method,
                     const std::string& path, const std::string& header_lines,
                     const std::string& form = "") {
  std::string raw = method + " " + path + " HTTP/1.1\r\nHost: x\r\n" + header_lines;
  if (method == "POST")
    raw += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
           std::to_string(form.size()) + "\r\n";
  return RequestFromAddress(source, port, raw + "Connection: close\r\n\r\n" + form);
}

// The Set-Cookie line for `name` in a raw answer ("" when none).
std::string SetCookieLine(const std::string& answer, const std::string& name) {
  std::string key = "Set-Cookie: " + name + "=";
  size_t at = answer.find(key);
  if (at == std::string::npos) return "";
  return answer.substr(at + 12, answer.find("\r\n", at) - at - 12);
}

std::string CookieValueOf(const std::string& line) {
  size_t eq = line.find('='), semi = line.find(';');
  return line.substr(eq + 1, semi - eq - 1);
}

std::string CsrfField(const std::string& page) {
  std::string key = "name=\"csrf\" value=\"";
  size_t at = page.find(key);
  return at == std::string::npos ? "" : page.substr(at + key.size(), 64);
}

// Sets a column of one row of the server's database, as time passing would.
// Through ServerProcess::OpenDb: the server's engine, SQLite or PostgreSQL.
void SetColumn(const ServerProcess& server, const std::string& table, const std::string& column,
               const std::string& value, const std::string& key, const std::string& id) {
  Result<Db> db = server.OpenDb();
  ASSERT_TRUE(db.ok()) << db.status().message();
  Result<Stmt> q = db->Prepare("UPDATE " + table + " SET " + column + " = ? WHERE " + key + " = ?");
  ASSERT_TRUE(q.ok()) << q.status().message();
  ASSERT_TRUE(q->Bind(1, value).Bind(2, id).Run().ok());
}

std::string SessionExpiry(const ServerProcess& server, const std::string& token_id) {
  Result<Db> db = server.OpenDb();
  EXPECT_TRUE(db.ok());
  if (!db.ok()) return "";
  Result<Stmt> q = db->Prepare("SELECT expires_at FROM web_sessions WHERE token_id = ?");
  EXPECT_TRUE(q.ok());
  if (!q.ok()) return "";
  q->Bind(1, token_id);
  Result<bool> row = q->Step();
  return row.ok() && *row ? q->Text(0) : "";
}

// Behind a TLS-terminating proxy: "X-Forwarded-Proto: https" from a trusted
// peer makes both cookies Secure; from anyone else it is ignored.
TEST(WebBehindATlsProxyTest, CookiesAreSecureOnlyWhenATrustedProxySaysHttps) {
  ServerOptions behind;
  behind.args = {"--trusted-proxy", "127.0.0.5"};
  ServerProcess s(behind);
  struct Case {
    const char* source;
    const char* proto;  // the header's value; "" for none
    bool secure;
  };
  for (const Case& c : {Case{"127.0.0.5", "https", true}, Case{"127.0.0.5", "HTTPS", true},
                        Case{"127.0.0.5", "http", false}, Case{"127.0.0.5", "", false},
                        Case{"127.0.0.6", "https", false}}) {
    std::string label = std::string(c.source) + " proto=" + c.proto;
    std::string proto = *c.proto ? std::string("X-Forwarded-Proto: ") + c.proto + "\r\n" : "";
    std::string form = SendFrom(c.source, s.port(), "GET", "/signin", proto);
    std::string signin = SetCookieLine(form, "converge_signin");
    ASSERT_FALSE(signin.empty()) << label << "\n" << form;
    EXPECT_EQ(signin.find("; Secure") != std::string::npos, c.secure) << label << ": " << signin;
    std::string in = SendFrom(c.source, s.port(), "POST", "/signin",
                              proto + "Cookie: converge_signin=" + CookieValueOf(signin) + "\r\n",
                              "token=" + s.admin_token() + "&csrf=" + CsrfField(form));
    ASSERT_EQ(StatusOf(in), 303) << label << "\n" << in;
    std::string session = SetCookieLine(in, "converge_session");
    ASSERT_FALSE(session.empty()) << label;
    EXPECT_EQ(session.find("; Secure") != std::string::npos, c.secure) << label << ": " << session;
    EXPECT_NE(session.find("; HttpOnly; SameSite=Strict"), std::string::npos) << session;
  }
}

class WebRefusalTest : public ContractTest {
 protected:
  static void SetUpTestSuite() {
    ServerOptions options;
    options.config = {{"auth_fail_limit", kWebFailLimit},
                      {"auth_block_seconds", 600},
                      {"auth_block_max_seconds", 600}};
    server_ = std::make_unique<ServerProcess>(options);
  }
  // A token of a new user, made to be revoked or expired: its id in *id.
  std::string SpareToken(std::string* id) {
    std::string user = NewUser("webrefused");
    Reply made = As(user).Post("/v1/tokens", {{"label", "web"}, {"expires_in_days", 1}});
    EXPECT_EQ(made.status, 201) << made.body;
    *id = made.json()["id"].get<std::string>();
    return made.json()["token"].get<std::string>();
  }
  WebBrowser SignedIn(const std::string& token) {
    WebBrowser b(server().port());
    Reply r = b.SignIn(token);
    EXPECT_EQ(r.status, 303) << r.body;
    return b;
  }
  // The newest audit rows of `action` from `remote`.
  static std::vector<nlohmann::json> RowsOf(const std::string& action, const std::string& remote) {
    Reply page = Admin().Get("/v1/audit?limit=1000&action=" + action);
    std::vector<nlohmann::json> out;
    for (const auto& e : page.json()["entries"])
      if (e["remote_addr"] == remote) out.push_back(e);
    return out;
  }
};

TEST_F(WebRefusalTest, ASignInFormThatFailsItsCsrfCheckIsAuditedAndThrottled) {
  const std::string kFrom = "127.0.0.21";
  std::string token = NewUser("csrfvictim");
  for (int i = 0; i < 10; i++) {
    // No sign-in cookie: the CSRF value matches nothing.
    std::string r = SendFrom(kFrom, server().port(), "POST", "/signin", "",
                             "token=" + token + "&csrf=" + std::string(64, '0'));
    EXPECT_EQ(StatusOf(r), i < kWebFailLimit ? 403 : 429) << i << "\n" << r;
  }
  std::vector<nlohmann::json> rows = RowsOf("session.create", kFrom);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kWebFailLimit)) << "one row each until blocked";
  EXPECT_EQ(rows[0]["outcome"], "refused: forbidden");
  EXPECT_EQ(rows[0]["actor"], "anonymous");
  EXPECT_NE(rows[0]["detail"].get<std::string>().find("CSRF"), std::string::npos) << rows[0];
  EXPECT_EQ(AuditRowsFrom("auth.throttle", kFrom), 1);
  // The token typed into the form is no part of any row.
  EXPECT_EQ(Admin().Get("/v1/audit?limit=1000").body.find(token.substr(4)), std::string::npos);
}

TEST_F(WebRefusalTest, ARefusedSignOutIsAuditedUnderItsUser) {
  std::string token = NewUser("signoutcsrf");
  WebBrowser b = SignedIn(token);
  EXPECT_EQ(b.Post("/signout", {{"csrf", std::string(64, '0')}}).status, 403);
  Reply page = Admin().Get("/v1/audit?limit=10&action=session.end&actor=" + HandleOf(token));
  ASSERT_EQ(page.status, 200);
  const nlohmann::json& rows = page.json()["entries"];
  ASSERT_EQ(rows.size(), 1u) << page.body;
  EXPECT_EQ(rows[0]["outcome"], "refused: forbidden");
  EXPECT_NE(rows[0]["detail"].get<std::string>().find("CSRF"), std::string::npos);
  EXPECT_EQ(page.body.find(b.cookie("converge_session")), std::string::npos);
}

TEST_F(WebRefusalTest, ASessionWhoseTokenWasRevokedOrExpiredIsAuditedOnceAndThrottled) {
  const std::string kRevokedFrom = "127.0.0.22", kExpiredFrom = "127.0.0.23";
  std::string revoked_id, expired_id;
  std::string revoked = SpareToken(&revoked_id), expired = SpareToken(&expired_id);
  std::string revoked_session = SignedIn(revoked).cookie("converge_session");
  std::string expired_session = SignedIn(expired).cookie("converge_session");
  ASSERT_EQ(As(revoked).Delete("/v1/tokens/" + revoked_id).status, 200);
  SetColumn(server(), "tokens", "expires_at", "2000-01-01T00:00:00.000000Z", "id",
            expired_id);

  std::string answer = SendFrom(kExpiredFrom, server().port(), "GET", "/",
                                "Cookie: converge_session=" + expired_session + "\r\n");
  EXPECT_EQ(StatusOf(answer), 303);
  EXPECT_NE(SetCookieLine(answer, "converge_session").find("Max-Age=0"), std::string::npos);
  std::vector<nlohmann::json> rows = RowsOf("session.use", kExpiredFrom);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["outcome"], "refused: unauthenticated");
  EXPECT_EQ(rows[0]["actor"], "token:" + expired_id);
  EXPECT_EQ(rows[0]["target"], expired_id);
  EXPECT_NE(rows[0]["detail"].get<std::string>().find("expired"), std::string::npos) << rows[0];

  // A replayed cookie of a revoked token: a row per try until the address
  // is blocked, then none.
  for (int i = 0; i < 10; i++)
    EXPECT_EQ(StatusOf(SendFrom(kRevokedFrom, server().port(), "GET", "/",
                                "Cookie: converge_session=" + revoked_session + "\r\n")),
              303);
  rows = RowsOf("session.use", kRevokedFrom);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kWebFailLimit));
  EXPECT_NE(rows[0]["detail"].get<std::string>().find("revoked"), std::string::npos) << rows[0];
  EXPECT_EQ(AuditRowsFrom("auth.throttle", kRevokedFrom), 1);
  // Neither the cookie nor anything made from it is in the log.
  std::string log = Admin().Get("/v1/audit?limit=1000").body;
  EXPECT_EQ(log.find(revoked_session), std::string::npos);
  EXPECT_EQ(log.find(expired_session), std::string::npos);
}

// The session's expiry is the token's when that comes first: the cookie's
// Max-Age says so, the stored session says so, and the session ends with
// the token.
TEST_F(WebRefusalTest, ASessionEndsNoLaterThanItsToken) {
  std::string id;
  std::string token = SpareToken(&id);
  // An hour left: sooner than a session's twelve.
  std::string token_expiry = TimeFromNow(std::chrono::hours(1));
  SetColumn(server(), "tokens", "expires_at", token_expiry, "id", id);
  WebBrowser b(server().port());
  Reply in = b.SignIn(token);
  ASSERT_EQ(in.status, 303) << in.body;
  std::string cookie;
  for (const std::string& c : SetCookies(in))
    if (c.rfind("converge_session=", 0) == 0) cookie = c;
  size_t at = cookie.find("Max-Age=");
  ASSERT_NE(at, std::string::npos) << cookie;
  long max_age = std::stol(cookie.substr(at + 8));
  EXPECT_LE(max_age, 3600) << cookie;
  EXPECT_GT(max_age, 3600 - 300) << cookie;
  EXPECT_EQ(SessionExpiry(server(), id), token_expiry);
  ASSERT_EQ(b.Get("/").status, 200);
  // The token's hour passes: the session goes with it.
  SetColumn(server(), "tokens", "expires_at", TimeFromNow(std::chrono::seconds(-1)),
            "id", id);
  Reply after = b.Get("/");
  EXPECT_EQ(after.status, 303);
  EXPECT_EQ(after.header("Location"), "/signin");
}

}  // namespace
}  // namespace converge::testing
