#include "server/auth.h"

#include <sodium.h>

#include <chrono>

#include "base/hex.h"
#include "base/random.h"
#include "base/text.h"
#include "server/audit.h"
#include "server/authz.h"
#include "base/clock.h"
#include "server/names.h"

namespace converge {

namespace {

constexpr std::string_view kPrefix = "cvg_";
constexpr size_t kIdHex = 16, kSecretHex = 64;
constexpr int64_t kMaxTokenDays = 3650;
// last_used_at is a hint, not a log: refreshing it at most this often keeps a
// busy client from turning every request into a write.
constexpr std::chrono::seconds kLastUsedGranularity{60};

std::string HashSecret(const unsigned char* secret, size_t len) {
  unsigned char out[crypto_generichash_BYTES];
  crypto_generichash(out, sizeof out, secret, len, nullptr, 0);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

struct ParsedToken {
  std::string id;
  unsigned char secret[kSecretHex / 2];
};

std::optional<ParsedToken> ParseToken(std::string_view t) {
  if (t.size() != kPrefix.size() + kIdHex + 1 + kSecretHex ||
      t.substr(0, kPrefix.size()) != kPrefix)
    return std::nullopt;
  std::string_view id = t.substr(kPrefix.size(), kIdHex);
  if (t[kPrefix.size() + kIdHex] != '_' || !IsLowerHex(id)) return std::nullopt;
  ParsedToken p;
  p.id = std::string(id);
  if (!FromHex(t.substr(kPrefix.size() + kIdHex + 1), p.secret, sizeof p.secret))
    return std::nullopt;
  return p;
}

wire::User UserFrom(Stmt& q) {
  return wire::User{q.Int(0), q.Text(1), q.Int(2) != 0, q.Text(3)};
}

Result<wire::User> UserById(Db& db, int64_t id) {
  ASSIGN_OR_RETURN(Stmt q,
                   db.Prepare("SELECT id, handle, admin, created_at FROM users WHERE id = ?"));
  q.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return NotFound("user #" + std::to_string(id) + " not found");
  return UserFrom(q);
}

Result<wire::User> InsertUser(Db& db, const std::string& handle, bool admin) {
  ASSIGN_OR_RETURN(Stmt q,
                   db.Prepare("INSERT INTO users (handle, admin, created_at) VALUES (?, ?, ?)"));
  std::string now = TimeNow();
  q.Bind(1, handle).Bind(2, int64_t{admin}).Bind(3, now);
  RETURN_IF_ERROR(q.Run());
  return wire::User{db.LastInsertRowId(), handle, admin, now};
}

// How long a new token lives, and the token it is bound to (if any).
struct TokenTerms {
  std::optional<std::string> expires_at;
  std::optional<std::string> parent;
};

// A new token for `user`, inside the open transaction; the secret is in the answer only.
Result<wire::IssuedToken> IssueToken(Db& db, const wire::User& user, const std::string& label,
                                     const TokenTerms& terms = {}) {
  wire::IssuedToken t;
  t.id = RandomHex(kIdHex / 2);
  std::string secret_hex = RandomHex(kSecretHex / 2);
  unsigned char secret[kSecretHex / 2];
  FromHex(secret_hex, secret, sizeof secret);
  t.token = std::string(kPrefix) + t.id + "_" + secret_hex;
  t.label = label;
  t.user = user.handle;
  t.created_at = TimeNow();
  t.expires_at = terms.expires_at;
  t.parent = terms.parent;
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("INSERT INTO tokens (id, user_id, secret_hash, label, "
                                      "created_at, expires_at, parent_id) "
                                      "VALUES (?, ?, ?, ?, ?, ?, ?)"));
  q.Bind(1, t.id).Bind(2, user.id).BindBlob(3, HashSecret(secret, sizeof secret));
  q.Bind(4, t.label).Bind(5, t.created_at);
  if (t.expires_at)
    q.Bind(6, *t.expires_at);
  else
    q.BindNull(6);
  if (t.parent)
    q.Bind(7, *t.parent);
  else
    q.BindNull(7);
  RETURN_IF_ERROR(q.Run());
  sodium_memzero(secret, sizeof secret);
  return t;
}

const char* kTokenColumns =
    "SELECT t.id, t.label, u.handle, t.created_at, t.last_used_at, t.expires_at, t.revoked_at, "
    "t.user_id, t.parent_id FROM tokens t JOIN users u ON u.id = t.user_id";

wire::Token TokenFrom(Stmt& q) {
  wire::Token t;
  t.id = q.Text(0);
  t.label = q.Text(1);
  t.user = q.Text(2);
  t.created_at = q.Text(3);
  if (!q.IsNull(4)) t.last_used_at = q.Text(4);
  if (!q.IsNull(5)) t.expires_at = q.Text(5);
  t.revoked = !q.IsNull(6);
  if (!q.IsNull(8)) t.parent = q.Text(8);
  return t;
}

// The terms of a token the caller makes for themselves with their token
// `caller.token_id`: bound to it, so it expires no later (by default exactly
// when it does) and is revoked with it. Inside the write transaction, so a
// revocation of the parent is either seen here or sees the new token.
Result<TokenTerms> BoundTerms(Db& db, const Caller& caller, std::optional<std::string> expires_at) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT expires_at, revoked_at FROM tokens WHERE id = ?"));
  q.Bind(1, caller.token_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row || !q.IsNull(1))
    return Unauthenticated("token " + caller.token_id + " was revoked: create a new one");
  if (!q.IsNull(0)) {
    std::string limit = q.Text(0);
    if (!expires_at) expires_at = limit;
    if (*expires_at > limit)
      return Invalid("the token you are using (" + caller.token_id + ") expires at " + limit +
                     ", and a token made with it may not outlive it: ask for fewer days, or "
                     "leave out expires_in_days to have the new token expire with this one");
  }
  return TokenTerms{expires_at, caller.token_id};
}

}  // namespace

Result<wire::User> FindUser(Db& db, std::string_view handle) {
  ASSIGN_OR_RETURN(Stmt q,
                   db.Prepare("SELECT id, handle, admin, created_at FROM users WHERE handle = ?"));
  q.Bind(1, handle);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return NotFound("user " + Quote(handle) + " not found");
  return UserFrom(q);
}

Result<bool> Identity::Bootstrap(const fs::path& token_file) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
  ASSIGN_OR_RETURN(Stmt count, db->Prepare("SELECT COUNT(*) FROM users"));
  ASSIGN_OR_RETURN(bool row, count.Step());
  if (row && count.Int(0) > 0) return false;
  count = Stmt();
  ASSIGN_OR_RETURN(wire::User admin, InsertUser(*db, "admin", true));
  ASSIGN_OR_RETURN(wire::IssuedToken token, IssueToken(*db, admin, "initial-admin-token"));
  AuditRecord r;
  r.actor = "server";
  r.action = "user.create";
  r.target = admin.handle;
  r.detail = "first start: server admin created";
  RETURN_IF_ERROR(AppendAudit(*db, r));
  r.action = "token.create";
  r.target = token.id;
  r.detail = "for user 'admin', written to " + token_file.string();
  RETURN_IF_ERROR(AppendAudit(*db, r));
  // The file first: a crash before the commit leaves an empty user table, and
  // the next start simply makes both again.
  RETURN_IF_ERROR(WriteFileAtomic(token_file, token.token + "\n", 0600));
  RETURN_IF_ERROR(tx.Commit());
  return true;
}

namespace {

// The token in an "Authorization" header value ("Bearer TOKEN"), or nullopt
// when the header is missing, empty or holds no converge token.
std::optional<ParsedToken> BearerToken(std::string_view header) {
  constexpr std::string_view kBearer = "bearer ";
  if (header.size() <= kBearer.size()) return std::nullopt;
  for (size_t i = 0; i < kBearer.size(); i++)
    if (std::tolower(static_cast<unsigned char>(header[i])) != kBearer[i]) return std::nullopt;
  return ParseToken(header.substr(kBearer.size()));
}

Status NoToken(std::string_view header) {
  if (header.empty())
    return Unauthenticated(
        "no token: log in with 'converge login' or send 'Authorization: Bearer TOKEN'");
  return Unauthenticated(
      "the Authorization header does not hold a converge token ('Bearer cvg_<id>_<secret>')");
}

// `token` holds a value: requests without one never get here.
Result<Caller> CheckToken(Db& db, const std::optional<ParsedToken>& token,
                          const std::string& remote) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT t.user_id, t.secret_hash, t.expires_at, "
                                      "t.revoked_at, t.last_used_at, u.handle, u.admin "
                                      "FROM tokens t JOIN users u ON u.id = t.user_id "
                                      "WHERE t.id = ?"));
  q.Bind(1, token->id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  std::string want = row ? q.Text(1) : std::string();
  std::string got = HashSecret(token->secret, sizeof token->secret);
  bool match = want.size() == got.size() && sodium_memcmp(want.data(), got.data(), got.size()) == 0;
  if (!match) return Unauthenticated("unknown token " + token->id + ": log in again");
  std::string now = TimeNow();
  if (!q.IsNull(3)) return Unauthenticated("token " + token->id + " was revoked: create a new one");
  if (!q.IsNull(2) && q.Text(2) <= now)
    return Unauthenticated("token " + token->id + " expired at " + q.Text(2) +
                           ": create a new one");
  Caller c{q.Int(0), q.Text(5), q.Int(6) != 0, token->id, remote};
  bool stale = q.IsNull(4) || q.Text(4) < TimeFromNow(-kLastUsedGranularity);
  q = Stmt();
  if (stale) {
    Result<Stmt> u = db.Prepare("UPDATE tokens SET last_used_at = ? WHERE id = ?");
    if (u.ok()) (void)u->Bind(1, now).Bind(2, token->id).Run();  // a hint: failure is harmless
  }
  return c;
}

}  // namespace

namespace {
AuthThrottle::Settings ThrottleSettings(const ServerConfig& c) {
  AuthThrottle::Settings s;
  s.limit = c.auth_fail_limit;
  s.window = std::chrono::seconds(c.auth_fail_window_seconds);
  s.block = std::chrono::seconds(c.auth_block_seconds);
  s.max_block = std::chrono::seconds(std::max(c.auth_block_max_seconds, c.auth_block_seconds));
  return s;
}

Status Throttled(const std::string& remote, int64_t seconds) {
  return Unauthenticated("too many failed token attempts (or requests without one) from " + remote +
                         ": retry in " + std::to_string(seconds) + " s with a valid token");
}
}  // namespace

Identity::Identity(DbPool& dbs, const ServerConfig& config)
    : dbs_(dbs), throttle_(ThrottleSettings(config)) {}

Result<Caller> Identity::Authenticate(std::string_view header, const std::string& remote,
                                      int64_t* retry_after) {
  // A blocked address is answered before any token work or database access.
  if (int64_t wait = throttle_.RetryAfter(remote); wait > 0) {
    if (retry_after) *retry_after = wait;
    return Throttled(remote, wait);
  }
  std::optional<ParsedToken> token = BearerToken(header);
  // No token to check and none to name: refused without touching the
  // database, so a flood of these costs no audit row (and no fsync) each.
  // They count towards the address's backoff all the same.
  if (!token) {
    Status why = NoToken(header);
    CountFailure(remote, "anonymous", nullptr);
    return why;
  }
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Result<Caller> caller = CheckToken(*db, token, remote);
  if (caller.ok()) {
    throttle_.Succeed(remote);
    return caller;
  }
  if (caller.status().code() != Code::kUnauthenticated) return caller;
  // A token that failed is an attempt on a credential: its id goes in the
  // log (never its secret), one row each until the address is blocked.
  AuditRecord r;
  r.actor = "token:" + token->id;
  r.action = "auth.fail";
  r.target = token->id;
  r.remote_addr = remote;
  (void)AppendRefusal(*db, r, caller.status());
  CountFailure(remote, r.actor, &*db);
  return caller;
}

void Identity::CountFailure(const std::string& remote, const std::string& actor, Db* db) {
  AuthThrottle::Trip trip = throttle_.Fail(remote);
  if (!trip.tripped) return;
  std::optional<DbPool::Lease> lease;
  if (!db) {
    Result<DbPool::Lease> acquired = dbs_.Acquire();
    if (!acquired.ok()) return;  // the block holds; only its row is lost
    lease.emplace(std::move(*acquired));
    db = &**lease;
  }
  AuditRecord r;
  r.actor = actor;
  r.action = "auth.throttle";
  r.remote_addr = remote;
  r.detail = std::to_string(trip.failures) +
             " requests without a valid token (none, malformed, unknown, expired or revoked); "
             "further requests from " +
             remote + " refused for " + std::to_string(trip.block.count()) + " s";
  (void)AppendRefusal(*db, r, Throttled(remote, trip.block.count()));
}

Result<wire::Whoami> Identity::Whoami(const Caller& caller) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  ASSIGN_OR_RETURN(wire::User user, UserById(*db, caller.user_id));
  return wire::Whoami{user, caller.token_id};
}

Result<wire::CreatedUser> Identity::CreateUser(const Caller& caller,
                                               const wire::NewUserRequest& req) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "user.create", "", req.handle);
  auto run = [&]() -> Result<wire::CreatedUser> {
    RETURN_IF_ERROR(RequireServerAdmin(attempt, caller, "create users"));
    RETURN_IF_ERROR(ValidateHandle(req.handle));
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    if (FindUser(*db, req.handle).ok())
      return Conflict("user " + Quote(req.handle) + " already exists");
    ASSIGN_OR_RETURN(wire::User user, InsertUser(*db, req.handle, req.admin));
    ASSIGN_OR_RETURN(wire::IssuedToken token, IssueToken(*db, user, "initial"));
    RETURN_IF_ERROR(AppendAudit(*db, attempt.Ok(req.admin ? "server admin" : "user")));
    AuditRecord t = attempt.Ok("first token of user " + Quote(user.handle));
    t.action = "token.create";
    t.target = token.id;
    RETURN_IF_ERROR(AppendAudit(*db, t));
    RETURN_IF_ERROR(tx.Commit());
    return wire::CreatedUser{user, token.token, token.id};
  };
  return attempt.Done(run());
}

Result<std::vector<wire::User>> Identity::ListUsers(const Caller& caller) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "user.list");
  RETURN_IF_ERROR(attempt.Done(RequireServerAdmin(attempt, caller, "list users")));
  ASSIGN_OR_RETURN(Stmt q,
                   db->Prepare("SELECT id, handle, admin, created_at FROM users ORDER BY id"));
  std::vector<wire::User> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back(UserFrom(q));
  }
}

Result<wire::IssuedToken> Identity::CreateToken(const Caller& caller,
                                                const wire::NewTokenRequest& req) {
  std::string handle = req.user.value_or(caller.handle);
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "token.create", "", "user " + handle);
  auto run = [&]() -> Result<wire::IssuedToken> {
    if (handle != caller.handle && !caller.admin)
      return attempt.Refuse(Permission("you may create tokens only for yourself ('" +
                                       caller.handle + "'); a server admin can make one for " +
                                       Quote(handle)));
    RETURN_IF_ERROR(ValidateText(req.label, "token label", 100));
    if (req.expires_in_days && (*req.expires_in_days < 1 || *req.expires_in_days > kMaxTokenDays))
      return Invalid("expires_in_days must be from 1 to " + std::to_string(kMaxTokenDays));
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    ASSIGN_OR_RETURN(wire::User user, FindUser(*db, handle));
    TokenTerms terms;
    if (req.expires_in_days)
      terms.expires_at = TimeFromNow(std::chrono::hours(24 * *req.expires_in_days));
    // A token for yourself is bound to the one you made it with; one a
    // server admin makes for someone else is not (docs/api.md, Tokens).
    if (user.id == caller.user_id && !caller.token_id.empty()) {
      ASSIGN_OR_RETURN(terms, BoundTerms(*db, caller, terms.expires_at));
    }
    ASSIGN_OR_RETURN(wire::IssuedToken token, IssueToken(*db, user, req.label, terms));
    attempt.set_target(token.id);
    RETURN_IF_ERROR(
        AppendAudit(*db, attempt.Ok("for user " + Quote(handle) + ", label " + Quote(req.label) +
                                    (token.expires_at ? ", expires " + *token.expires_at : "") +
                                    (token.parent ? ", bound to token " + *token.parent : ""))));
    RETURN_IF_ERROR(tx.Commit());
    return token;
  };
  return attempt.Done(run());
}

Result<std::vector<wire::Token>> Identity::ListTokens(const Caller& caller,
                                                      const std::optional<std::string>& user) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "token.list", "", user.value_or(""));
  std::optional<std::string> who = user;
  if (!caller.admin) {
    if (who && *who != caller.handle)
      return attempt.Done(attempt.Refuse(
          Permission("you may list only your own tokens, not " + Quote(*who) + "'s")));
    who = caller.handle;
  }
  if (who) RETURN_IF_ERROR(FindUser(*db, *who).status());
  std::string sql = std::string(kTokenColumns) + (who ? " WHERE u.handle = ?" : "") +
                    " ORDER BY t.created_at, t.id";
  ASSIGN_OR_RETURN(Stmt q, db->Prepare(sql));
  if (who) q.Bind(1, *who);
  std::vector<wire::Token> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back(TokenFrom(q));
  }
}

Result<wire::Token> Identity::RevokeToken(const Caller& caller, std::string_view token_id) {
  if (token_id.size() != kIdHex || !IsLowerHex(token_id))
    return Invalid(Quote(token_id) + " is not a token id (16 lowercase hex digits)");
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "token.revoke", "", std::string(token_id));
  auto run = [&]() -> Result<wire::Token> {
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    wire::Token token;
    {
      ASSIGN_OR_RETURN(Stmt q, db->Prepare(std::string(kTokenColumns) + " WHERE t.id = ?"));
      q.Bind(1, token_id);
      ASSIGN_OR_RETURN(bool row, q.Step());
      std::string missing = "token " + std::string(token_id) + " not found";
      if (!row) return NotFound(missing);
      // Someone else's token is as invisible as a missing one.
      if (q.Int(7) != caller.user_id && !caller.admin) return attempt.Refuse(NotFound(missing));
      token = TokenFrom(q);
    }
    std::string detail = "of user " + Quote(token.user);
    std::string now = TimeNow();
    if (token.revoked) {
      detail += " (already revoked)";
    } else {
      ASSIGN_OR_RETURN(Stmt u, db->Prepare("UPDATE tokens SET revoked_at = ? WHERE id = ?"));
      RETURN_IF_ERROR(u.Bind(1, now).Bind(2, token_id).Run());
      token.revoked = true;
    }
    // Every token made with it, and made with those, goes with it.
    ASSIGN_OR_RETURN(Stmt bound, db->Prepare("WITH RECURSIVE bound(id) AS (SELECT id FROM tokens "
                                             "WHERE parent_id = ?1 UNION SELECT t.id FROM "
                                             "tokens t JOIN bound b ON t.parent_id = b.id) "
                                             "UPDATE tokens SET revoked_at = ?2 WHERE id IN "
                                             "(SELECT id FROM bound) AND revoked_at IS NULL"));
    RETURN_IF_ERROR(bound.Bind(1, token_id).Bind(2, now).Run());
    if (int n = db->Changes(); n > 0)
      detail += ", and " + std::to_string(n) + " token(s) made with it";
    RETURN_IF_ERROR(AppendAudit(*db, attempt.Ok(detail)));
    RETURN_IF_ERROR(tx.Commit());
    return token;
  };
  return attempt.Done(run());
}

}  // namespace converge
