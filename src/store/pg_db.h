// The PostgreSQL engine behind store/db.h's Db, Stmt and Tx (libpq, no ORM).
// Only db.cpp and the engine's tests include this: everything else speaks Db.
//
// One PgConn is one libpq connection (PGconn), used by one thread at a time
// like a SQLite Db. Statements are written once for both engines (`?`
// placeholders, docs/architecture.md "How to add a metadata engine"): the
// engine numbers them ($1, $2, ...) and prepares each distinct SQL text once
// per connection (PQprepare), then runs it with PQexecPrepared. A statement's
// whole result arrives at its first Step() and is read row by row from
// memory, so another statement may run on the connection while a caller is
// still stepping through one (SQLite allows that too).
//
// A lost connection (the server restarted, a failover, an idle connection
// cut) is remade at the next use outside a transaction, its statements
// prepared again; a transaction it was in fails (PostgreSQL has rolled it
// back), and so does the one statement that found it lost, except a BEGIN,
// which is retried once on the new connection since nothing had happened. The price: a result
// is held in memory whole, so a walk over a table that can grow without
// bound reads it in keyset pages (WHERE key > last ORDER BY key LIMIT n:
// AuditRecords::ForEachNewestFirst, ObjectRecords::ForEachObject and
// ForEachHeld, PublicationRecords::ForEach), never in one statement.
//
// Transactions (Db::BeginWrite, BeginRead):
// - a write transaction is READ COMMITTED and first takes a transaction-level
//   advisory lock (pg_advisory_xact_lock(kPgWriteLock)): write transactions
//   run one at a time across every connection and every node, as SQLite's
//   BEGIN IMMEDIATE does, so every read-check-write the services do (the
//   audit append reads the head and writes the next row; a publication checks
//   its ID is free) is serialized by the database, never by process memory.
//   READ COMMITTED, not REPEATABLE READ, because each statement's snapshot
//   must be taken after the lock is granted: under REPEATABLE READ the
//   snapshot would be the one of the lock statement itself, taken before
//   waiting, and the append would read a stale head and fork the chain.
// - a read transaction is REPEATABLE READ READ ONLY: one snapshot for all its
//   reads, like SQLite's deferred BEGIN; a write inside it is an error.
// What a record may not assume on this engine: that a failed statement leaves
// its transaction usable (any error aborts a PostgreSQL transaction, and
// Commit then fails), so records avoid expected errors (ON CONFLICT, not a
// caught constraint error); that a statement outside a transaction is
// serialized with the write transactions; rowid or last_insert_rowid()
// (use RETURNING); SQLite's type affinity (a column holds its declared type:
// BYTEA for BLOB, compare text with text); or that ORDER BY on text follows
// the database's collation (the schema declares text COLLATE "C", bytewise
// like SQLite).
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"

namespace converge {

// The advisory lock keys converge takes (any 64-bit number no other
// application on the database uses).
inline constexpr int64_t kPgWriteLock = 0x636f6e7657524954;    // "convWRIT"
inline constexpr int64_t kPgMigrateLock = 0x636f6e764d494752;  // "convMIGR"

// `sql` with each `?` outside quotes and comments replaced by $1, $2, ...;
// sets *count to how many there were.
std::string PgNumberPlaceholders(std::string_view sql, int* count);

// `url` with any password replaced by "***", for messages and logs (both the
// URI form's user:password@ and a password= parameter).
std::string PgRedactUrl(std::string_view url);

// What converge sets on every connection, unless the URL sets it itself
// (docs/server.md, "Running several nodes": what they are for).
// Client side (libpq): a node notices a database that vanished without a
// word (a host down, a cut network) within about a minute, instead of
// waiting on a read forever, and never waits over kPgConnectTimeout to
// connect.
inline constexpr int kPgConnectTimeout = 10;     // connect_timeout, seconds
inline constexpr int kPgKeepaliveIdle = 30;      // keepalives_idle (keepalives=1)
inline constexpr int kPgKeepaliveInterval = 10;  // keepalives_interval
inline constexpr int kPgKeepaliveCount = 3;      // keepalives_count
// Server side (session settings, in libpq's `options`): a node frozen or
// cut off inside a transaction holds the write lock every node's writes
// queue behind (kPgWriteLock); PostgreSQL ends its session, and so frees
// the lock, once it has been idle in the transaction this long. A healthy
// node's transactions never wait between statements for anything but the
// database and a local read (milliseconds). The same keepalives on the
// server's end free the connection slots of a node that vanished.
inline constexpr const char* kPgIdleInTransactionTimeout = "60s";
inline constexpr const char* kPgApplicationName = "converge";

// The libpq connection parameters (keyword, value) for `url` (a URI or a
// key=value string): every parameter the URL gives, as it gives it, plus
// each of the settings above it does not give (a session setting counts as
// given when the URL's `options` names it). Errors: kInvalid with libpq's
// reason (never the password).
Result<std::vector<std::pair<std::string, std::string>>> PgConnectParams(const std::string& url);

class PgConn {
 public:
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Connects to `url` (a libpq connection URI or key=value string) with
  // PgConnectParams(url). Errors: kInvalid for a URL libpq cannot parse,
  // kIoError naming the server (never the password) and libpq's reason.
  static Result<std::unique_ptr<PgConn>> Connect(const std::string& url);

  // Runs `sql` (one or more statements, no parameters). A transaction starts
  // with "BEGIN..." and ends with exactly "COMMIT" or "ROLLBACK".
  Status Exec(std::string_view sql);
  // The name of `sql`'s prepared statement on this connection (preparing it
  // the first time, or again after a reconnect) and its parameter count.
  Result<std::pair<std::string, int>> Prepared(std::string_view sql);
  // Rows the last statement changed.
  int changes() const { return changes_; }
  PGconn* raw() { return conn_; }
  // A Status for a failed result `res` (nullptr: the connection's error);
  // constraint violations are kConflict.
  Status ErrorOf(const PGresult* res, const std::string& what) const;
  void set_changes(const PGresult* res);
  // "host:port/dbname" for messages.
  std::string Where() const;

 private:
  explicit PgConn(PGconn* c) : conn_(c) {}
  // Ok when connected; else, outside a transaction, reconnects.
  Status Ready();
  Status Run(const std::string& sql);
  PGconn* conn_;
  bool in_tx_ = false;
  std::unordered_map<std::string, std::pair<std::string, int>> prepared_;
  int changes_ = 0;
};

// One statement being run: its parameters, then its buffered result.
class PgStmt {
 public:
  PgStmt(std::shared_ptr<PgConn> conn, std::string sql, int params);
  ~PgStmt();
  PgStmt(const PgStmt&) = delete;
  PgStmt& operator=(const PgStmt&) = delete;

  void Bind(int idx, std::string value, bool binary);
  void BindNull(int idx);
  Result<bool> Step();
  void Reset();
  int64_t Int(int col) const;
  std::string Text(int col) const;
  bool IsNull(int col) const;

 private:
  std::shared_ptr<PgConn> conn_;
  std::string sql_;
  std::vector<std::optional<std::string>> values_;
  std::vector<int> binary_;
  PGresult* res_ = nullptr;
  int row_ = -1;
};

}  // namespace converge
