#include "store/records/node_lock.h"

#include <string>
#include <string_view>

#include "base/hex.h"

namespace converge {

namespace {

Status PostgresOnly(const Db& db) {
  if (db.engine() == DbEngine::kPostgres) return Status::Ok();
  return Invalid("the node lock is PostgreSQL's (a SQLite data dir has DATA/lock)");
}

Result<int64_t> OneInt(Db& db, Stmt& q) {
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Internal("database " + db.source() + ": a query gave no row");
  return q.Int(0);
}

// An advisory lock's key as the int4 the function takes (the bits of `k`).
int64_t AsInt4(uint32_t k) {
  return static_cast<int64_t>(static_cast<int32_t>(k));
}

}  // namespace

namespace {

// The first 4 bytes of the hex ID (0 when it is not hex: one key for all such).
uint32_t NodeKeyOf(const std::string& authority_id) {
  unsigned char b[4] = {0, 0, 0, 0};
  if (authority_id.size() < 8 || !FromHex(std::string_view(authority_id).substr(0, 8), b, 4))
    return 0;
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | uint32_t{b[3]};
}

}  // namespace

NodeLockRecords::NodeLockRecords(Db& db, const std::string& authority_id)
    : db_(db), key_(NodeKeyOf(authority_id)) {}

Result<bool> NodeLockRecords::TryTake(bool shared) {
  RETURN_IF_ERROR(PostgresOnly(db_));
  ASSIGN_OR_RETURN(Stmt q,
                   db_.Prepare(shared ? "SELECT CASE WHEN pg_try_advisory_lock_shared(CAST(? AS "
                                        "INTEGER), CAST(? AS INTEGER)) THEN 1 ELSE 0 END"
                                      : "SELECT CASE WHEN pg_try_advisory_lock(CAST(? AS INTEGER), "
                                        "CAST(? AS INTEGER)) THEN 1 ELSE 0 END"));
  q.Bind(1, AsInt4(static_cast<uint32_t>(kPgNodeLockClass))).Bind(2, AsInt4(key_));
  ASSIGN_OR_RETURN(int64_t got, OneInt(db_, q));
  return got == 1;
}

Result<int64_t> NodeLockRecords::Holders() {
  RETURN_IF_ERROR(PostgresOnly(db_));
  // pg_locks shows a two-key advisory lock as classid, objid, objsubid 2
  // (each key's bits as an unsigned oid).
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' "
                                       "AND database = (SELECT oid FROM pg_database WHERE datname "
                                       "= current_database()) AND classid = CAST(? AS OID) AND "
                                       "objid = CAST(? AS OID) AND objsubid = 2 AND granted"));
  q.Bind(1, static_cast<int64_t>(static_cast<uint32_t>(kPgNodeLockClass)))
      .Bind(2, static_cast<int64_t>(key_));
  return OneInt(db_, q);
}

Result<int64_t> NodeLockRecords::Session() {
  RETURN_IF_ERROR(PostgresOnly(db_));
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT pg_backend_pid()"));
  return OneInt(db_, q);
}

}  // namespace converge
