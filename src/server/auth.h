// Identity: users and their bearer tokens (the token format and checks are
// server/tokens.h; the rows store/records/identity.h).
//
// Missing, malformed, unknown, expired and revoked tokens are all
// kUnauthenticated. A token that fails (unknown, expired, revoked) is audited
// under its id, never its secret; a request without one (no header, an empty
// one, or one holding no converge token) is refused without touching the
// database, so it costs no audit row and no fsync. Both count as failures of
// their address: repeated ones are refused for a while without a token check
// (see rate_limit.h), and the audit log gets one "auth.throttle" row per
// block, not one per refusal.
//
// Every call below but Bootstrap and Authenticate takes the authenticated
// Caller. Besides the codes each names, any call can fail with the database's
// (kIo, kCorrupt; store/db.h). "Audited" means a row in the audit log
// (server/audit.h): a change's row in the change's transaction, a refusal's
// (outcome "refused: <code>") in a transaction of its own.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/wire.h"
#include "server/audit.h"
#include "server/caller.h"
#include "server/config.h"
#include "server/db_pool.h"
#include "server/rate_limit.h"

namespace converge {

class Identity {
 public:
  explicit Identity(DbPool& dbs, const ServerConfig& config = ServerConfig());

  // At start (Authority::Open), on an empty database: creates the server
  // admin "admin" and writes its token to `token_file` (mode 0600). Returns
  // whether it did; once any user exists it never does again, even if the
  // file was removed. Audited as actor "server": "user.create" and
  // "token.create". Errors: writing the file (kIo); kInternal when no audit
  // key is registered for the database (server/audit_key.h).
  Result<bool> Bootstrap(const fs::path& token_file);

  // The caller behind an "Authorization" header value ("Bearer TOKEN"), seen
  // from `remote_addr`. Needs nothing. Errors: kUnauthenticated for no token,
  // a malformed, unknown, expired or revoked one, or (without a token check)
  // when `remote_addr` is blocked for repeated failures, then setting
  // *retry_after to the seconds left (HTTP: 429). Audited: a token that fails
  // as "auth.fail" (actor "token:<id>", target the id); the failure that
  // starts a block as one "auth.throttle" row. A success writes no row (it
  // may refresh the token's last use).
  Result<Caller> Authenticate(std::string_view authorization, const std::string& remote_addr,
                              int64_t* retry_after = nullptr);

  // For a request that proved no identity and failed for another reason
  // than a token (the web view's sign-in form failing its CSRF check; a web
  // session whose token was revoked or expired): appends `record` (its
  // remote_addr the request's address; no secret in it) refused with `why`,
  // bounded exactly as failed tokens are. It counts as a failure of that
  // address (one "auth.throttle" row when that starts a block), and while
  // the address is blocked nothing is written and *retry_after is set to the
  // seconds left. Returns `why`, or the throttle's refusal when blocked.
  Status RefuseUnauthenticated(AuditRecord record, const Status& why,
                               int64_t* retry_after = nullptr);

  // Who the caller is, and the id of the token they used. Needs any caller.
  // Errors: kNotFound when the caller's user is gone. Not audited.
  Result<wire::Whoami> Whoami(const Caller& caller);

  // A new user (a server admin when req.admin) and their first token, whose
  // secret is in the answer only. Needs a server admin. Errors: kPermission
  // (audited, "user.create"); kInvalid for a handle that is not
  // ^[a-z0-9][a-z0-9-]{0,38}$; kConflict when it is taken. Audited:
  // "user.create" and "token.create" (the first token) in its transaction.
  Result<wire::CreatedUser> CreateUser(const Caller& caller, const wire::NewUserRequest& req);

  // Every user, by id. Needs a server admin. Errors: kPermission (audited,
  // "user.list"). A success is not audited.
  Result<std::vector<wire::User>> ListUsers(const Caller& caller);

  // A new token (the secret in the answer only) for the caller, or for
  // req.user. Needs any caller for their own; a server admin for another
  // user's. One the caller makes for themselves is bound to the token they
  // use: it expires no later (by default when it does) and is revoked with
  // it. Errors: kPermission (audited, "token.create") for another user's;
  // kInvalid for a bad label (control characters, over 100 bytes),
  // expires_in_days out of 1..3650, or an expiry past the caller's token's;
  // kNotFound for an unknown user; kUnauthenticated when the caller's token
  // was revoked meanwhile. Audited: "token.create", target the new id.
  Result<wire::IssuedToken> CreateToken(const Caller& caller, const wire::NewTokenRequest& req);

  // The caller's tokens, oldest first, never their secrets; a server admin
  // may ask for `user`'s, or (nullopt) everyone's. Needs any caller for their
  // own. Errors: kPermission (audited, "token.list") for another's;
  // kNotFound for an unknown user. A success is not audited.
  Result<std::vector<wire::Token>> ListTokens(const Caller& caller,
                                              const std::optional<std::string>& user);

  // Revokes the token `token_id` and every token bound to it (transitively);
  // revoking a revoked one again succeeds and still revokes what is bound to
  // it. Needs its owner, or a server admin. Errors: kInvalid for an id that
  // is not 16 lowercase hex digits; kNotFound for no such token, and for
  // another user's (audited as refused, "token.revoke": the same answer as a
  // missing one). Audited: "token.revoke", saying how many bound tokens went.
  Result<wire::Token> RevokeToken(const Caller& caller, std::string_view token_id);

 private:
  // Counts a refusal against `remote`; when that starts a block, appends its
  // one "auth.throttle" row (on `db`, or a connection of its own when null).
  void CountFailure(const std::string& remote, const std::string& actor, Db* db);

  DbPool& dbs_;
  AuthThrottle throttle_;
};

// A user by handle, inside the caller's transaction on `db`; for services
// that name users (registries). Errors: kNotFound naming it when there is
// none; the database's. Not audited.
Result<wire::User> FindUser(Db& db, std::string_view handle);

}  // namespace converge
