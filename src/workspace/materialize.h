// Writing snap content into the filesystem through directory file
// descriptors only. Every name is re-validated and resolved relative to an
// open directory (never a path with a '/'), every open refuses symlinks
// (O_NOFOLLOW), and files and symlinks are made under a temp name and renamed
// into place (or, inside a directory no one sees yet, created with O_EXCL), so
// a restore cannot be steered outside its target by a symlink that it or
// anyone else placed, and a reader never sees a half-written file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/fs.h"
#include "base/progress.h"
#include "store/tree.h"

namespace converge {

class FileQueue;
class WrittenFiles;

struct RestoreStats {
  uint64_t files = 0, dirs = 0, symlinks = 0, bytes = 0;  // the snap's tree
  uint64_t written = 0;                                   // files and symlinks written
  uint64_t removed = 0;                                   // paths removed from the tree
  std::vector<std::string> warnings;
};

// ValidateName again at the point of use: kCorrupt naming the path when `e`
// has a name no snap may hold.
Status CheckEntryName(const Entry& e, const std::string& display);

// Opens directory `name` in `dirfd`; fails (never follows) when it is a symlink.
Result<Fd> OpenDirAt(int dirfd, const std::string& name, const std::string& display);
// Makes directory `name` in `dirfd` (0777 & ~umask) and opens it.
Result<Fd> MakeDirAt(int dirfd, const std::string& name, const std::string& display);
// Names in directory `dirfd`, without "." and "..".
Result<std::vector<std::string>> ListDirAt(int dirfd, const std::string& display);
// Removes `name` from `dirfd` and, for a directory, everything under it,
// never following a symlink. Adds the number of paths removed to `*removed`.
// Refuses (kConflict) to remove a .converge directory: that is a workspace.
// Iterative, with one directory open at a time (DirCursor): any depth works,
// a restore leftover of 30,000 nested directories included.
Status RemoveAllAt(int dirfd, const std::string& name, const std::string& display,
                   uint64_t* removed);

// Writes the file entry `e` as e.name in `dirfd`, replacing a file or symlink
// there atomically. The content (a blob, or the blobs of a chunk list) is
// verified while it streams and must add up to e.size; on any failure the
// temp file is removed and nothing is replaced. Mode 0777 or 0666 & ~umask.
// kCreate instead makes the file under its own name (it must not exist): for
// a directory no one else can see yet, where a rename would only cost a
// second directory update per file (restore --to's staging directory).
// `written`, when given, gets the file's stat fields once it is in place,
// taken on the descriptor it was written through (workspace/restore_cache.h).
enum class WriteMode { kReplace, kCreate };
Status WriteFileAt(const TreeReader& reader, int dirfd, const Entry& e, const std::string& display,
                   WriteMode mode = WriteMode::kReplace, WrittenFiles* written = nullptr);
// Makes the symlink entry `e` as e.name in `dirfd`, replacing a file or
// symlink; kCreate as for WriteFileAt.
Status WriteSymlinkAt(int dirfd, const Entry& e, const std::string& display,
                      WriteMode mode = WriteMode::kReplace);

// Checks that every object a file entry needs is in the store with the size
// its manifest or chunk list says, and intact (re-hashed): catches a missing
// or damaged blob before anything is changed. kPresent leaves out re-hashing
// the blobs, for a file whose write cannot change anything when it fails (it
// goes into a staging directory): writing re-hashes them anyway.
enum class ObjectCheck { kIntact, kPresent };
Status CheckFileObjects(const TreeReader& reader, const Entry& e, const std::string& display,
                        ObjectCheck how = ObjectCheck::kIntact);

// Writes whole manifests into empty directories: depth first with an
// explicit stack and one directory open at a time (workspace/dir_cursor.h),
// so neither the call stack nor the descriptors grow with the depth. It stops
// (kCorrupt) past kMaxTreeDepth, having written what came before: callers
// measure the whole tree first (TreeDepth) so that it never gets that far.
// `mode` kCreate makes files and symlinks under their own names: for
// directories no one else sees yet (a staging directory).
class Materializer {
 public:
  Materializer(const TreeReader& reader, FileQueue& queue, RestoreStats& stats, WriteMode mode)
      : reader_(reader), queue_(queue), stats_(stats), mode_(mode) {}
  // Fills the empty directory `dir` (at `rel`, "" for the target's root) with
  // manifest `id`, counting what it writes in the stats. File writes may still
  // be queued when this returns: flush the queue.
  Status Fill(const std::shared_ptr<Fd>& dir, const std::string& rel, const ObjectId& id);

 private:
  const TreeReader& reader_;
  FileQueue& queue_;
  RestoreStats& stats_;
  WriteMode mode_;
};

// "a/b" from "a" and "b"; "b" when `dir` is empty.
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace converge
