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
// naming it) and nothing is stored: the snap's objects are in a write batch
// that is never committed, and no snap holds a tree that deep.
//
// Memory: the tree is captured and stored directory by directory, depth
// first (post-order: a directory's manifest once its files are read and its
// subdirectories stored), and a directory's entries are freed once its
// manifest is stored. So a capture holds the directories on the paths in
// progress and the names of those still to list, not the tree: flat in the
// number of files for a tree of bounded width (CaptureStats::
// peak_entries_held). A directory's own entries are always held whole (its
// manifest is one object). The next stat cache goes to temp files as it is
// made (workspace/stat_cache.h); only its directory records (about 100 bytes
// a directory) stay in memory until it is written. status and diff (nothing
// stored) keep every manifest they make, for the comparison.
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
  // Files read and directories listed that a new stat cache would let the
  // next capture trust (they came out neither racy nor warned about).
  uint64_t cache_fixable = 0;
  // The most directory entries held in memory at once (directories listed
  // whose manifests are not stored yet): the paths in progress, not the tree.
  uint64_t peak_entries_held = 0;
  std::vector<std::string> warnings;
};

struct CaptureOptions {
  // false: compute IDs only and store nothing (status, diff against the tree).
  // true: the caller holds the workspace lock.
  bool store = true;
  // Without storing, only to make the next stat cache (CapturedTree::
  // stat_cache; RefreshStatCache): keeps no manifests.
  bool refresh_cache = false;
  bool progress = false;
  // New objects per write batch: each is committed as it fills (its index
  // is what a batch holds in memory, about 200 bytes an object).
  uint64_t objects_per_batch = uint64_t{1} << 16;
};

struct CapturedTree {
  ObjectId root;
  // The manifests made by this capture, kept in memory when nothing is
  // stored; a reused one is not here: a snap stored it (read it from the store).
  std::unordered_map<ObjectId, std::string> manifests;
  CaptureStats stats;
  // When storing (or refresh_cache) and the stat cache changed: the new
  // cache file, its bytes mostly in unlinked temp files, for
  // SaveCapturedStatCache to stream into place once the snap naming this
  // tree is recorded.
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

// After a capture that stored nothing (status, diff) and read or listed
// what a new stat cache would vouch for (CaptureStats::cache_fixable): when
// the tree is the head snap's (whose objects then hold every ID a new cache
// names) and the workspace lock is free at once (status and diff never
// wait), captures again under the lock and puts the new cache in place. So
// files touched, copied or rewritten unchanged by another tool are read by
// one status, not by every status until the next snap (git's status
// refreshes its index the same way); an up-to-date cache costs nothing.
// `command` names the lock's holder. Returns whether it did; anything else
// leaves the old cache, silently: it is a cache.
bool RefreshStatCache(Workspace& ws, const CapturedTree& looked, const std::string& command);

}  // namespace converge
