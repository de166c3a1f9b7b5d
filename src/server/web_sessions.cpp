#include "server/web_sessions.h"

#include <sodium.h>

#include <algorithm>

#include "base/clock.h"
#include "base/hex.h"
#include "server/audit.h"
#include "store/records/identity.h"
#include "store/records/sessions.h"

namespace converge {

namespace {

constexpr size_t kSessionIdBytes = 32;

// The stored form of a cookie's id: hex BLAKE2b-256 of its bytes; nullopt
// when the value is not 64 lowercase hex digits.
std::optional<std::string> SessionHash(std::string_view cookie_id) {
  unsigned char id[kSessionIdBytes];
  if (cookie_id.size() != 2 * kSessionIdBytes || !IsLowerHex(cookie_id) ||
      !FromHex(cookie_id, id, sizeof id))
    return std::nullopt;
  unsigned char out[crypto_generichash_BYTES];
  crypto_generichash(out, sizeof out, id, sizeof id, nullptr, 0);
  return ToHex(out, sizeof out);
}

Status NoSession() {
  return Unauthenticated("not signed in, or the session ended: sign in again");
}

}  // namespace

std::string WebSessions::CsrfFor(std::string_view cookie_id) {
  static constexpr char kContext[] = "converge web csrf v1";
  unsigned char out[crypto_generichash_BYTES];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(kContext),
                     sizeof kContext - 1, reinterpret_cast<const unsigned char*>(cookie_id.data()),
                     std::min(cookie_id.size(), size_t{crypto_generichash_KEYBYTES_MAX}));
  return ToHex(out, sizeof out);
}

Result<WebSignIn> WebSessions::SignIn(std::string_view token, const std::string& remote,
                                      int64_t* retry_after) {
  ASSIGN_OR_RETURN(Caller caller,
                   identity_.Authenticate("Bearer " + std::string(token), remote, retry_after));
  unsigned char id[kSessionIdBytes];
  randombytes_buf(id, sizeof id);
  WebSignIn out{ToHex(id, sizeof id), TimeFromNow(std::chrono::hours(kWebSessionHours)), caller};
  sodium_memzero(id, sizeof id);
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
  ASSIGN_OR_RETURN(std::optional<TokenRow> t, TokenRecords(*db).ById(caller.token_id));
  if (!t || t->revoked_at) return NoSession();
  if (t->expires_at && *t->expires_at < out.expires_at) out.expires_at = *t->expires_at;
  out.max_age = std::max<int64_t>(0, SecondsUntil(out.expires_at).value_or(0));
  WebSessionRow row{*SessionHash(out.cookie_id), caller.token_id, TimeNow(), out.expires_at, {}};
  // Sessions over for a day are of no use to anyone: sign-ins sweep them.
  RETURN_IF_ERROR(WebSessionRecords(*db).Prune(TimeFromNow(-std::chrono::hours(24))).status());
  RETURN_IF_ERROR(WebSessionRecords(*db).Insert(row));
  RETURN_IF_ERROR(AppendAudit(*db, RecordBy(caller, "session.create", "", caller.token_id,
                                            "web view, expires " + out.expires_at)));
  RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<Caller> WebSessions::Resolve(std::string_view cookie_id, const std::string& remote) {
  std::optional<std::string> hash = SessionHash(cookie_id);
  if (!hash) return NoSession();
  std::optional<TokenRow> t;
  std::string now = TimeNow();
  {
    ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
    ASSIGN_OR_RETURN(std::optional<WebSessionRow> s, WebSessionRecords(*db).ByHash(*hash));
    if (!s || s->ended_at || s->expires_at <= now) return NoSession();
    ASSIGN_OR_RETURN(t, TokenRecords(*db).ById(s->token_id));
  }
  if (t && !t->revoked_at && !(t->expires_at && *t->expires_at <= now))
    return Caller{t->user_id, t->user_handle, t->user_admin, t->id, remote};
  if (!t) return NoSession();
  // A live session whose token went: someone holds a cookie that was good.
  AuditRecord r;
  r.actor = "token:" + t->id;
  r.action = "session.use";
  r.target = t->id;
  r.remote_addr = remote;
  r.detail = t->revoked_at ? "web session refused: its token was revoked at " + *t->revoked_at
                           : "web session refused: its token expired at " + *t->expires_at;
  return identity_.RefuseUnauthenticated(r, NoSession());
}

Status WebSessions::RefuseSignIn(const std::string& remote, const std::string& why,
                                 int64_t* retry_after) {
  AuditRecord r;
  r.actor = "anonymous";
  r.action = "session.create";
  r.remote_addr = remote;
  r.detail = "web view sign-in form refused: " + why;
  return identity_.RefuseUnauthenticated(r, Permission(why), retry_after);
}

Status WebSessions::RefuseSignOut(const Caller& caller, const std::string& why) {
  Status refusal = Permission(why);
  // The refusal stands even when its row cannot be written.
  Result<DbPool::Lease> db = dbs_.Acquire();
  if (db.ok())
    (void)AppendRefusal(**db,
                        RecordBy(caller, "session.end", "", caller.token_id,
                                 "web view sign-out form refused: " + why),
                        refusal);
  return refusal;
}

Status WebSessions::SignOut(const Caller& caller, std::string_view cookie_id) {
  std::optional<std::string> hash = SessionHash(cookie_id);
  if (!hash) return NoSession();
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
  RETURN_IF_ERROR(WebSessionRecords(*db).End(*hash, TimeNow()));
  RETURN_IF_ERROR(AppendAudit(
      *db, RecordBy(caller, "session.end", "", caller.token_id, "web view: signed out")));
  return tx.Commit();
}

}  // namespace converge
