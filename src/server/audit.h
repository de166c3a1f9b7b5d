// The append-only audit log: one row per state change, written in the same
// transaction as the change, and one per refused attempt (401, 403, or a 404
// that hides a repo from a non-reader), written on its own.
//
// Rows form a hash chain: hash = BLAKE2b-256(prev_hash || AuditHashInput(row)),
// the first row's prev_hash being 64 zeros, so an edit anywhere breaks every
// later hash. Every append also signs the new head (its seq and hash) with the
// data dir's Ed25519 key (server/audit_key.h) into the one-row audit_head
// table, in the same transaction: removing rows from the end, or rewriting
// the chain, leaves a head that no longer matches or a signature that fails.
// server/audit_verify.h checks all of it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/wire.h"
#include "server/audit_key.h"
#include "server/caller.h"
#include "server/db_pool.h"

namespace converge {

struct AuditRecord {
  std::optional<int64_t> actor_id;
  std::string actor;  // a handle, "anonymous", or "token:<id>" for a failed token
  std::string action;
  std::string repo;
  std::string target;
  std::string outcome = "ok";  // or "refused: <code>"
  std::string detail;
  std::string remote_addr;
};

AuditRecord RecordBy(const Caller& caller, std::string action, std::string repo, std::string target,
                     std::string detail = "");

// Appends a row inside the write transaction open on `db`, and signs the new
// head with the key registered for `db` (RegisterAuditSigner).
Status AppendAudit(Db& db, const AuditRecord& record);
// The columns AuditEntryFromRow reads, as "SELECT ..." (append FROM and the
// rest), so every reader of the audit table decodes rows the same way.
extern const char* const kAuditSelect;
wire::AuditEntry AuditEntryFromRow(const Stmt& q);
// The first row's prev_hash: 64 zeros, where every chain starts.
inline const std::string kAuditGenesis(64, '0');
// BLAKE2b-256(prev_hash || AuditHashInput(e)), hex: what `e.hash` must be.
std::string AuditRowHash(const wire::AuditEntry& e);
// The signed head; nullopt while the log has none.
Result<std::optional<wire::AuditHead>> ReadHead(Db& db);
// At start: fails (kConflict) when the head was signed by another key than
// `key`; signs the newest row when a log has rows but no head (made by a
// converge before signed heads) and says so in the returned note.
Result<std::string> AdoptAuditKey(Db& db, const AuditKey& key);
// Calls `fn` on every row with seq <= from_seq, newest first, one at a time.
Status ForEachAuditRow(Db& db, int64_t from_seq,
                       const std::function<Status(const wire::AuditEntry&)>& fn);
// Appends a refusal of `failure` in a transaction of its own.
Status AppendRefusal(Db& db, AuditRecord record, const Status& failure);

// One attempted action. Authorization marks it refused; Done() then records
// the failure in the log before handing it back.
class Attempt {
 public:
  Attempt(Db& db, const Caller& caller, std::string action, std::string repo = "",
          std::string target = "")
      : db_(db),
        caller_(caller),
        record_(RecordBy(caller, std::move(action), std::move(repo), std::move(target))) {}

  Db& db() { return db_; }
  const Caller* caller() const { return &caller_; }
  const AuditRecord& record() const { return record_; }
  // The success row for this attempt, with `detail`.
  AuditRecord Ok(std::string detail = "") const;
  void set_target(std::string target) { record_.target = std::move(target); }

  // Marks the attempt refused and returns `why`.
  Status Refuse(Status why);

  Status Done(Status s);
  template <class T>
  Result<T> Done(Result<T> r) {
    if (!r.ok()) (void)Done(r.status());
    return r;
  }

 private:
  Db& db_;
  const Caller& caller_;
  AuditRecord record_;
  bool refused_ = false;
};

// Reading the log: repo admins (their repo) and server admins (everything).
class AuditLog {
 public:
  explicit AuditLog(DbPool& dbs) : dbs_(dbs) {}
  void set_key(std::shared_ptr<const AuditKey> key) { key_ = std::move(key); }

  // `before`: a seq cursor from a previous page's "next".
  Result<wire::AuditPage> ListRepo(const Caller& caller, std::string_view repo, int limit,
                                   std::optional<int64_t> before);
  Result<wire::AuditPage> ListAll(const Caller& caller, int limit, std::optional<int64_t> before);
  // The public key: anyone signed in may have it.
  Result<wire::AuditKeyInfo> Key() const;
  // The signed head: server admins, like the whole log.
  Result<wire::AuditHead> Head(const Caller& caller);

 private:
  DbPool& dbs_;
  std::shared_ptr<const AuditKey> key_;
};

}  // namespace converge
