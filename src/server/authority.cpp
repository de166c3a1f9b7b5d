#include "server/authority.h"

#include "server/depths.h"

namespace converge {

Authority::Authority(const ServerConfig& config, DataDir data)
    : config_(config),
      data_(std::move(data)),
      dbs_(data_.db_path()),
      identity_(dbs_, config_),
      registry_(dbs_),
      objects_(dbs_, data_.store(), config_),
      sender_(dbs_, data_.store(), config_),
      publications_(dbs_),
      audit_(dbs_),
      web_sessions_(dbs_, identity_) {}

Result<std::unique_ptr<Authority>> Authority::Open(const ServerConfig& config) {
  ASSIGN_OR_RETURN(DataDir data, DataDir::Open(config.data_dir));
  std::unique_ptr<Authority> a(new Authority(config, std::move(data)));
  // Opening one connection creates and migrates the database before any request.
  {
    ASSIGN_OR_RETURN(DbPool::Lease db, a->dbs_.Acquire());
    ASSIGN_OR_RETURN(a->depth_notes_, MeasureStoredDepths(*db, a->data_.store()));
  }
  RETURN_IF_ERROR(a->LoadAuditKey());
  ASSIGN_OR_RETURN(a->bootstrapped_, a->identity_.Bootstrap(a->data_.token_file()));
  return a;
}

Authority::~Authority() {
  if (audit_key_) UnregisterAuditSigner(data_.db_path());
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
  RegisterAuditSigner(data_.db_path(), audit_key_);
  audit_.set_key(audit_key_);
  return Status::Ok();
}

}  // namespace converge
