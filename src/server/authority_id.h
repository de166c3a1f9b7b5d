// Which database and which data dir belong together: the authority's ID.
//
// The database keeps its authority's ID in the `authority` table
// (store/records/authority.h), the data dir in
//   DATA/authority-id   the same ID, hex, one line
// both written at the first start (of a new authority, or of one made
// before IDs: its database then takes the hash of its oldest audit row,
// so a backup of it from before gets the same ID). Every start compares
// them, so a node refuses a data dir and a database of two different
// authorities: nodes sharing a data dir but given different databases, a
// data dir moved to another database, a converge.db copied in from another
// data dir, one of the two restored from another authority's backup
// (docs/server.md, "Running several nodes" and "Backups").
#pragma once

#include <optional>
#include <string>

#include "base/fs.h"
#include "store/cas.h"
#include "store/db.h"

namespace converge {

fs::path AuthorityIdPath(const fs::path& data_dir);

// At start, once the database is migrated and before anything is written to
// it: gives the database its ID when it has none (in a write transaction,
// so nodes starting at once agree), then checks the data dir's, recording
// it on the data dir's first start (linked into place: the first of several
// nodes wins and the others compare with it). Errors: kConflict naming both
// IDs, the data dir and `db_description` when the two differ, or when the
// data dir records none and holds no object while the database records
// objects (a new, empty data dir given an authority's database); kCorrupt
// for a damaged DATA/authority-id; the database's and the file system's.
// Returns the ID.
Result<std::string> BindAuthority(const fs::path& data_dir, const ObjectStore& store, Db& db,
                                  const std::string& db_description);

// The database's ID, given to it now (as BindAuthority does) when it has none.
Result<std::string> DatabaseAuthorityId(Db& db);

// The check alone, writing nothing, for `serve --fsck` and `--repair`:
// kConflict as above when both have an ID and they differ (either having
// none yet is fine: the next start records it). (`--verify-audit` needs no
// more than its own check: another authority's log fails against the data
// dir's audit key.)
Status CheckSameAuthority(const fs::path& data_dir, Db& db, const std::string& db_description);

}  // namespace converge
