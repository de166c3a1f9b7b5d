#include "server/import.h"

#include "base/clock.h"
#include "base/fs.h"
#include "base/text.h"
#include "server/audit_verify.h"
#include "server/data_dir.h"
#include "server/db_pool.h"

namespace converge {

namespace {

Status RequireIntact(const AuditVerdict& v, const std::string& where) {
  if (v.ok()) return Status::Ok();
  std::string first = v.problems.empty() ? "" : ": " + v.problems.front().message;
  return Corrupt("the audit chain of " + where + " does not verify (" +
                 std::to_string(v.problem_count) + " problem(s))" + first +
                 "; nothing was imported: check it with 'converge serve --verify-audit'");
}

Result<AuditVerdict> VerifyIn(Db& db, const AuditPublicKey& key, const std::string& where) {
  ASSIGN_OR_RETURN(AuditVerdict v, VerifyAuditLog(db, key));
  RETURN_IF_ERROR(RequireIntact(v, where));
  return v;
}

// An import never merges: every converge table of the target must be empty.
Status RequireEmpty(Db& to, const std::vector<std::string>& tables, const std::string& where) {
  for (const std::string& t : tables) {
    ASSIGN_OR_RETURN(int64_t rows, CountRows(to, t));
    if (rows > 0)
      return Conflict("the target database " + where + " is not empty (table " + t + " holds " +
                      std::to_string(rows) + " rows): import into a new, empty database");
  }
  return Status::Ok();
}

Status RequireSameCounts(Db& to, const std::vector<TableCopy>& copied) {
  for (const TableCopy& t : copied) {
    ASSIGN_OR_RETURN(int64_t rows, CountRows(to, t.table));
    if (rows != t.rows)
      return Internal("after the copy, table " + t.table + " holds " + std::to_string(rows) +
                      " rows instead of " + std::to_string(t.rows) + "; nothing was imported");
  }
  return Status::Ok();
}

Status MarkMoved(const fs::path& dir, const std::string& target) {
  fs::path moved = MetadataMovedFile(dir);
  Status marked = WriteFileAtomic(
      moved, "converge.db was copied into " + target + " by 'converge serve --import-sqlite' at " +
                 TimeNow() + "; the nodes keep this data dir's metadata there now. If that " +
                 "database is empty, the import did not finish: run it again.\n");
  return marked.ok() ? marked
                     : marked.With("nothing was imported: writing " + Quote(moved.string()) +
                                   " (which stops servers on the old converge.db) failed");
}

// The commit failed: the old converge.db is still the metadata.
Status Unmark(const fs::path& dir, const Status& why) {
  fs::path moved = MetadataMovedFile(dir);
  std::error_code ec;
  fs::remove(moved, ec);
  if (ec)
    return why.With("nothing was imported, but removing " + Quote(moved.string()) + " failed (" +
                    ec.message() + "): remove it by hand before serving the old converge.db");
  return why.With("nothing was imported");
}

}  // namespace

Result<ImportReport> ImportSqliteDataDir(const fs::path& old_dir, const std::string& url) {
  ServerDb source_db = ServerDb::For(old_dir, "");
  std::error_code ec;
  if (!fs::exists(source_db.sqlite, ec))
    return NotFound(Quote(old_dir.string()) +
                    " is not a converge data dir (it has no converge.db): pass the data dir "
                    "of the server to import");
  // Alone: no server may change the source while it is copied.
  ASSIGN_OR_RETURN(DataDir data, DataDir::Open(old_dir));
  ASSIGN_OR_RETURN(Db from, source_db.OpenForCheck());
  ASSIGN_OR_RETURN(AuditPublicKey key, DataDirAuditKey(data.path()));
  ServerDb target_db = ServerDb::For(data.path(), url);
  ASSIGN_OR_RETURN(Db to, target_db.Open());  // makes the schema on a new database
  std::string source = source_db.Describe(), target = target_db.Describe();

  ImportReport report;
  ASSIGN_OR_RETURN(Db::Tx read, from.BeginRead());  // one snapshot of the source
  ASSIGN_OR_RETURN(report.source, VerifyIn(from, key, source));
  ASSIGN_OR_RETURN(std::vector<std::string> tables, CopiedTableNames(from));
  {
    ASSIGN_OR_RETURN(Db::Tx write, to.BeginWrite());
    RETURN_IF_ERROR(RequireEmpty(to, tables, target));
    ASSIGN_OR_RETURN(report.tables, CopyServerTables(from, to));
    RETURN_IF_ERROR(RequireSameCounts(to, report.tables));
    RETURN_IF_ERROR(VerifyIn(to, key, target + " (before committing)").status());
    // Marked before the commit: once the commit is in, the metadata is
    // PostgreSQL's, and a server, gc or fsck on the old converge.db would act
    // on the authority as it was before the move. A crash between the two
    // leaves the mark over an empty target: the import runs again.
    RETURN_IF_ERROR(MarkMoved(data.path(), target));
    if (Status committed = write.Commit(); !committed.ok()) return Unmark(data.path(), committed);
  }
  ASSIGN_OR_RETURN(Db::Tx check, to.BeginRead());
  ASSIGN_OR_RETURN(report.target, VerifyIn(to, key, target));
  return report;
}

}  // namespace converge
