#include "server/db_pool.h"

#include "net/http_log.h"

namespace converge {

DbPool::Lease::~Lease() {
  if (!pool_) return;
  std::lock_guard<std::mutex> lock(pool_->mu_);
  if (db_ && !pool_->closed_) {
    pool_->idle_.push_back(std::move(db_));
  } else if (pool_->open_ > 0) {
    pool_->open_--;  // closed with the pool, or never opened
  }
  pool_->returned_.notify_one();
}

ServerDb ServerDb::For(const fs::path& data_dir, const std::string& db_setting) {
  ServerDb d;
  d.sqlite = data_dir / "converge.db";
  if (!db_setting.empty() && db_setting != "sqlite") d.postgres_url = db_setting;
  return d;
}

std::string ServerDb::Describe() const {
  return postgres() ? "PostgreSQL " + RedactDbUrl(postgres_url) : "SQLite " + sqlite.string();
}

Result<Db> ServerDb::Open() const {
  if (!postgres()) return Db::Open(sqlite, DbRole::kServer);
  return Db::Connect(postgres_url, DbRole::kServer);
}

Result<Db> ServerDb::OpenForCheck() const {
  Result<Db> db = postgres() ? Db::ConnectExisting(postgres_url) : Db::OpenReadOnly(sqlite);
  if (!db.ok()) return db.status();
  // A check holds one read snapshot while it re-hashes every object file,
  // hours between two statements on a large store: the timeout that ends a
  // stuck node's transaction (store/pg_db.h) must not end it. It takes no
  // lock that a node waits for.
  if (postgres()) RETURN_IF_ERROR(db->Exec("SET idle_in_transaction_session_timeout = 0"));
  ASSIGN_OR_RETURN(int have, db->StoredSchemaVersion());
  int want = SchemaVersion(DbRole::kServer);
  if (have != want)
    return Conflict("database " + Describe() + " has schema version " + std::to_string(have) +
                    "; this converge checks version " + std::to_string(want) +
                    " (start the server once to migrate it, or use the matching converge)");
  return db;
}

std::unique_lock<std::mutex> DbPool::BulkWriteTurn() {
  if (where_.postgres()) return std::unique_lock<std::mutex>();
  return std::unique_lock<std::mutex>(bulk_write_);
}

Result<DbPool::Lease> DbPool::Acquire() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    bool capped = where_.postgres() && max_open_ > 0;
    auto ready = [&] { return closed_ || !idle_.empty() || !capped || open_ < max_open_; };
    if (!returned_.wait_for(lock, kLeaseWait, ready))
      return Unavailable("all " + std::to_string(max_open_) +
                         " database connections of this node stayed busy for " +
                         std::to_string(kLeaseWait.count()) +
                         " s: try again, or raise db_connections (docs/server.md)");
    if (closed_) return Unavailable("the server is shutting down");
    if (!idle_.empty()) {
      std::unique_ptr<Db> db = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(db));
    }
    if (capped) open_++;
  }
  // Opened outside the lock: a PostgreSQL connection takes a round trip or more.
  Result<Db> db = where_.Open();
  if (!db.ok()) {
    Lease give_back(this, nullptr);  // releases the slot counted above
    return db.status();
  }
  auto owned = std::make_unique<Db>(std::move(*db));  // the hook needs its address
  if (!where_.postgres()) owned->SetWalHook(&DbPool::WalCommitted, this);
  return Lease(this, std::move(owned));
}

void DbPool::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    open_ -= std::min<unsigned>(open_, static_cast<unsigned>(idle_.size()));
    idle_.clear();
    returned_.notify_all();
  }
  StopCheckpoints();
}

void DbPool::WalCommitted(void* pool, Db& db, int frames) {
  if (frames < kCheckpointFrames) return;
  auto* self = static_cast<DbPool*>(pool);
  if (frames >= kCheckpointFramesInline) {
    self->RunCheckpoint(db);
    return;
  }
  std::lock_guard<std::mutex> lock(self->checkpoint_mu_);
  if (self->checkpoints_stopped_) return;
  self->checkpoint_due_ = true;
  if (!self->checkpointer_.joinable())
    self->checkpointer_ = std::thread([self] { self->CheckpointLoop(); });
  self->checkpoint_wake_.notify_one();
}

void DbPool::CheckpointLoop() {
  std::unique_ptr<Db> db;  // a connection of its own, opened at the first run
  std::unique_lock<std::mutex> lock(checkpoint_mu_);
  for (;;) {
    checkpoint_wake_.wait(lock, [&] { return checkpoints_stopped_ || checkpoint_due_; });
    if (checkpoints_stopped_) return;
    checkpoint_due_ = false;
    lock.unlock();
    if (!db) {
      Result<Db> opened = where_.Open();
      if (opened.ok())
        db = std::make_unique<Db>(std::move(*opened));
      else
        WarnCheckpointFailed(opened.status());
    }
    if (db) RunCheckpoint(*db);
    lock.lock();
  }
}

void DbPool::RunCheckpoint(Db& db) {
  Status st;
  {
    std::lock_guard<std::mutex> run(checkpoint_run_);
    st = db.Checkpoint();
  }
  if (!st.ok()) WarnCheckpointFailed(st);
}

void DbPool::WarnCheckpointFailed(const Status& st) {
  // Not fatal: the WAL grows until a later checkpoint, or the last
  // connection's close, copies it.
  LogLine(LogLevel::kWarn, "checkpointing the database failed: " + st.message());
}

void DbPool::StopCheckpoints() {
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    checkpoints_stopped_ = true;
  }
  checkpoint_wake_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
}

}  // namespace converge
