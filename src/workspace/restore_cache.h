// The stat cache an in-place restore leaves behind, as git's checkout writes
// its index: without it, every file the restore wrote has new stat fields,
// and the next snap would read and hash them all (a cold snap's work after
// `init`, `fetch` and `restore`).
//
// Soundness rests on what the restore itself saw. Each file it writes is
// recorded (WrittenFiles) with the stat fields it had once in place, taken
// on the restore's own descriptor; after the restore, a walk of the restored
// snap's tree stats each file again and takes the snap's ID for it only when
// the fields are still those recorded, or when the old cache vouched for the
// same ID under the same fields (a file the restore left alone). Any other
// file is recorded racy, so the next snap reads it. A write by another
// program after the restore's changes ctime (and mostly mtime and size),
// so it does not match; the one write it cannot see is one in the same tick
// of the filesystem's clock as the restore's own write of that file, with
// the same size: git's index after a checkout has the same blind spot, and
// every other converge command waits for the workspace lock meanwhile.
//
// Directories are recorded racy (listed by the next snap, never trusted by
// their stat): the walk reads the snap's names, not the directory's, so a
// name that appeared meanwhile could otherwise be missed. Each directory
// gets the snap's manifest ID: the next snap reuses it only when the
// entries it lists and reads come out the same (workspace/stat_cache.h).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/hash.h"
#include "workspace/snapshot.h"
#include "workspace/workspace.h"

namespace converge {

// The stat fields of files a restore wrote, as 8-byte keyed hashes
// (SipHash, a random key per restore): 8 bytes a file, so a million files
// cost 8 MB. Add is safe from many threads; Has only after Seal.
class WrittenFiles {
 public:
  WrittenFiles();
  void Add(const struct stat& st);
  void Seal();
  bool Has(const struct stat& st) const;

 private:
  uint64_t Key(const struct stat& st) const;

  unsigned char key_[16];
  std::mutex mu_;
  std::vector<uint64_t> keys_;
};

class StatCacheWriter;

// What the walk after a restore found: the snap's tree counted, and the stat
// cache for it (null when it could not be made: `warnings` says why).
struct RestoredTree {
  TreeSummary summary;
  uint64_t trusted = 0;  // files the next snap need not read
  uint64_t filled = 0;   // filling: files and symlinks written
  std::shared_ptr<StatCacheWriter> cache;
  bool cache_from_table = false;  // the legacy table held the old cache: empty it
  std::vector<std::string> warnings;
};

// Walks snap tree `root`, just restored in place into `ws` (every file the
// restore wrote recorded in `written`, sealed): counts its entries and makes
// the stat cache for it, streamed to temp files. Only a manifest that cannot
// be read is an error (kNotFound, kCorrupt, as Summarize's); a problem with
// the cache (the tree changed meanwhile, no room for its temp files) is a
// warning: the next snap reads more. `fill`: the tree was only begun (a
// clone's, client/clone_writer.h): the walk also writes every directory,
// file and symlink of the snap that it lacks or holds other than `written`
// says (files from the store, re-hashed, as restore writes them), and a
// problem with the tree on disk is an error.
Result<RestoredTree> WalkRestoredTree(Workspace& ws, const ObjectId& root,
                                      const WrittenFiles& written, bool fill = false);

// Puts the walk's cache in place (temp file, fsync, rename). Call once the
// restored snap is the head, so that every ID in the cache is under a
// recorded snap. A failure is a warning to show, as SaveCapturedStatCache's.
std::optional<std::string> SaveRestoredStatCache(Workspace& ws, const RestoredTree& tree);

}  // namespace converge
