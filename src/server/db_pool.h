// SQLite connections shared by the server's worker threads. A Db is one
// connection used by one thread at a time, so each request leases one for its
// duration and hands it back; the pool grows to the number of threads that
// need one at once and never closes a connection before it is destroyed.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "store/db.h"

namespace converge {

class DbPool {
 public:
  explicit DbPool(fs::path path) : path_(std::move(path)) {}

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
  Result<Lease> Acquire();
  // Closes the idle connections; leases still out close when returned.
  void Close();

 private:
  fs::path path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Db>> idle_;
  bool closed_ = false;
};

}  // namespace converge
