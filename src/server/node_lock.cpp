#include "server/node_lock.h"

#include <chrono>
#include <thread>
#include <utility>

#include "store/records/node_lock.h"

namespace converge {

namespace {

Status RepairRunning(const std::string& desc) {
  return Conflict("a repair ('converge serve --fsck --repair') is running on database " + desc +
                  ": start this node once it has finished");
}

}  // namespace

Status NodeLock::Take() {
  NodeLockRecords records(db_, id_);
  ASSIGN_OR_RETURN(int64_t session, records.Session());
  int64_t holders = 0;
  // A node that has just stopped lets go of the lock once its session has
  // ended on the server, a moment after it closed the connection (its
  // session still counts among the holders until then): try again for a
  // second before saying nodes run. Holders are counted after the last try:
  // when the last of them let go in between, one more try.
  for (int attempt = 0;; attempt++) {
    ASSIGN_OR_RETURN(bool got, records.TryTake(shared_));
    if (got) {
      session_ = session;
      return Status::Ok();
    }
    if (shared_) return RepairRunning(desc_);
    if (attempt >= 20) {
      ASSIGN_OR_RETURN(holders, records.Holders());
      if (holders > 0 || attempt > 20) break;
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (holders == 0)
    return Conflict("the node lock of database " + desc_ +
                    " was held a moment ago by nodes that have stopped since: run it again");
  return Conflict(
      std::to_string(holders) + " converge serve node" + (holders == 1 ? " is" : "s are") +
      " running on database " + desc_ +
      " (they hold its node lock, on whichever hosts they run): --repair changes records and "
      "moves object files, so stop every node of this authority first, then run it again, and "
      "start them after it ('converge serve --fsck' without --repair is safe beside them)");
}

Result<std::unique_ptr<NodeLock>> NodeLock::ForNode(const std::string& url,
                                                    const std::string& authority_id,
                                                    const std::string& db_description) {
  ASSIGN_OR_RETURN(Db db, Db::ConnectExisting(url));
  std::unique_ptr<NodeLock> lock(new NodeLock(std::move(db), authority_id, db_description));
  RETURN_IF_ERROR(lock->Take());
  return lock;
}

Result<std::unique_ptr<NodeLock>> NodeLock::ForRepair(const std::string& url,
                                                      const std::string& authority_id,
                                                      const std::string& db_description) {
  ASSIGN_OR_RETURN(Db db, Db::ConnectExisting(url));
  std::unique_ptr<NodeLock> lock(new NodeLock(std::move(db), authority_id, db_description));
  lock->shared_ = false;
  RETURN_IF_ERROR(lock->Take());
  return lock;
}

Status NodeLock::Refresh() {
  NodeLockRecords records(db_, id_);
  Result<int64_t> session = records.Session();
  // A query that found the connection lost marks it so; the next remakes it.
  if (!session.ok()) session = records.Session();
  if (!session.ok()) return session.status().With("keeping this node's lock on " + desc_);
  if (*session == session_) return Status::Ok();
  Status st = Take();
  if (st.code() == Code::kConflict)
    return Conflict("this node's connection to " + desc_ +
                    " was remade, and meanwhile a repair ('converge serve --fsck --repair') "
                    "took the node lock: this node must not serve while it runs; stop it, and "
                    "start it again once the repair has finished");
  return st;
}

}  // namespace converge
