#include "server/audit.h"

#include "server/authz.h"
#include "base/clock.h"
#include "store/hash.h"

namespace converge {

namespace {

Status WriteHead(Db& db, const AuditKey& key, int64_t seq, const std::string& hash) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("INSERT INTO audit_head (id, seq, hash, public_key, "
                                      "signature) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO "
                                      "UPDATE SET seq = excluded.seq, hash = excluded.hash, "
                                      "public_key = excluded.public_key, "
                                      "signature = excluded.signature"));
  q.Bind(1, seq).Bind(2, hash).Bind(3, key.public_key().hex());
  q.Bind(4, key.Sign(AuditHeadMessage(seq, hash)));
  return q.Run();
}

// A page of rows, newest first; `repo` null for the whole log.
Result<wire::AuditPage> Page(Db& db, const std::string* repo, int limit,
                             std::optional<int64_t> before) {
  std::string sql = std::string(kAuditSelect) + " FROM audit WHERE seq < ?";
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
    page.entries.push_back(AuditEntryFromRow(q));
  }
  return page;
}

}  // namespace

const char* const kAuditSelect =
    "SELECT seq, at, actor_id, actor_handle, action, repo, target, outcome, detail, "
    "remote_addr, prev_hash, hash";

wire::AuditEntry AuditEntryFromRow(const Stmt& q) {
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
  std::shared_ptr<const AuditKey> key = AuditSignerFor(db.path());
  if (!key)
    return Internal("no audit key is loaded for " + db.path().string() +
                    ": only converge serve writes the audit log");
  // The new row links to the signed head, not to whatever row is last: rows
  // removed behind the server's back then stay a visible gap in the chain.
  wire::AuditEntry e;
  e.prev_hash = kAuditGenesis;
  ASSIGN_OR_RETURN(std::optional<wire::AuditHead> head, ReadHead(db));
  if (head) {
    e.seq = head->seq;
    e.prev_hash = head->hash;
  }
  {
    ASSIGN_OR_RETURN(Stmt last,
                     db.Prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"));
    ASSIGN_OR_RETURN(bool row, last.Step());
    if (row && last.Int(0) > e.seq) {
      // Rows past the head: written by hand (or by a converge that had no
      // head yet). Never reuse their numbers.
      if (!head) e.prev_hash = last.Text(1);
      e.seq = last.Int(0);
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
  e.hash = AuditRowHash(e);
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
  RETURN_IF_ERROR(q.Run());
  return WriteHead(db, *key, e.seq, e.hash);
}

std::string AuditRowHash(const wire::AuditEntry& e) {
  Hasher h;
  h.Update(e.prev_hash);
  h.Update(wire::AuditHashInput(e));
  return h.Finish().hex();
}

Result<std::optional<wire::AuditHead>> ReadHead(Db& db) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT seq, hash, public_key, signature FROM audit_head "
                                      "WHERE id = 1"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<wire::AuditHead>();
  wire::AuditHead h;
  h.seq = q.Int(0);
  h.hash = q.Text(1);
  h.public_key = q.Text(2);
  h.signature = q.Text(3);
  return std::optional<wire::AuditHead>(std::move(h));
}

Result<std::string> AdoptAuditKey(Db& db, const AuditKey& key) {
  ASSIGN_OR_RETURN(Db::Tx tx, db.BeginWrite());
  ASSIGN_OR_RETURN(std::optional<wire::AuditHead> head, ReadHead(db));
  if (head) {
    std::optional<AuditPublicKey> signer = AuditPublicKey::FromHex(head->public_key);
    if (signer && *signer == key.public_key()) return std::string();
    return Conflict("the audit log's head is signed by " +
                    (signer ? signer->Fingerprint() : std::string("an unreadable key")) +
                    ", but the data dir's audit key is " + key.public_key().Fingerprint() +
                    ": restore the original audit-key file from a backup of the data dir");
  }
  ASSIGN_OR_RETURN(Stmt last, db.Prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"));
  ASSIGN_OR_RETURN(bool row, last.Step());
  if (!row) return std::string();  // an empty log: the first append signs
  int64_t seq = last.Int(0);
  std::string hash = last.Text(1);
  last = Stmt();
  RETURN_IF_ERROR(WriteHead(db, key, seq, hash));
  RETURN_IF_ERROR(tx.Commit());
  return "signed the audit log's head (row " + std::to_string(seq) +
         "): a converge without signed heads wrote the rows before it";
}

Status ForEachAuditRow(Db& db, int64_t from_seq,
                       const std::function<Status(const wire::AuditEntry&)>& fn) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare(std::string(kAuditSelect) +
                                      " FROM audit WHERE seq <= ? ORDER BY seq DESC"));
  q.Bind(1, from_seq);
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::Ok();
    RETURN_IF_ERROR(fn(AuditEntryFromRow(q)));
  }
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

namespace converge {

Result<wire::AuditKeyInfo> AuditLog::Key() const {
  if (!key_) return Unavailable("the audit key is not loaded yet");
  wire::AuditKeyInfo k;
  k.public_key = key_->public_key().hex();
  k.fingerprint = key_->public_key().Fingerprint();
  return k;
}

Result<wire::AuditHead> AuditLog::Head(const Caller& caller) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "audit.read");
  RETURN_IF_ERROR(attempt.Done(RequireServerAdmin(attempt, caller, "read the audit log's head")));
  ASSIGN_OR_RETURN(std::optional<wire::AuditHead> head, ReadHead(*db));
  if (!head) return NotFound("the audit log is empty: it has no head yet");
  return *head;
}

}  // namespace converge
