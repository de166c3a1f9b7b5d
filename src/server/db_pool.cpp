#include "server/db_pool.h"

namespace converge {

DbPool::Lease::~Lease() {
  if (!pool_ || !db_) return;
  std::lock_guard<std::mutex> lock(pool_->mu_);
  if (!pool_->closed_) pool_->idle_.push_back(std::move(db_));
}

Result<DbPool::Lease> DbPool::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Unavailable("the server is shutting down");
    if (!idle_.empty()) {
      std::unique_ptr<Db> db = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(db));
    }
  }
  ASSIGN_OR_RETURN(Db db, Db::Open(path_, DbRole::kServer));
  return Lease(this, std::make_unique<Db>(std::move(db)));
}

void DbPool::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  idle_.clear();
}

}  // namespace converge
