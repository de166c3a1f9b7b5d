// Nodes and the repair on one PostgreSQL database. `serve --fsck --repair`
// changes records and moves object files, so no node may run beside it.
// DATA/lock keeps them apart only where the shared filesystem carries flock
// between hosts (NFSv4 does; some do not), so the database does it too:
// every node holds its authority's node lock (store/records/node_lock.h)
// shared, on a connection of its own, for as long as it runs, and the
// repair takes it alone. A repair is refused while any node of the
// authority runs, on any host, and a node does not start while a repair
// runs. SQLite needs none of it: its database is a file in the data dir.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "store/db.h"

namespace converge {

class NodeLock {
 public:
  // Connects to `url` (a connection of its own) and takes the lock of
  // authority `authority_id` shared. Errors: kConflict while a repair holds
  // it (naming the database, `db_description`); the database's.
  static Result<std::unique_ptr<NodeLock>> ForNode(const std::string& url,
                                                   const std::string& authority_id,
                                                   const std::string& db_description);
  // The same, alone, for the repair. Errors: kConflict while any node holds
  // it, saying how many and what to do; the database's.
  static Result<std::unique_ptr<NodeLock>> ForRepair(const std::string& url,
                                                     const std::string& authority_id,
                                                     const std::string& db_description);

  // A node's upkeep, every kRefresh (server/serve.cpp): when its connection
  // was remade since (the database restarted, a failover), the new session
  // takes the lock again. Errors: kConflict when a repair took it meanwhile
  // (the node should not serve until that is over); the database's (the
  // next call tries again).
  Status Refresh();
  static constexpr std::chrono::seconds kRefresh{15};

 private:
  NodeLock(Db db, std::string authority_id, std::string db_description)
      : db_(std::move(db)), id_(std::move(authority_id)), desc_(std::move(db_description)) {}
  Status Take();

  Db db_;
  std::string id_, desc_;
  bool shared_ = true;
  int64_t session_ = 0;  // the backend that holds it
};

}  // namespace converge
