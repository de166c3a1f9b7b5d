// A thin RAII layer over the metadata engine, and the versioned schema both
// the workspace and the server database go through (schema.cpp holds the
// migrations). Two engines: SQLite (every workspace, and the server's
// default) and PostgreSQL (the server's, Db::Connect; store/pg_db.h says
// how its transactions serialize and what a record may not assume there).
// Records classes take a Db& and run the same SQL on either
// (docs/architecture.md, "How to add a metadata engine").
//
// A Db is one connection: use it from one thread at a time. SQLite databases
// run in WAL mode with a busy timeout, so a second process writing at once
// waits instead of failing; write transactions start IMMEDIATE so two writers
// never deadlock on a read-to-write upgrade. The SQLite path stays as cheap as
// a bare sqlite3 handle: a Stmt holds its sqlite3_stmt directly (no
// allocation, no virtual call); only a PostgreSQL Stmt carries a PgStmt.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/fs.h"

namespace converge {

enum class DbRole { kWorkspace, kServer };
enum class DbEngine { kSqlite, kPostgres };

class PgConn;  // store/pg_db.h
class PgStmt;

// Prepared statements a Db keeps for reuse, by SQL text: preparing is most of
// the cost of a small query (the server asks one per object of a batch).
class StmtCache {
 public:
  StmtCache() = default;
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;
  ~StmtCache();
  // An idle statement for `sql`, or null.
  sqlite3_stmt* Take(const std::string& sql);
  // Takes `s` back, reset and unbound (finalized if enough are idle).
  void Give(const std::string& sql, sqlite3_stmt* s);

 private:
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>> idle_;
};

class Stmt {
 public:
  Stmt() = default;
  Stmt(Stmt&& o) noexcept;
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  Stmt& Bind(int idx, int64_t v);
  Stmt& Bind(int idx, std::string_view v);
  Stmt& Bind(int idx, const std::string& v) { return Bind(idx, std::string_view(v)); }
  Stmt& Bind(int idx, const char* v) { return Bind(idx, std::string_view(v)); }
  Stmt& BindBlob(int idx, std::string_view v);
  Stmt& BindNull(int idx);

  // Advances: true when a row is ready, false when done.
  Result<bool> Step();
  // Steps to completion, for statements that return no rows.
  Status Run();
  void Reset();

  int64_t Int(int col) const;
  std::string Text(int col) const;  // "" for NULL
  // A BLOB (BYTEA) column's bytes; "" for NULL.
  std::string Blob(int col) const;
  bool IsNull(int col) const;

 private:
  friend class Db;
  Stmt(sqlite3* db, sqlite3_stmt* s, std::shared_ptr<StmtCache> cache, std::string sql);
  explicit Stmt(std::unique_ptr<PgStmt> pg);
  void Release();

  sqlite3* db_ = nullptr;
  sqlite3_stmt* s_ = nullptr;
  std::shared_ptr<StmtCache> cache_;  // where s_ goes back to; outlives it
  std::string sql_;
  std::unique_ptr<PgStmt> pg_;  // set instead of the above on PostgreSQL
};

class Db {
 public:
  // Opens (creating if needed) and migrates the database to the newest schema
  // for its role. Fails with a clear message when the file was made by a newer
  // converge.
  static Result<Db> Open(const fs::path& path, DbRole role);
  // Opens an existing database read-only, without migrating: safe beside a
  // running writer (in WAL mode a reader sees one consistent snapshot per
  // transaction). kNotFound when the file does not exist.
  static Result<Db> OpenReadOnly(const fs::path& path);
  // Connects to a PostgreSQL database by libpq URL (postgresql://...) and
  // migrates it to the newest server schema, under an advisory lock so that
  // several nodes starting at once create it once. Only DbRole::kServer
  // (kInvalid otherwise). Errors name the server, never a password.
  static Result<Db> Connect(const std::string& url, DbRole role);
  // Connects without migrating, for checks that run beside live nodes (fsck,
  // audit verification): they compare StoredSchemaVersion themselves.
  static Result<Db> ConnectExisting(const std::string& url);

  // The schema version the database holds (0 for an empty one).
  Result<int> StoredSchemaVersion();

  DbEngine engine() const { return pg_ ? DbEngine::kPostgres : DbEngine::kSqlite; }

  Status Exec(std::string_view sql);
  Result<Stmt> Prepare(std::string_view sql);
  // SQLite only (nothing on PostgreSQL): `hook(arg, *this, frames)` after
  // each commit of this connection, with the frames in the WAL, instead of
  // the checkpoint SQLite would run in the committing connection past 1,000
  // (sqlite3_wal_hook replaces it): whoever sets it checkpoints, and may
  // call Checkpoint() on this connection from the hook. The Db must not
  // move once the hook is set (keep it on the heap).
  void SetWalHook(void (*hook)(void* arg, Db& db, int frames), void* arg);
  // SQLite: copies what the WAL holds into the database file as far as no
  // reader still needs the old pages (a PASSIVE checkpoint: it waits for
  // no one). Nothing on PostgreSQL.
  Status Checkpoint();
  // SQLite only (0 on PostgreSQL): records use RETURNING instead.
  int64_t LastInsertRowId() const;
  int Changes() const;
  // The SQLite file; empty on PostgreSQL.
  const fs::path& path() const { return path_; }
  // What this connection is to, for messages and as a key: the SQLite file's
  // path, or the PostgreSQL URL with any password redacted.
  const std::string& source() const { return source_; }

  // A transaction rolled back on destruction unless committed.
  class Tx {
   public:
    Tx(Tx&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
    Tx(const Tx&) = delete;
    ~Tx();
    Status Commit();

   private:
    friend class Db;
    explicit Tx(Db* db) : db_(db) {}
    Db* db_;
  };
  // SQLite: BEGIN IMMEDIATE, takes the write lock now (waiting up to the busy
  // timeout). PostgreSQL: READ COMMITTED after the database-wide write lock
  // (store/pg_db.h). Either way one write transaction at a time.
  Result<Tx> BeginWrite();
  // SQLite: BEGIN (deferred); PostgreSQL: REPEATABLE READ READ ONLY. Many
  // reads see one snapshot and share one lock round trip. Rolling it back
  // (the destructor) is how a reader ends it. Do not write inside one.
  Result<Tx> BeginRead();

 private:
  Db(sqlite3* db, fs::path path)
      : db_(db, sqlite3_close_v2),
        path_(std::move(path)),
        source_(path_.string()),
        cache_(std::make_shared<StmtCache>()) {}
  Db(std::shared_ptr<PgConn> pg, std::string source)
      : db_(nullptr, sqlite3_close_v2), source_(std::move(source)), pg_(std::move(pg)) {}
  Status Migrate(DbRole role);
  Status MakeQueryIndexes(DbRole role);  // store/schema.h's QueryIndexes
  Status MigratePostgres();
  Status Error(const std::string& what) const;

  // sqlite3_close_v2 waits for statements still held by a Stmt or the cache.
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db_;
  fs::path path_;
  std::string source_;
  std::shared_ptr<StmtCache> cache_;
  std::shared_ptr<PgConn> pg_;  // the PostgreSQL connection, else null
  struct WalHook {
    void (*hook)(void* arg, Db& db, int frames);
    void* arg;
    Db* db;
  };
  std::unique_ptr<WalHook> wal_hook_;  // SetWalHook's, at a fixed address
};

// A PostgreSQL URL with any password replaced by "***", for messages.
std::string RedactDbUrl(std::string_view url);

// The schema version this build writes for `role` (the number of migrations).
int SchemaVersion(DbRole role);

}  // namespace converge
