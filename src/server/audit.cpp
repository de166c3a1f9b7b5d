#include "server/audit.h"

#include "base/hex.h"
#include "server/authz.h"
#include "server/clock.h"
#include "store/hash.h"

namespace converge {

namespace {

const std::string kGenesis(64, '0');

wire::AuditEntry EntryFrom(Stmt& q) {
  wire::AuditEntry e;
  e.seq = q.Int(0);
  e.at = q.Text(1);
  if (!q.IsNull(2)) e.actor_id = q.Int(2);
  e.actor = q.Text(3);
  e.action = q.Text(4);
  e.repo = q.Text(5);
  e.target = q.Text(6);
  e.outcome = q.Text(7);
  e.detail = q.Text(8);
  e.remote_addr = q.Text(9);
  e.prev_hash = q.Text(10);
  e.hash = q.Text(11);
  return e;
}

// A page of rows, newest first; `repo` null for the whole log.
Result<wire::AuditPage> Page(Db& db, const std::string* repo, int limit,
                             std::optional<int64_t> before) {
  std::string sql =
      "SELECT seq, at, actor_id, actor_handle, action, repo, target, outcome, detail, "
      "remote_addr, prev_hash, hash FROM audit WHERE seq < ?";
  if (repo) sql += " AND repo = ?";
  sql += " ORDER BY seq DESC LIMIT ?";
  ASSIGN_OR_RETURN(Stmt q, db.Prepare(sql));
  int i = 1;
  q.Bind(i++, before.value_or(INT64_MAX));
  if (repo) q.Bind(i++, *repo);
  q.Bind(i++, int64_t{limit} + 1);
  wire::AuditPage page;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    if (static_cast<int>(page.entries.size()) == limit) {
      page.next = std::to_string(page.entries.back().seq);
      break;
    }
    page.entries.push_back(EntryFrom(q));
  }
  return page;
}

}  // namespace

AuditRecord RecordBy(const Caller& caller, std::string action, std::string repo, std::string target,
                     std::string detail) {
  AuditRecord r;
  r.actor_id = caller.user_id;
  r.actor = caller.handle;
  r.action = std::move(action);
  r.repo = std::move(repo);
  r.target = std::move(target);
  r.detail = std::move(detail);
  r.remote_addr = caller.remote_addr;
  return r;
}

Status AppendAudit(Db& db, const AuditRecord& r) {
  wire::AuditEntry e;
  e.prev_hash = kGenesis;
  {
    ASSIGN_OR_RETURN(Stmt last,
                     db.Prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"));
    ASSIGN_OR_RETURN(bool row, last.Step());
    if (row) {
      e.seq = last.Int(0);
      e.prev_hash = last.Text(1);
    }
  }
  e.seq += 1;
  e.at = TimeNow();
  e.actor = r.actor;
  e.actor_id = r.actor_id;
  e.action = r.action;
  e.repo = r.repo;
  e.target = r.target;
  e.outcome = r.outcome;
  e.detail = r.detail;
  e.remote_addr = r.remote_addr;
  Hasher h;
  h.Update(e.prev_hash);
  h.Update(wire::AuditHashInput(e));
  e.hash = h.Finish().hex();
  ASSIGN_OR_RETURN(Stmt q,
                   db.Prepare("INSERT INTO audit (seq, at, actor_id, actor_handle, action, repo, "
                              "target, outcome, detail, remote_addr, prev_hash, hash) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  q.Bind(1, e.seq).Bind(2, e.at);
  if (e.actor_id)
    q.Bind(3, *e.actor_id);
  else
    q.BindNull(3);
  q.Bind(4, e.actor).Bind(5, e.action).Bind(6, e.repo).Bind(7, e.target).Bind(8, e.outcome);
  q.Bind(9, e.detail).Bind(10, e.remote_addr).Bind(11, e.prev_hash).Bind(12, e.hash);
  return q.Run();
}

Status AppendRefusal(Db& db, AuditRecord record, const Status& failure) {
  record.outcome = std::string("refused: ") + CodeName(failure.code());
  if (record.detail.empty()) record.detail = failure.message();
  ASSIGN_OR_RETURN(Db::Tx tx, db.BeginWrite());
  RETURN_IF_ERROR(AppendAudit(db, record));
  return tx.Commit();
}

AuditRecord Attempt::Ok(std::string detail) const {
  AuditRecord r = record_;
  r.detail = std::move(detail);
  return r;
}

Status Attempt::Refuse(Status why) {
  refused_ = true;
  return why;
}

Status Attempt::Done(Status s) {
  // The refusal is worth keeping even when the log cannot take it right now:
  // the caller still gets the refusal, not the logging failure.
  if (!s.ok() && refused_) (void)AppendRefusal(db_, record_, s);
  return s;
}

Result<wire::AuditPage> AuditLog::ListRepo(const Caller& caller, std::string_view repo, int limit,
                                           std::optional<int64_t> before) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "audit.read", std::string(repo));
  Result<RepoAccess> access = Authorize(attempt, repo, Role::kAdmin);
  if (!access.ok()) return attempt.Done(access.status());
  return Page(*db, &access->name, limit, before);
}

Result<wire::AuditPage> AuditLog::ListAll(const Caller& caller, int limit,
                                          std::optional<int64_t> before) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "audit.read");
  RETURN_IF_ERROR(attempt.Done(RequireServerAdmin(attempt, caller, "read the whole audit log")));
  return Page(*db, nullptr, limit, before);
}

}  // namespace converge
