// converge's node lock on a PostgreSQL database: a session-level advisory
// lock, one per authority (keyed by its ID, server/authority_id.h, so
// authorities in separate schemas of one database do not meet), that every
// node of the authority holds shared while it runs and `serve --fsck
// --repair` holds alone (server/node_lock.h says why). The only file with
// the SQL for it. PostgreSQL only: on SQLite every call is kInvalid (there,
// DATA/lock beside the database file does this). Outside any transaction:
// a session lock outlives transactions.
#pragma once

#include <cstdint>
#include <string>

#include "store/db.h"

namespace converge {

// The advisory lock's first key (its second is from the authority ID); the
// two-key form keeps it apart from the one-key locks of store/pg_db.h.
inline constexpr int32_t kPgNodeLockClass = 0x636f6e76;  // "conv"

class NodeLockRecords {
 public:
  // `authority_id`: hex, at least 8 characters (the authority's ID).
  NodeLockRecords(Db& db, const std::string& authority_id);

  // Takes the lock for this connection's session, shared or alone, without
  // waiting: false when it is held in a way that excludes that. Taking it
  // again in a session that holds it counts once more (the session's end
  // releases every count).
  Result<bool> TryTake(bool shared);
  // How many sessions hold it now (this one included).
  Result<int64_t> Holders();
  // This connection's server process (pg_backend_pid): a new one after the
  // connection was remade, whose session holds no lock yet.
  Result<int64_t> Session();

 private:
  Db& db_;
  uint32_t key_;
};

}  // namespace converge
