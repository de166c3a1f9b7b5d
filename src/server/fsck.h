// `converge serve --fsck`: checks a server's data dir, whether or not a
// server is running on it. It only reads: the database through a read-only
// connection, in one transaction (WAL gives it a consistent snapshot beside
// a running writer), the object files directly.
//
// Besides the store checks of store/fsck.h (every object file re-hashed), it
// checks that every `objects` row has its file with the recorded size; that
// every object a repo holds decodes as its kind and names only objects the
// same repo holds, with matching sizes (so a held snap's whole tree is
// there); that every publication's snap is held by its repo and its ID
// matches its content; and the audit log, by the one checker that
// `serve --verify-audit` uses (server/audit_verify.h: the signed head against
// the data dir's key, every row's hash and link), naming each row.
//
// `serve --fsck --repair` acts on what it finds: server/fsck_repair.h.
#pragma once

#include <map>
#include <set>
#include <unordered_set>
#include <utility>

#include "base/fs.h"
#include "store/fsck.h"

namespace converge {

// What a check found that a repair can act on.
struct DataDirDamage {
  using Key = std::pair<ObjectKind, ObjectId>;
  std::unordered_set<ObjectId> files;     // objects with no intact copy (damaged or unreadable)
  std::unordered_set<ObjectId> shadowed;  // objects with a damaged copy beside an intact one
  std::set<Key> rows;                     // objects rows whose file is not there intact
  std::map<int64_t, std::set<Key>> held;  // by repo id: held objects that fail their check

  bool empty() const { return files.empty() && shadowed.empty() && rows.empty() && held.empty(); }
};

// For the operator (`serve --fsck`; no caller or role, nothing audited).
// `db` is the server's database setting (ServerConfig::db: "" for the data
// dir's SQLite file, or a PostgreSQL URL). `damage`, when given, receives
// what --repair can act on. Returns the findings; fails with kNotFound when
// `dir` is not a data dir, kConflict when the schema version is not this
// build's, or kIo when the check itself cannot run.
Result<FsckReport> CheckDataDir(const fs::path& dir, const std::string& db = "",
                                DataDirDamage* damage = nullptr);

}  // namespace converge
