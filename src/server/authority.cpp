#include "server/authority.h"

#include "base/text.h"
#include "server/authority_id.h"
#include "server/depths.h"
#include "store/records/identity.h"

namespace converge {

Authority::Authority(const ServerConfig& config, DataDir data)
    : config_(config),
      data_(std::move(data)),
      dbs_(ServerDb::For(data_.path(), config_.db), config_.db_connections),
      identity_(dbs_, config_),
      registry_(dbs_),
      objects_(dbs_, data_.store(), config_),
      sender_(dbs_, data_.store(), config_),
      publications_(dbs_),
      audit_(dbs_),
      web_sessions_(dbs_, identity_) {}

Result<std::unique_ptr<Authority>> Authority::Open(const ServerConfig& config) {
  RETURN_IF_ERROR(RefuseMovedMetadata(config.data_dir, config.postgres()));
  ASSIGN_OR_RETURN(DataDir data, DataDir::Open(config.data_dir, config.postgres()
                                                                    ? DataDir::Use::kShared
                                                                    : DataDir::Use::kAlone));
  std::unique_ptr<Authority> a(new Authority(config, std::move(data)));
  // Opening one connection creates and migrates the database before any request.
  {
    ASSIGN_OR_RETURN(DbPool::Lease db, a->dbs_.Acquire());
    a->db_source_ = db->source();
    RETURN_IF_ERROR(a->RefuseUnimportedSqlite(*db));
    // Before anything is written to it: the database must be this data dir's.
    std::string where = a->dbs_.where().Describe();
    ASSIGN_OR_RETURN(std::string id, BindAuthority(a->data_.path(), a->data_.store(), *db, where));
    if (config.postgres()) {  // no repair may run beside this node, on any host
      ASSIGN_OR_RETURN(a->node_lock_, NodeLock::ForNode(config.db, id, where));
    }
    ASSIGN_OR_RETURN(a->depth_notes_, MeasureStoredDepths(*db, a->data_.store()));
  }
  RETURN_IF_ERROR(a->LoadAuditKey());
  ASSIGN_OR_RETURN(a->bootstrapped_, a->identity_.Bootstrap(a->data_.token_file()));
  return a;
}

Authority::~Authority() {
  if (audit_key_) UnregisterAuditSigner(db_source_);
}

// A data dir that ran on SQLite holds its users, tokens and publications in
// converge.db: starting it on an empty PostgreSQL database would make a new
// admin and orphan them all, so it waits for the import.
Status Authority::RefuseUnimportedSqlite(Db& db) {
  std::error_code ec;
  if (!config_.postgres() || !fs::exists(data_.db_path(), ec)) return Status::Ok();
  ASSIGN_OR_RETURN(int64_t users, UserRecords(db).Count());
  if (users > 0) return Status::Ok();
  return Conflict("data dir " + Quote(data_.path().string()) +
                  " holds a SQLite database (converge.db) and the PostgreSQL database is empty: "
                  "copy it there first with 'converge serve --import-sqlite " +
                  data_.path().string() + " --db URL', or use another --data-dir");
}

Status Authority::LoadAuditKey() {
  bool created = false;
  ASSIGN_OR_RETURN(AuditKey key, AuditKey::LoadOrCreate(data_.path(), &created));
  audit_key_ = std::make_shared<const AuditKey>(std::move(key));
  if (created)
    audit_notes_.push_back(
        "made a new audit signing key: " + AuditKey::SecretPath(data_.path()).string() +
        " (back it up with the data dir)");
  {
    ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
    Result<std::string> note = AdoptAuditKey(*db, *audit_key_);
    if (!note.ok()) {
      // A key made just now cannot be the one that signed: leave no stray
      // key behind for the next start to pick up.
      if (created) {
        std::error_code ec;
        fs::remove(AuditKey::SecretPath(data_.path()), ec);
        fs::remove(AuditKey::PublicPath(data_.path()), ec);
      }
      return note.status();
    }
    if (!note->empty()) audit_notes_.push_back(*note);
  }
  RegisterAuditSigner(db_source_, audit_key_);
  audit_.set_key(audit_key_);
  return Status::Ok();
}

}  // namespace converge
