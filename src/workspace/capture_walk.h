// The walk behind CaptureTree (workspace/capture.h): lists the working tree
// breadth first, the directories of each level on all cores, into one
// unsorted manifest per directory, with the stat cache's answers filled in
// and the files it cannot vouch for left as jobs to read. Internal to
// capture; nothing else includes it.
//
// A directory whose own stat fields match the stat cache's record of it (not
// racy, and no entry of it was skipped with a warning) is not read again:
// adding, removing or renaming an entry changes a directory's mtime and
// ctime, so its names are the cached ones. Each is still looked at (fstatat)
// as if listed; only the getdents calls go. A directory is racy, like a file,
// when it changed at or after the capture began (`fs_now_ns`). Only
// directories on the filesystem that holds .converge, and only when a probe
// there showed that making an entry moves its directory's mtime (POSIX; not
// every FUSE filesystem does), are trusted so: any other is always listed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/objects.h"
#include "workspace/capture.h"
#include "workspace/ignore.h"
#include "workspace/stat_cache.h"

namespace converge {

struct CaptureDir {
  std::string rel;  // "" for the root
  int parent = -1;
  size_t slot = 0;  // this directory's entry in its parent
  Manifest manifest;
  // Beside manifest.entries, one per entry: a file's stat fields and
  // content ID (what the next stat cache holds for it), empty for others.
  std::vector<StatEntry> stats;
  uint64_t level = 0;   // directories above it, below the root
  int cached = -1;      // this directory in the stat cache
  StatEntry stat;       // its own stat fields, racy when it changed during the capture
  bool warned = false;  // an entry was skipped with a warning: always list it
  ObjectId id;          // its manifest, once built
};

struct CaptureJob {
  int dir;
  size_t slot;
  std::string rel;
};

struct WalkOptions {
  int root_fd = -1;
  const IgnoreRules* rules = nullptr;
  const StatCache* cache = nullptr;
  // The cache's directories were captured under these same ignore rules:
  // their listings may stand in for reading them.
  bool same_rules = false;
  int64_t fs_now_ns = 0;  // the filesystem's clock when the capture began
  // The filesystem whose directories' stat may stand in for listing them
  // (none when unset).
  std::optional<dev_t> listing_dev;
};

// Fills `dirs` (the root first, then breadth first: a level's directories
// after all of the level above, so `level` never decreases) and `jobs`; counts and warnings go
// to `stats`. Errors: as CaptureTree's (kIo, kPermission, kInvalid names).
Status WalkWorkingTree(const WalkOptions& opts, std::vector<CaptureDir>& dirs,
                       std::vector<CaptureJob>& jobs, CaptureStats& stats);

}  // namespace converge
