// The Identity service (server/auth.h): bootstrap, authentication and users.
// Tokens and their calls are in server/tokens.cpp.
#include "server/auth.h"

#include <algorithm>

#include "base/clock.h"
#include "base/text.h"
#include "server/audit.h"
#include "server/authz.h"
#include "server/names.h"
#include "server/tokens.h"
#include "store/records/identity.h"

namespace converge {

namespace {

wire::User WireUser(const UserRow& u) {
  return wire::User{u.id, u.handle, u.admin, u.created_at};
}

Result<wire::User> InsertUser(Db& db, const std::string& handle, bool admin) {
  ASSIGN_OR_RETURN(UserRow u, UserRecords(db).Insert(handle, admin, TimeNow()));
  return WireUser(u);
}

Status NoToken(std::string_view header) {
  if (header.empty())
    return Unauthenticated(
        "no token: log in with 'converge login' or send 'Authorization: Bearer TOKEN'");
  return Unauthenticated(
      "the Authorization header does not hold a converge token ('Bearer cvg_<id>_<secret>')");
}

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

Result<wire::User> FindUser(Db& db, std::string_view handle) {
  ASSIGN_OR_RETURN(std::optional<UserRow> u, UserRecords(db).ByHandle(handle));
  if (!u) return NotFound("user " + Quote(handle) + " not found");
  return WireUser(*u);
}

Identity::Identity(DbPool& dbs, const ServerConfig& config)
    : dbs_(dbs), throttle_(ThrottleSettings(config)) {}

Result<bool> Identity::Bootstrap(const fs::path& token_file) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
  ASSIGN_OR_RETURN(int64_t users, UserRecords(*db).Count());
  if (users > 0) return false;
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
  Result<Caller> caller = CheckToken(*db, *token, remote);
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

Status Identity::RefuseUnauthenticated(AuditRecord record, const Status& why,
                                       int64_t* retry_after) {
  const std::string remote = record.remote_addr;
  if (int64_t wait = throttle_.RetryAfter(remote); wait > 0) {
    if (retry_after) *retry_after = wait;
    return Throttled(remote, wait);
  }
  // The refusal stands even when its row cannot be written.
  Result<DbPool::Lease> db = dbs_.Acquire();
  if (db.ok()) (void)AppendRefusal(**db, record, why);
  CountFailure(remote, record.actor, db.ok() ? &**db : nullptr);
  return why;
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
  ASSIGN_OR_RETURN(std::optional<UserRow> user, UserRecords(*db).ById(caller.user_id));
  if (!user) return NotFound("user #" + std::to_string(caller.user_id) + " not found");
  return wire::Whoami{WireUser(*user), caller.token_id};
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
  ASSIGN_OR_RETURN(std::vector<UserRow> rows, UserRecords(*db).List());
  std::vector<wire::User> out;
  for (const UserRow& u : rows) out.push_back(WireUser(u));
  return out;
}

}  // namespace converge
