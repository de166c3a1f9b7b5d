// Making an existing directory tree match a snap's tree, for an in-place
// restore. What capture saw a moment ago (the "have" manifests) says which
// paths converge owns: those the snap lacks are removed, those that differ are
// rewritten, identical ones are left alone. Anything else on disk (ignored
// paths, FIFOs, .converge directories) is not converge's, and stays.
//
// A TreeSync runs over the same tree in three steps: a check pass that
// changes nothing (it finds uncaptured content the restore would destroy,
// checks that every object needed is in the store, and counts the work); a
// build step (BuildNew) that makes the directories the tree lacks under
// staging names beside them and changes nothing else; the apply pass (Sync
// with a queue) that makes every other change; then Finish renames the staged
// directories into place. A directory the tree lacks so appears whole, and a
// failure while building one changes nothing, which is why the check pass
// does not re-hash the objects of its files (writing them re-hashes them).
#pragma once

#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "workspace/file_queue.h"
#include "workspace/materialize.h"

namespace converge {

class DirCursor;

class TreeSync {
 public:
  // `queue` null: the check pass. `force`: destroying uncaptured content is
  // fine (the check pass then does not look for it).
  TreeSync(const TreeReader& reader, FileQueue* queue, bool force)
      : reader_(reader), queue_(queue), force_(force), check_batch_(kCheckBatch) {}

  // Files whose objects the check pass verifies together.
  static constexpr size_t kCheckBatch = 4096;

  // Makes directory `dir` (at workspace path `rel`) match manifest `want`;
  // `have` is the manifest capture saw there, if it captured the directory.
  // Every walk (the sync itself, pruning, looking for uncaptured content in
  // the way) goes depth first with an explicit stack and one directory open
  // at a time; the snap's tree stops at kMaxTreeDepth (restore measures it
  // before either pass), what is on disk may be of any depth.
  Status Sync(const std::shared_ptr<Fd>& dir, const std::string& rel, const ObjectId& want,
              const std::optional<ObjectId>& have);
  // The build step, on the apply pass's TreeSync before its Sync: builds the
  // directories the snap has and the tree lacks (the first kMaxStaged met;
  // Sync builds any more in place) under staging names, their files made in
  // place (no temp name and rename each). Flush the queue after it.
  Status BuildNew(const std::shared_ptr<Fd>& dir, const std::string& rel, const ObjectId& want,
                  const std::optional<ObjectId>& have);
  // After the last step and the queue's last Flush, with their outcome `st`:
  // renames the staged directories into place when `st` is ok, removes them
  // otherwise (or when one cannot be placed). Returns `st` or that failure.
  Status Finish(Status st);

  // Check pass: uncaptured paths the apply pass would destroy (the first few)
  // and how many there are in all.
  const std::vector<std::string>& clobbered() const { return clobbered_; }
  uint64_t clobbered_count() const { return clobbered_count_; }
  // Check pass, after Sync: that every object the files to write need is in
  // the store, of the right size and intact (CheckFileObjects, on all cores).
  // Sync checks the files it meets in batches of `check_batch` (so memory
  // stays bounded however many files the tree has) and keeps the first
  // failure without returning it, so that the clobber check is reported
  // first; after a failure, nothing more is checked. This checks the last
  // batch and returns that first failure.
  Status CheckObjects();
  // For tests: the number of files checked together (kCheckBatch by default).
  void set_check_batch(size_t n) { check_batch_ = n > 0 ? n : 1; }
  // Check pass: how many batches were checked (for tests).
  size_t check_batches() const { return check_batches_; }
  // Check pass: the files the apply pass will write and their bytes.
  uint64_t files_to_write() const { return files_to_write_; }
  uint64_t bytes_to_write() const { return bytes_to_write_; }
  // Apply pass: symlinks and files written (with the queue's), paths removed.
  const RestoreStats& stats() const { return stats_; }

 private:
  struct Slot;
  struct Frame;
  struct Descend;
  // A new directory built under a staging name in `parent`.
  struct Staged {
    std::shared_ptr<Fd> parent;
    std::string temp, name, path;
  };
  // New directories built aside, at most: each holds its parent open until
  // Finish.
  static constexpr size_t kMaxStaged = 64;
  bool IsStaged(const std::string& name) const;
  struct ToCheck {
    Entry entry;
    std::string path;
    ObjectCheck how;
  };
  bool apply() const { return queue_ != nullptr; }
  Result<std::unique_ptr<Frame>> OpenFrame(const DirCursor& at, const std::string& rel,
                                           const ObjectId& want_id,
                                           const std::optional<ObjectId>& have_id);
  // Syncs one name; for a directory both sides have, sets `down` instead.
  Status SyncEntry(const std::shared_ptr<Fd>& dir, const std::string& name, const std::string& path,
                   const Slot& s, std::optional<Descend>* down);
  Status WriteLeaf(const std::shared_ptr<Fd>& dir, const std::string& path, const Entry& want);
  Status NewDir(const std::shared_ptr<Fd>& dir, const std::string& path, const Entry& want);
  Status Prune(int dirfd, const std::string& name, const std::string& path, const Entry& have,
               const struct stat& st);
  Status RemoveIfEmpty(int dirfd, const std::string& name, const std::string& path);
  Status Clear(int dirfd, const std::string& name, const std::string& path, const Entry* have,
               const struct stat& st);
  Status FindUncaptured(int dirfd, const std::string& name, const std::string& path,
                        const Entry* have, const struct stat& st);
  Result<bool> SameAsWanted(int dirfd, const std::string& name, const std::string& path,
                            const Entry& want, const struct stat& st);
  void Clobber(const std::string& path);
  // Check pass: queues a file entry for CheckObjects, checking a full batch.
  void QueueCheck(const Entry& e, std::string path, ObjectCheck how);
  void CheckQueued();
  void Clobber(const DirCursor& at, const std::string& name);

  const TreeReader& reader_;
  FileQueue* queue_;
  bool force_;
  std::vector<std::string> clobbered_;
  uint64_t clobbered_count_ = 0;
  uint64_t files_to_write_ = 0, bytes_to_write_ = 0;
  std::vector<ToCheck> to_check_;
  size_t check_batch_;
  size_t check_batches_ = 0;
  Status check_status_;  // the first failure of a checked batch
  RestoreStats stats_;
  bool building_ = false;  // in BuildNew
  size_t new_dirs_ = 0;    // directories the tree lacks, met so far in this walk
  std::vector<Staged> staged_;
};

}  // namespace converge
