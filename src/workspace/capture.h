// Capture: walk the working tree and turn it into manifests and blobs.
//
// Regular files (with their exec bit), directories (empty ones too) and
// symlinks (never followed; the target is stored as is) are captured; FIFOs,
// sockets and devices are skipped with a warning. Paths matched by
// .convergeignore, and every .converge directory, are left out; any other
// entry named .converge (in any case: a symlink, a file) is left out with a
// warning, since no snap may hold that name (IsReservedName). Files whose
// stat fields match the stat cache are not read, nor are directories whose
// stat fields match (workspace/capture_walk.h); the others are read and
// hashed on all cores, large ones split into chunks. A directory whose
// entries come out exactly as the stat cache holds them gets the manifest ID
// cached for it, without encoding, hashing or storing it again
// (workspace/stat_cache.h). A directory nested more
// than kMaxTreeDepth levels deep (store/tree_depth.h) is refused (kInvalid,
// naming it) before anything is stored: no snap holds a tree that deep.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/hash.h"
#include "workspace/workspace.h"

namespace converge {

class StatCacheWriter;

struct CaptureStats {
  uint64_t files = 0, dirs = 0, symlinks = 0;
  uint64_t bytes = 0;       // total size of the files in the tree
  uint64_t files_read = 0;  // files whose content was read: stat cache misses
  uint64_t bytes_read = 0;
  uint64_t objects_written = 0;
  uint64_t manifests_reused = 0;  // directories whose manifest ID came from the stat cache
  uint64_t dirs_listed = 0;       // directories read (the others' names came from the stat cache)
  // The most directory entries held in memory at once (directories listed
  // whose manifests are not stored yet): the paths in progress, not the tree.
  uint64_t peak_entries_held = 0;
  std::vector<std::string> warnings;
};

struct CaptureOptions {
  // false: compute IDs only and store nothing (status, diff against the tree).
  // true: the caller holds the workspace lock.
  bool store = true;
  bool progress = false;
};

struct CapturedTree {
  ObjectId root;
  // The manifests made by this capture, kept in memory when nothing is
  // stored; a reused one is not here: a snap stored it (read it from the store).
  std::unordered_map<ObjectId, std::string> manifests;
  CaptureStats stats;
  // When storing and the stat cache changed: the new cache file, its bytes
  // mostly in unlinked temp files, for SaveCapturedStatCache to stream into
  // place once the snap naming this tree is recorded.
  std::shared_ptr<StatCacheWriter> stat_cache;
  bool stat_cache_from_table = false;  // the legacy table held the cache: empty it
};

Result<CapturedTree> CaptureTree(Workspace& ws, const CaptureOptions& opts);

// Writes `tree`'s new stat cache, if it has one. Called after the snap of
// `tree` is recorded, so that every object the cache names is under a
// recorded snap (a crash in between leaves the old cache, whose objects are
// under older snaps). A failure only costs the next snap re-reading files:
// it is returned as a warning to show, never an error. Needs the workspace lock.
std::optional<std::string> SaveCapturedStatCache(Workspace& ws, const CapturedTree& tree);

}  // namespace converge
