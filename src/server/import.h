// `converge serve --import-sqlite OLD_DATA_DIR --db URL`: moves a single-node
// server's metadata from its data dir's SQLite database into an empty
// PostgreSQL one, for running several nodes (docs/server.md, "Running
// several nodes"). The objects, the audit key and the rest of the data dir
// stay where they are: the nodes then run with --data-dir OLD_DATA_DIR (or a
// copy of it) and --db URL.
//
// It holds OLD_DATA_DIR's lock alone throughout (no server may run on it),
// verifies the source's audit chain and signed head against the data dir's
// key before copying, copies every table in one PostgreSQL transaction
// (store/db_copy.h: all or nothing), and before committing checks each
// table's row count and verifies the copied chain against the same key; then
// verifies it once more as committed. A target that holds any row of a
// converge table is refused: an import never merges.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/audit_chain.h"
#include "base/fs.h"
#include "store/db_copy.h"

namespace converge {

struct ImportReport {
  std::vector<TableCopy> tables;
  AuditVerdict source;  // the chain checked before the copy
  AuditVerdict target;  // and after, as committed
};

// Errors: kNotFound when OLD_DATA_DIR has no converge.db; kConflict when a
// server holds it, when its schema is not this converge's, or when the
// target is not empty; kCorrupt when either audit chain fails to verify
// (naming the first problem); the engines' errors.
Result<ImportReport> ImportSqliteDataDir(const fs::path& old_dir, const std::string& url);

}  // namespace converge
