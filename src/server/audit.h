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
// server/audit_verify.h checks all of it. The rows are
// store/records/audit.h's; the chain, the signing and who may read are here.
//
// Appends are serialized by the write transaction they run in (SQLite's
// BEGIN IMMEDIATE): no two can read the same head. Errors of every call
// include the database's (kIo, kCorrupt; store/db.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/audit_chain.h"
#include "api/wire.h"
#include "server/audit_key.h"
#include "server/caller.h"
#include "server/db_pool.h"
#include "store/records/audit.h"

namespace converge {

// What one audit row says (store/records/audit.h): the actor, the action,
// its repo and target, the outcome ("ok" or "refused: <code>"), a detail and
// the caller's address. AppendAudit adds the seq, the time and the hashes.
using AuditRecord = AuditFacts;

// The record of `caller` doing `action` (outcome "ok").
AuditRecord RecordBy(const Caller& caller, std::string action, std::string repo, std::string target,
                     std::string detail = "");

// Appends a row inside the write transaction open on `db`, linked to the
// signed head (or to rows past it, never reusing a seq), and signs the new
// head with the key registered for `db` (RegisterAuditSigner). Errors:
// kInternal when no key is registered (only converge serve writes the log).
Status AppendAudit(Db& db, const AuditRecord& record);
// The signed head; nullopt while the log has none. Errors: the database's
// (a database from before signed heads has no audit_head table).
Result<std::optional<wire::AuditHead>> ReadHead(Db& db);
// At start, in a write transaction of its own: fails (kConflict) when the
// head was signed by another key than `key`; signs the newest row when a log
// has rows but no head (made by a converge before signed heads) and says so
// in the returned note ("" otherwise). Not audited.
Result<std::string> AdoptAuditKey(Db& db, const AuditKey& key);
// Calls `fn` on every row with seq <= from_seq, newest first, one at a time;
// stops at and returns the first error `fn` returns.
Status ForEachAuditRow(Db& db, int64_t from_seq,
                       const std::function<Status(const wire::AuditEntry&)>& fn);
// Appends a refusal of `failure` (outcome "refused: <code>", its message as
// the detail unless `record` has one) in a write transaction of its own.
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
  // The success row for this attempt, with `detail`, for AppendAudit.
  AuditRecord Ok(std::string detail = "") const;
  void set_target(std::string target) { record_.target = std::move(target); }

  // Marks the attempt refused and returns `why`.
  Status Refuse(Status why);

  // Returns `s`; when it failed after Refuse, first appends the refusal
  // (AppendRefusal; a failure to log it is dropped, the refusal stands).
  // Failures that were not refusals (bad input, the database) are not logged.
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

// What a reader narrows a page of the log to (docs/api.md, "Audit"): every
// field set must hold. Values are as a user gives them; the AuditLog calls
// check them. `outcome` is "ok" or "refused"; `since` and `until` are a UTC
// date, "2026-11-30" (until: through that day's end), or a timestamp
// "2026-11-30T08:15:00Z" (fractions of a second as the log writes them,
// "...00.123456Z", allowed), both inclusive. `repo` narrows the whole log
// (ListAll); ListRepo ignores it.
struct AuditFilter {
  std::optional<std::string> actor;
  std::optional<std::string> action;
  std::optional<std::string> repo;
  std::optional<std::string> outcome;
  std::optional<std::string> since;
  std::optional<std::string> until;
};

// Reading the log: repo admins (their repo) and server admins (everything).
class AuditLog {
 public:
  explicit AuditLog(DbPool& dbs) : dbs_(dbs) {}
  // The key Key() hands out; Authority::Open sets it once, before requests.
  void set_key(std::shared_ptr<const AuditKey> key) { key_ = std::move(key); }

  // A page of `repo`'s rows, newest first: at most `limit` (the route keeps
  // it in range) with seq < `before` (a previous page's "next"), and "next"
  // when there are more. Needs the repo's admin role, or a server admin.
  // Errors: kNotFound (audited, "audit.read") for a missing repo and for one
  // the caller may not read, alike (not audited for a name no repo may
  // have); kPermission (audited) for a lower role; kInvalid for a filter
  // value that is not one (checked after the role, so it tells nobody
  // anything). Only rows that pass `filter` are counted and returned (the
  // database filters). A success is not audited.
  Result<wire::AuditPage> ListRepo(const Caller& caller, std::string_view repo, int limit,
                                   std::optional<int64_t> before,
                                   const AuditFilter& filter = AuditFilter());
  // The same over the whole log. Needs a server admin. Errors: kPermission
  // (audited, "audit.read"); kInvalid for a bad filter value.
  Result<wire::AuditPage> ListAll(const Caller& caller, int limit, std::optional<int64_t> before,
                                  const AuditFilter& filter = AuditFilter());
  // Runs the one chain checker (server/audit_verify.h: every row up to the
  // signed head, against the loaded key) in one read transaction, on demand:
  // it reads the whole log, so nothing calls it for a page view. Needs a
  // server admin. Errors: kPermission (audited, "audit.read"); kUnavailable
  // before the key is loaded; the database's. Problems are in the verdict.
  Result<AuditVerdict> Verify(const Caller& caller);
  // The public key and its fingerprint: anyone signed in may have it. Errors:
  // kUnavailable before Authority::Open loaded the key. Not audited.
  Result<wire::AuditKeyInfo> Key() const;
  // The signed head. Needs a server admin, like the whole log. Errors:
  // kPermission (audited, "audit.read"); kNotFound while the log is empty.
  Result<wire::AuditHead> Head(const Caller& caller);

 private:
  DbPool& dbs_;
  std::shared_ptr<const AuditKey> key_;
};

}  // namespace converge
