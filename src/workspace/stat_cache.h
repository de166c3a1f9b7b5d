// The stat cache, as git's index: for each file captured before, the stat
// fields and the ID its content had. A file whose (size, mtime ns, ctime ns,
// inode, mode) are unchanged is not read again. An entry recorded "racy" (the
// file changed within the filesystem's timestamp granule of being hashed, so a
// later same-granule write would leave mtime unchanged) is always re-read.
// The only file with SQL against the workspace's `stat_cache` table
// (store/schema.cpp); the static methods take a Db, as does Save.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/db.h"
#include "store/hash.h"

namespace converge {

struct StatEntry {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t ino = 0;
  uint32_t mode = 0;
  ObjectId id;
  bool chunked = false;
  bool racy = false;

  // True when the stat fields match and the entry can be trusted.
  bool Matches(const StatEntry& now) const {
    return !racy && size == now.size && mtime_ns == now.mtime_ns && ctime_ns == now.ctime_ns &&
           ino == now.ino && mode == now.mode;
  }
};

// One stat cache row as stored, its ID unchecked: fsck reports a malformed
// one, where Load skips it.
struct StatCacheRow {
  std::string path;
  std::string id_hex;
  bool chunked = false;
};

class StatCache {
 public:
  // Every row, unchecked, in the table's order (for fsck). Errors: the
  // database's.
  static Result<std::vector<StatCacheRow>> ListRows(Db& db);
  // Drops the entries of `paths` in one write transaction (waiting for the
  // write lock up to the busy timeout); a database error drops none.
  static Status Drop(Db& db, const std::vector<std::string>& paths);

  // Loads every entry, keyed by workspace-relative '/'-separated path; a row
  // with a malformed ID is skipped (it costs a re-read). Errors: the database's.
  static Result<StatCache> Load(Db& db);

  const StatEntry* Find(const std::string& path) const;
  // The cached entry of `path` if it matches `now`, which also marks the
  // path kept as cached; null otherwise. One lookup: the capture walk calls
  // this once per file, from several threads at once (for distinct paths).
  const StatEntry* Reuse(const std::string& path, const StatEntry& now);
  // Records a new or changed entry for `path` (one thread only).
  void Put(const std::string& path, const StatEntry& e);
  // In one transaction: writes the entries Put since Load and drops those of
  // paths neither Put nor reused (files that are gone). Errors: the
  // database's (then nothing is written and the Puts stay pending).
  Status Save(Db& db);

 private:
  struct Slot {
    StatEntry entry;
    bool seen = false;
  };
  std::unordered_map<std::string, Slot> entries_;
  std::unordered_map<std::string, StatEntry> changed_;
};

}  // namespace converge
