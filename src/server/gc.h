// `converge gc --data-dir DIR [--db URL]`: store/gc.h's collection on a
// server's data dir, with the server's roots read from its database (SQLite
// or the PostgreSQL of `serve --db`, as the servers themselves find it).
// Kept, whatever its age:
//
//   - every object an `objects` row records, and every object a repo's
//     membership rows (`repo_objects`) name: what a repo holds is what the
//     server serves and what uploads are checked against;
//   - everything under the snap of every publication, followed through the
//     store (a publication whose snap a repair made its repo stop holding
//     still needs its tree, to be whole again once the snap is uploaded);
//
// and, through the grace period, every file written since the cutoff: an
// upload stores its objects (a pack, or a loose file) before its membership
// rows commit, always writing a new file (never counting on a copy already
// there), so an object whose rows commit after the database was read is in a
// file younger than the cutoff unless that upload took longer than the grace
// period between storing and committing (at most seconds: the database wait
// of a node, DbPool::kLeaseWait).
//
// It only reads the database (one read transaction; no audit row, no
// migration: OpenForCheck), so it runs beside running servers and nodes.
// It refuses (removing nothing) a database that is not this data dir's: its
// audit head must be signed by the data dir's audit key (a wrong --db or an
// empty database would make everything look unreferenced); without --db
// while nodes on PostgreSQL hold the data dir (the data dir's old
// converge.db of an imported server is not theirs); and a grace period
// under kMinGraceBesideServer while a server on this host holds the data
// dir.
#pragma once

#include <cstdint>
#include <string>

#include "base/fs.h"
#include "store/gc.h"

namespace converge {

inline constexpr int64_t kMinGraceBesideServer = 600;

struct DataDirGcReport {
  uint64_t object_rows = 0;  // `objects` rows
  uint64_t held_rows = 0;    // `repo_objects` rows
  uint64_t repos = 0;
  uint64_t publications = 0;
  GcStats stats;
};

// `db`: the database setting (ServerConfig::db). Errors: kNotFound when
// `dir` is not a data dir; kConflict for a database that is not the data
// dir's or nodes without --db (above); kInvalid for a grace period too
// short beside a server; kCorrupt (removing nothing) for a malformed row or
// a publication whose tree cannot be read whole; those of CollectGarbage.
// `all`: GcOptions::rewrite_all.
Result<DataDirGcReport> CollectDataDirGarbage(const fs::path& dir, const std::string& db,
                                              int64_t grace_seconds, bool dry_run,
                                              bool all = false);

}  // namespace converge
