// The listing behind CaptureTree (workspace/capture.h): one directory at a
// time, into an unsorted manifest, with the stat cache's answers filled in
// and the files it cannot vouch for left to read. capture.cpp runs these
// listings and the reads on all cores, depth first, and stores each
// directory's manifest as soon as its subtree is done, so that only the
// directories in progress are in memory. Internal to capture; nothing else
// includes it.
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

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/fs.h"
#include "store/objects.h"
#include "workspace/capture.h"
#include "workspace/ignore.h"
#include "workspace/stat_cache.h"

namespace converge {

// A directory being captured: made when its parent is listed, freed once
// its manifest is stored and its parent holds the ID.
struct CaptureDir {
  std::string rel;                     // "" for the root
  std::shared_ptr<CaptureDir> parent;  // null for the root
  size_t slot = 0;                     // this directory's entry in its parent's (unsorted) entries
  Manifest manifest;
  // Beside manifest.entries, one per entry: a file's stat fields and
  // content ID (what the next stat cache holds for it), empty for others.
  std::vector<StatEntry> stats;
  uint64_t level = 0;   // directories above it, below the root
  int cached = -1;      // this directory in the stat cache
  StatEntry stat;       // its own stat fields, racy when it changed during the capture
  bool warned = false;  // an entry was skipped with a warning: always list it
  // Listed, or a file of it read: not as the stat cache holds it.
  bool fresh = false;
  ObjectId id;          // its manifest, once built
  // Open while files of it are left to read (they are opened relative to it).
  Fd fd;
  std::atomic<size_t> reads_left{0};
  // Its listing, files left to read and subdirectories not yet stored: at
  // zero, its manifest can be built.
  std::atomic<size_t> pending{1};
};

// What listing one directory leaves to do.
struct Listing {
  std::vector<std::shared_ptr<CaptureDir>> subdirs;
  std::vector<size_t> reads;  // entries (files) to read: the cache could not vouch for them
  CaptureStats stats;         // files, dirs, symlinks, bytes, dirs_listed and warnings
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

// The filesystem's own clock now (a fresh file's mtime): with it, "modified
// within this capture's timestamp granule" is decided in the filesystem's
// granularity, whatever it is. And whether that filesystem moves a
// directory's mtime when an entry is made in it (POSIX says it must; some
// FUSE filesystems do not): only then may a directory's stat stand in for
// listing it.
struct FilesystemClock {
  int64_t now_ns = 0;
  dev_t dev = 0;
  bool dir_mtime_moves = false;
};

// Probes with a file made and removed in `tmpdir` (.converge/tmp).
Result<FilesystemClock> ProbeFilesystem(const fs::path& tmpdir);

// Lists `d` (its rel, parent, slot and level set) into its manifest and
// stats; keeps its descriptor in d.fd when files are left to read. Errors:
// as CaptureTree's (kIo, kPermission, kInvalid names).
Status ListCaptureDir(const WalkOptions& opts, const std::shared_ptr<CaptureDir>& d, Listing& out);

}  // namespace converge
