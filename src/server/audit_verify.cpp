#include "server/audit_verify.h"

#include <algorithm>

#include "base/text.h"
#include "server/audit.h"
#include "server/db_pool.h"
#include "store/db.h"
#include "store/records/audit.h"

namespace converge {

Result<AuditPublicKey> DataDirAuditKey(const fs::path& dir) {
  Result<std::string> pub = ReadFile(AuditKey::PublicPath(dir));
  if (pub.ok()) {
    if (std::optional<AuditPublicKey> key = AuditPublicKey::FromHex(*pub)) return *key;
  }
  Result<AuditKey> pair = AuditKey::Load(dir);
  if (!pair.ok())
    return pair.status().With("no audit key in data dir " + Quote(dir.string()) +
                              " (has converge serve run on it?)");
  return pair->public_key();
}

Result<AuditVerdict> VerifyAuditLog(Db& db, const AuditPublicKey& key) {
  Result<std::optional<wire::AuditHead>> head = ReadHead(db);
  if (!head.ok())
    return head.status().With("database " + db.source() +
                              " has no signed audit head: start this converge serve on it once "
                              "to upgrade it");
  if (!*head) {
    // No head: fine for an empty log, a problem for any other.
    ASSIGN_OR_RETURN(int64_t rows, AuditRecords(db).Count());
    AuditVerdict v;
    v.fingerprint = key.Fingerprint();
    if (rows > 0) {
      v.problem_count = 1;
      v.problems.push_back({1, "the audit log has " + std::to_string(rows) +
                                   " rows but no signed head: it was removed, or no converge "
                                   "serve with signed heads has run on this data dir yet"});
    }
    return v;
  }
  AuditChainVerifier check(**head, key, std::nullopt);
  RETURN_IF_ERROR(ForEachAuditRow(db, (*head)->seq, [&](const wire::AuditEntry& e) {
    check.Add(e);
    return Status::Ok();
  }));
  return check.Finish();
}

Result<AuditVerdict> VerifyAuditDataDir(const fs::path& dir, const std::string& db_setting,
                                        const std::optional<AuditPublicKey>& given) {
  std::optional<AuditPublicKey> key = given;
  if (!key) {
    ASSIGN_OR_RETURN(key, DataDirAuditKey(dir));
  }
  ServerDb where = ServerDb::For(dir, db_setting);
  ASSIGN_OR_RETURN(Db db, where.postgres() ? Db::ConnectExisting(where.postgres_url)
                                           : Db::OpenReadOnly(where.sqlite));
  // Its one snapshot lasts the whole walk, as a check's does (ServerDb::OpenForCheck).
  if (where.postgres()) RETURN_IF_ERROR(db.Exec("SET idle_in_transaction_session_timeout = 0"));
  // One read transaction: the head and the rows it covers from one snapshot,
  // even while a server appends.
  ASSIGN_OR_RETURN(Db::Tx read, db.BeginRead());  // rolled back at the end: it only read
  return VerifyAuditLog(db, *key);
}

}  // namespace converge
