#include "server/repack.h"

#include "base/text.h"
#include "server/audit_key.h"

namespace converge {

Result<RepackStats> RepackDataDir(const fs::path& dir, const RepackOptions& options) {
  // converge.db on SQLite; on PostgreSQL (serve --db) the data dir holds the
  // audit key but no database file.
  std::error_code ec;
  if (!fs::exists(dir / "converge.db", ec) && !fs::exists(AuditKey::SecretPath(dir), ec))
    return NotFound(Quote(dir.string()) +
                    " is not a converge data dir (it has neither converge.db nor audit-key): "
                    "pass the server's --data-dir");
  ASSIGN_OR_RETURN(ObjectStore store, ObjectStore::Open(dir));
  return Repack(store, options);
}

}  // namespace converge
