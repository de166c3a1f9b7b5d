// The stat cache, as git's index: for each file captured before, the stat
// fields and the ID its content had. A file whose (size, mtime ns, ctime ns,
// inode, mode) are unchanged is not read again. An entry recorded "racy" (the
// file changed within the filesystem's timestamp granule of being hashed, so a
// later same-granule write would leave mtime unchanged) is always re-read.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
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

class StatCache {
 public:
  // Loads every entry, keyed by workspace-relative '/'-separated path.
  static Result<StatCache> Load(Db& db);

  const StatEntry* Find(const std::string& path) const;
  // Marks `path` as still present with its cached entry unchanged.
  void Keep(const std::string& path) { seen_.insert(path); }
  // Records a new or changed entry for `path`.
  void Put(const std::string& path, const StatEntry& e);
  // In one transaction: writes the entries Put since Load and drops those of
  // paths neither Put nor Kept (files that are gone).
  Status Save(Db& db);

 private:
  std::unordered_map<std::string, StatEntry> entries_;
  std::unordered_map<std::string, StatEntry> changed_;
  std::unordered_set<std::string> seen_;
};

}  // namespace converge
