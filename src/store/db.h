// A thin RAII layer over SQLite, and the versioned schema both the workspace
// and the server database go through (schema.cpp holds the migrations).
//
// A Db is one connection: use it from one thread at a time. Databases run in
// WAL mode with a busy timeout, so a second process writing at once waits
// instead of failing; write transactions start IMMEDIATE so two writers never
// deadlock on a read-to-write upgrade.
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
  bool IsNull(int col) const;

 private:
  friend class Db;
  Stmt(sqlite3* db, sqlite3_stmt* s, std::shared_ptr<StmtCache> cache, std::string sql)
      : db_(db), s_(s), cache_(std::move(cache)), sql_(std::move(sql)) {}
  void Release();

  sqlite3* db_ = nullptr;
  sqlite3_stmt* s_ = nullptr;
  std::shared_ptr<StmtCache> cache_;  // where s_ goes back to; outlives it
  std::string sql_;
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

  Status Exec(std::string_view sql);
  Result<Stmt> Prepare(std::string_view sql);
  int64_t LastInsertRowId() const;
  int Changes() const;
  const fs::path& path() const { return path_; }

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
  // BEGIN IMMEDIATE: takes the write lock now (waiting up to the busy timeout).
  Result<Tx> BeginWrite();
  // BEGIN (deferred): many reads see one snapshot and share one lock round
  // trip. Rolling it back (the destructor) is how a reader ends it.
  Result<Tx> BeginRead();

 private:
  Db(sqlite3* db, fs::path path)
      : db_(db, sqlite3_close_v2), path_(std::move(path)), cache_(std::make_shared<StmtCache>()) {}
  Status Migrate(DbRole role);
  Status Error(const std::string& what) const;

  // sqlite3_close_v2 waits for statements still held by a Stmt or the cache.
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db_;
  fs::path path_;
  std::shared_ptr<StmtCache> cache_;
};

// The schema version this build writes for `role` (the number of migrations).
int SchemaVersion(DbRole role);

}  // namespace converge
