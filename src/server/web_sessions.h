// Sessions of the web view (docs/server.md, "The web view"). A browser signs
// in with a token once; it then holds only a cookie with a random session id
// (32 bytes from libsodium), stored on the server as its BLAKE2b-256 hash
// (store/records/sessions.h), never the token. A session is bound to the
// token it was made with: it ends when that token is revoked or expires, when
// it reaches its own expiry (kWebSessionHours after sign-in, or the token's
// expiry if sooner), or when the user signs out. Each request's session is
// checked against the database, so revoking the token ends it at once.
#pragma once

#include <string>
#include <string_view>

#include "server/auth.h"
#include "server/caller.h"
#include "server/db_pool.h"

namespace converge {

inline constexpr int kWebSessionHours = 12;

struct WebSignIn {
  std::string cookie_id;  // 64 hex digits: the cookie's value, shown only here
  std::string expires_at;
  Caller caller;
  int64_t max_age = 0;  // whole seconds from now to expires_at, for the cookie
};

class WebSessions {
 public:
  WebSessions(DbPool& dbs, Identity& identity) : dbs_(dbs), identity_(identity) {}

  // Signs in with the token text `token` from `remote`: checked exactly as an
  // Authorization header (Identity::Authenticate: failures audited and
  // throttled, *retry_after set while the address is blocked). Errors:
  // kUnauthenticated; the database's. Audited: "session.create", target the
  // token's id.
  Result<WebSignIn> SignIn(std::string_view token, const std::string& remote, int64_t* retry_after);

  // The caller behind a session cookie's value. Errors: kUnauthenticated for
  // a malformed, unknown, ended or expired session, and for one whose token
  // was revoked or expired; the database's. Audited, as refused
  // "session.use" (actor "token:<id>", never the cookie), only a session
  // whose token was revoked or expired, through
  // Identity::RefuseUnauthenticated: a failure of `remote`, written only
  // while the address is not blocked. A session that merely ran out or was
  // signed out is not (its browser was told to drop the cookie).
  Result<Caller> Resolve(std::string_view cookie_id, const std::string& remote);

  // Records a sign-in form refused before its token was looked at (its CSRF
  // check failed: `why` says how) as refused "session.create" from
  // `remote`, bounded as failed tokens are (Identity::RefuseUnauthenticated:
  // *retry_after set while `remote` is blocked, and no row then). Returns
  // the refusal: kPermission, or kUnauthenticated when blocked.
  Status RefuseSignIn(const std::string& remote, const std::string& why, int64_t* retry_after);

  // Records a sign-out form refused for its CSRF check (`why`) as refused
  // "session.end" of the signed-in `caller`. Returns kPermission with `why`.
  Status RefuseSignOut(const Caller& caller, const std::string& why);

  // Ends the session (ending an ended one again succeeds). Errors:
  // kUnauthenticated for a malformed or unknown id. Audited: "session.end".
  Status SignOut(const Caller& caller, std::string_view cookie_id);

  // The CSRF value for forms of the session `cookie_id`: a keyed hash of the
  // id, so a page can carry it without the id itself, and another site,
  // which cannot read the cookie, cannot make it.
  static std::string CsrfFor(std::string_view cookie_id);

 private:
  DbPool& dbs_;
  Identity& identity_;
};

}  // namespace converge
