#include "cmd/serve_offline.h"

#include "base/text.h"
#include "cmd/command.h"
#include "cmd/fsck_report.h"
#include "server/fsck.h"
#include "server/fsck_repair.h"
#include "server/import.h"

namespace converge {

// --fsck [--repair]: the checks and the repair are server/fsck.h's.
Status FsckDataDir(const ServerConfig& c, bool repair, bool json) {
  std::string data_dir = c.data_dir.string();
  if (repair) {
    ASSIGN_OR_RETURN(FsckReport r, RepairDataDir(data_dir, c.db));
    return PrintFsckReport(r, json, "after the repair, data dir " + Quote(data_dir),
                           "a publication whose snap is no longer held is whole again once a "
                           "workspace that has the snap publishes it again (or uploads it); what "
                           "else is listed needs a backup of the data dir");
  }
  ASSIGN_OR_RETURN(FsckReport r, CheckDataDir(data_dir, c.db));
  return PrintFsckReport(r, json, "data dir " + Quote(data_dir),
                         "with the server stopped, 'converge serve --fsck --repair' sets damaged "
                         "objects aside so that the next upload of them stores them again; or "
                         "restore the damaged objects or database from a backup (clients that "
                         "fetched the publications named above hold copies of their objects)");
}

// --import-sqlite OLD --db URL: the copy and its checks are server/import.h's.
Status ImportCommand(const std::string& old_dir, const ServerConfig& c, bool json) {
  if (!c.postgres())
    return Invalid("--import-sqlite needs the PostgreSQL database to copy into: pass --db URL");
  ASSIGN_OR_RETURN(ImportReport r, ImportSqliteDataDir(old_dir, c.db));
  if (json) {
    nlohmann::json tables = nlohmann::json::object();
    for (const TableCopy& t : r.tables) tables[t.table] = t.rows;
    PrintJson({{"imported", true},
               {"tables", tables},
               {"audit_rows", r.target.rows_checked},
               {"audit_key", r.target.fingerprint}});
    return Status::Ok();
  }
  int64_t rows = 0;
  for (const TableCopy& t : r.tables) rows += t.rows;
  Note("imported " + std::to_string(rows) + " rows in " + std::to_string(r.tables.size()) +
       " tables from " + Quote(old_dir) + "; the audit chain (" +
       std::to_string(r.target.rows_checked) + " rows, key " + r.target.fingerprint +
       ") verifies on both sides");
  Note("next: start each node with --data-dir " + old_dir +
       " (on a filesystem every node shares) and the same --db");
  return Status::Ok();
}

}  // namespace converge
