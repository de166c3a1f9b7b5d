// The server's audit tables, `audit` and `audit_head` (store/schema.cpp): the
// only files that hold SQL against them. They store and read rows as given;
// the hash chain, the signature over the head and who may read what are the
// service's (server/audit.h). The schema's triggers keep `audit` append-only
// and move `audit_head` only forward; nothing here updates or deletes a row.
//
// An AuditRecords takes a Db& whose transaction the caller owns. Appending is
// read-the-head, insert, write-the-head: it must run inside a write
// transaction that no other append can interleave with. Db::BeginWrite is
// that on both engines: SQLite's BEGIN IMMEDIATE, and on PostgreSQL a
// database-wide advisory lock taken first, under READ COMMITTED so the head
// is read after the lock is granted (store/pg_db.h). So no SELECT ... FOR
// UPDATE here (which would also lock nothing before the first head exists).
// Errors are the database's (store/db.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/db.h"

namespace converge {

// What a row says: who did what to what, and how it went. The service fills
// it in (server/audit.h calls it AuditRecord); the chain adds the rest.
struct AuditFacts {
  std::optional<int64_t> actor_id;
  std::string actor;  // a handle, "anonymous", "server", or "token:<id>" for a failed token
  std::string action;
  std::string repo;
  std::string target;
  std::string outcome = "ok";  // or "refused: <code>"
  std::string detail;
  std::string remote_addr;
};

// One row of `audit`, as stored (the column actor_handle is facts.actor).
struct AuditRow {
  int64_t seq = 0;
  std::string at;
  AuditFacts facts;
  std::string prev_hash;
  std::string hash;
};

// The one row of `audit_head`: the newest row's seq and hash, signed.
struct AuditHeadRow {
  int64_t seq = 0;
  std::string hash;
  std::string public_key;  // hex
  std::string signature;   // hex
};

// A row's place in the chain.
struct AuditLink {
  int64_t seq = 0;
  std::string hash;
};

// What a page of rows is narrowed to: every field that is set must hold
// (AND), each compared exactly. `since` and `until` are server timestamps
// (base/clock.h's fixed-width form, which compares as text in time order),
// both inclusive; the service turns what a user typed into them.
struct AuditRowFilter {
  std::optional<std::string> repo;
  std::optional<std::string> actor;  // the column actor_handle
  std::optional<std::string> action;
  std::optional<bool> refused;       // true: outcome is not "ok"; false: it is
  std::optional<std::string> since;  // at >= since
  std::optional<std::string> until;  // at <= until
};

class AuditRecords {
 public:
  // `page_rows`: how many rows ForEachNewestFirst reads per statement.
  explicit AuditRecords(Db& db, int64_t page_rows = kPageRows) : db_(db), page_rows_(page_rows) {}
  static constexpr int64_t kPageRows = 1000;

  // The head, or nullopt while none was written.
  Result<std::optional<AuditHeadRow>> Head();
  // Writes the head (inserting it the first time). kConflict when `head.seq`
  // is not past the stored one (the schema's trigger).
  Status SetHead(const AuditHeadRow& head);
  // The row with the highest seq, or nullopt for an empty log.
  Result<std::optional<AuditLink>> Newest();
  // The row with the lowest seq, or nullopt for an empty log.
  Result<std::optional<AuditLink>> Oldest();
  // Adds `row` as given (its seq and hashes too). kConflict when seq is taken.
  Status Insert(const AuditRow& row);
  // Up to `limit` rows with seq < `before` that pass `filter`, newest first,
  // in one query (the database filters; rows are read no further back than
  // the page's last match, or the log's start when fewer match).
  Result<std::vector<AuditRow>> Page(const AuditRowFilter& filter, int64_t before, int64_t limit);
  // The same, only `repo`'s rows when given.
  Result<std::vector<AuditRow>> Page(const std::optional<std::string>& repo, int64_t before,
                                     int64_t limit);
  // Calls `fn` on every row with seq <= `from_seq`, newest first, one at a
  // time; stops at and returns the first error `fn` gives. Reads page_rows
  // rows per statement (keyset pages: seq below the last row seen), so memory
  // stays flat on either engine however long the log.
  Status ForEachNewestFirst(int64_t from_seq, const std::function<Status(const AuditRow&)>& fn);
  // How many rows the log has.
  Result<int64_t> Count();

 private:
  Db& db_;
  int64_t page_rows_;
};

}  // namespace converge
