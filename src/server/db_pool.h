// Database connections shared by the server's worker threads: to the data
// dir's SQLite file, or to the PostgreSQL database of `serve --db`. A Db is
// one connection used by one thread at a time, so each request leases one for
// its duration and hands it back; the pool grows to the number of threads
// that need one at once and never closes a connection before it is
// destroyed. On PostgreSQL it grows to `max_open` at most (the database's
// max_connections is shared by every node): a request that finds them all
// leased waits for one, and fails with kUnavailable after kLeaseWait.
//
// On SQLite the pool checkpoints the WAL on a thread of its own, not in the
// connection that commits: SQLite's own checkpoint copies every page the
// commit wrote into the database file and syncs it before the commit's
// caller goes on (some 40 ms of a 1 % publish's pack request on the large
// corpus). Commits stay as durable (synchronous=FULL syncs the WAL). A
// writer rewinds the WAL only when its transaction begins after a complete
// checkpoint, which back-to-back commits may never leave room for: past
// kCheckpointFramesInline the committing connection checkpoints itself, as
// SQLite would, after any checkpoint running, so the WAL stays bounded.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/db.h"

namespace converge {

// Where a server's metadata lives: its data dir's SQLite file, or the
// PostgreSQL database of `serve --db` (ServerConfig::db).
struct ServerDb {
  fs::path sqlite;           // DATA/converge.db
  std::string postgres_url;  // empty: SQLite

  static ServerDb For(const fs::path& data_dir, const std::string& db_setting);
  bool postgres() const { return !postgres_url.empty(); }
  // The file, or the URL without its password.
  std::string Describe() const;
  // Opens and migrates (creating the schema on an empty database).
  Result<Db> Open() const;
  // Opens without migrating, for checks beside running servers; kNotFound
  // when the SQLite file does not exist, kConflict when the schema is not
  // this converge's version (naming both and what to do). On PostgreSQL
  // its session has no idle-in-transaction timeout: a check's snapshot
  // lasts while it hashes the objects.
  Result<Db> OpenForCheck() const;
};

class DbPool {
 public:
  // At most `max_open` connections on PostgreSQL (0: no cap).
  DbPool(ServerDb where, unsigned max_open) : where_(std::move(where)), max_open_(max_open) {}
  ~DbPool() { StopCheckpoints(); }
  DbPool(const DbPool&) = delete;
  DbPool& operator=(const DbPool&) = delete;
  static constexpr std::chrono::seconds kLeaseWait{30};
  // The WAL's frames after a commit past which the checkpoint thread runs
  // (SQLite's own default), and past which the committer checkpoints.
  static constexpr int kCheckpointFrames = 1000;
  static constexpr int kCheckpointFramesInline = 4 * kCheckpointFrames;

  class Lease {
   public:
    Lease(Lease&& o) noexcept : pool_(o.pool_), db_(std::move(o.db_)) { o.pool_ = nullptr; }
    Lease(const Lease&) = delete;
    ~Lease();
    Db& operator*() { return *db_; }
    Db* operator->() { return db_.get(); }

   private:
    friend class DbPool;
    Lease(DbPool* pool, std::unique_ptr<Db> db) : pool_(pool), db_(std::move(db)) {}
    DbPool* pool_;
    std::unique_ptr<Db> db_;
  };

  // An idle connection, or a new one (opened and migrated) when none is idle.
  // The connection returned last is leased first.
  Result<Lease> Acquire();
  // Held around a write that touches much of the object tables (a pack's
  // commit). On SQLite such writes take turns in the process: the database
  // takes one writer at a time anyway, and a connection left to wait for the
  // lock would then touch those pages through a mapping of its own, each
  // counting in the server's memory (at a million objects ~100 MB more),
  // where taking turns leases the one that just touched them. On
  // PostgreSQL, which takes many writers, it holds nothing.
  std::unique_lock<std::mutex> BulkWriteTurn();
  const ServerDb& where() const { return where_; }
  // Closes the idle connections (leases still out close when returned) and
  // stops the checkpoint thread.
  void Close();

 private:
  static void WalCommitted(void* pool, Db& db, int frames);  // a pool connection's SetWalHook
  void CheckpointLoop();
  // A checkpoint on `db`, after any other running; a failure is logged.
  void RunCheckpoint(Db& db);
  static void WarnCheckpointFailed(const Status& st);
  void StopCheckpoints();

  ServerDb where_;
  unsigned max_open_;
  std::mutex mu_;
  std::mutex bulk_write_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Db>> idle_;
  unsigned open_ = 0;  // leased or idle (counted on PostgreSQL only)
  bool closed_ = false;

  std::mutex checkpoint_run_;  // one checkpoint at a time, the thread's or a committer's
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_wake_;
  bool checkpoint_due_ = false;
  bool checkpoints_stopped_ = false;
  std::thread checkpointer_;  // started by the first commit that needs it
};

}  // namespace converge
