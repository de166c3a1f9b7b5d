#include "server/audit.h"

#include "base/clock.h"
#include "base/text.h"
#include "server/audit_verify.h"
#include "server/authz.h"
#include "store/hash.h"

namespace converge {

namespace {

wire::AuditEntry EntryFromRow(const AuditRow& r) {
  wire::AuditEntry e;
  e.seq = r.seq;
  e.at = r.at;
  e.actor_id = r.facts.actor_id;
  e.actor = r.facts.actor;
  e.action = r.facts.action;
  e.repo = r.facts.repo;
  e.target = r.facts.target;
  e.outcome = r.facts.outcome;
  e.detail = r.facts.detail;
  e.remote_addr = r.facts.remote_addr;
  e.prev_hash = r.prev_hash;
  e.hash = r.hash;
  return e;
}

Status WriteHead(Db& db, const AuditKey& key, int64_t seq, const std::string& hash) {
  return AuditRecords(db).SetHead(
      {seq, hash, key.public_key().hex(), key.Sign(AuditHeadMessage(seq, hash))});
}

// A page of rows that pass `filter`, newest first.
Result<wire::AuditPage> ReadAuditPage(Db& db, const AuditRowFilter& filter, int limit,
                                      std::optional<int64_t> before) {
  // One row more than asked for says whether there is a next page.
  ASSIGN_OR_RETURN(std::vector<AuditRow> rows,
                   AuditRecords(db).Page(filter, before.value_or(INT64_MAX), int64_t{limit} + 1));
  wire::AuditPage page;
  for (const AuditRow& r : rows) {
    if (static_cast<int>(page.entries.size()) == limit) {
      page.next = std::to_string(page.entries.back().seq);
      break;
    }
    page.entries.push_back(EntryFromRow(r));
  }
  return page;
}

// A bound a user gave (a date or a UTC time) as a server timestamp
// (base/clock.h); `end` fills what it leaves out with the latest instant
// (through the end of the day, or of the second), else the earliest.
Result<std::string> AuditTimeBound(const std::string& text, bool end, const char* name) {
  std::string full;
  if (text.size() == 10)  // 2026-11-30
    full = text + (end ? "T23:59:59.999999Z" : "T00:00:00.000000Z");
  else if (text.size() == 20 && text.back() == 'Z')  // 2026-11-30T08:15:00Z
    full = text.substr(0, 19) + (end ? ".999999Z" : ".000000Z");
  else  // 2026-11-30T08:15:00.123456Z
    full = text;
  if (!IsTimestamp(full))
    return Invalid(std::string(name) + " " + Quote(text) +
                   " is not a date (2026-11-30) or a UTC time (2026-11-30T08:15:00Z)");
  return full;
}

// A reader's filter as the records take it; `repo` as the route decided.
Result<AuditRowFilter> AuditRowFilterOf(const AuditFilter& f, std::optional<std::string> repo) {
  AuditRowFilter out;
  out.repo = std::move(repo);
  out.actor = f.actor;
  out.action = f.action;
  if (f.outcome) {
    if (*f.outcome != "ok" && *f.outcome != "refused")
      return Invalid("outcome " + Quote(*f.outcome) + " is not ok or refused");
    out.refused = *f.outcome == "refused";
  }
  if (f.since) {
    ASSIGN_OR_RETURN(out.since, AuditTimeBound(*f.since, false, "since"));
  }
  if (f.until) {
    ASSIGN_OR_RETURN(out.until, AuditTimeBound(*f.until, true, "until"));
  }
  return out;
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
  std::shared_ptr<const AuditKey> key = AuditSignerFor(db.source());
  if (!key)
    return Internal("no audit key is loaded for " + db.source() +
                    ": only converge serve writes the audit log");
  // The new row links to the signed head, not to whatever row is last: rows
  // removed behind the server's back then stay a visible gap in the chain.
  AuditRow e;
  e.prev_hash = kAuditGenesis;
  ASSIGN_OR_RETURN(std::optional<wire::AuditHead> head, ReadHead(db));
  if (head) {
    e.seq = head->seq;
    e.prev_hash = head->hash;
  }
  AuditRecords rows(db);
  ASSIGN_OR_RETURN(std::optional<AuditLink> last, rows.Newest());
  if (last && last->seq > e.seq) {
    // Rows past the head: written by hand (or by a converge that had no
    // head yet). Never reuse their numbers.
    if (!head) e.prev_hash = last->hash;
    e.seq = last->seq;
  }
  e.seq += 1;
  e.at = TimeNow();
  e.facts = r;
  e.hash = AuditRowHash(EntryFromRow(e));
  RETURN_IF_ERROR(rows.Insert(e));
  return WriteHead(db, *key, e.seq, e.hash);
}

Result<std::optional<wire::AuditHead>> ReadHead(Db& db) {
  ASSIGN_OR_RETURN(std::optional<AuditHeadRow> row, AuditRecords(db).Head());
  if (!row) return std::optional<wire::AuditHead>();
  return std::optional<wire::AuditHead>(
      wire::AuditHead{row->seq, row->hash, row->public_key, row->signature});
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
  ASSIGN_OR_RETURN(std::optional<AuditLink> last, AuditRecords(db).Newest());
  if (!last) return std::string();  // an empty log: the first append signs
  int64_t seq = last->seq;
  RETURN_IF_ERROR(WriteHead(db, key, seq, last->hash));
  RETURN_IF_ERROR(tx.Commit());
  return "signed the audit log's head (row " + std::to_string(seq) +
         "): a converge without signed heads wrote the rows before it";
}

Status ForEachAuditRow(Db& db, int64_t from_seq,
                       const std::function<Status(const wire::AuditEntry&)>& fn) {
  return AuditRecords(db).ForEachNewestFirst(
      from_seq, [&](const AuditRow& r) { return fn(EntryFromRow(r)); });
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
                                           std::optional<int64_t> before,
                                           const AuditFilter& filter) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "audit.read", std::string(repo));
  Result<RepoAccess> access = Authorize(attempt, repo, Role::kAdmin);
  if (!access.ok()) return attempt.Done(access.status());
  ASSIGN_OR_RETURN(AuditRowFilter rows, AuditRowFilterOf(filter, access->name));
  return ReadAuditPage(*db, rows, limit, before);
}

Result<wire::AuditPage> AuditLog::ListAll(const Caller& caller, int limit,
                                          std::optional<int64_t> before,
                                          const AuditFilter& filter) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "audit.read");
  RETURN_IF_ERROR(attempt.Done(RequireServerAdmin(attempt, caller, "read the whole audit log")));
  ASSIGN_OR_RETURN(AuditRowFilter rows, AuditRowFilterOf(filter, filter.repo));
  return ReadAuditPage(*db, rows, limit, before);
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

Result<AuditVerdict> AuditLog::Verify(const Caller& caller) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "audit.read");
  RETURN_IF_ERROR(attempt.Done(RequireServerAdmin(attempt, caller, "verify the audit log")));
  if (!key_) return Unavailable("the audit key is not loaded yet");
  // One snapshot: the head and every row it covers, even while others append.
  ASSIGN_OR_RETURN(Db::Tx read, db->BeginRead());
  return VerifyAuditLog(*db, key_->public_key());
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
