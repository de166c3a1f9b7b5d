#include "workspace/restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>

#include "base/progress.h"
#include "base/text.h"
#include "store/tree_depth.h"
#include "workspace/capture.h"
#include "workspace/file_queue.h"
#include "workspace/restore_cache.h"
#include "workspace/snap_index.h"
#include "workspace/snapshot.h"
#include "workspace/tree_sync.h"

namespace converge {

namespace {

constexpr size_t kChangesListed = 3;

std::string ShortSnapId(const ObjectId& id) {
  return id.hex().substr(0, 12);
}

// The whole tree is measured before anything is written: a tree deeper than
// kMaxTreeDepth is refused with the working tree untouched.
Status CheckRestorable(const TreeReader& reader, const ObjectId& id, const Snap& snap) {
  Status st = TreeDepth(reader).Check(snap.root, "snap " + ShortSnapId(id));
  if (st.ok()) return st;
  return Status(st.code(), st.message() + "; nothing was restored");
}

// A full disk is the likeliest failure once writing has begun: refuse up
// front when the files to write do not fit (quotas and other writers can
// still fill it meanwhile).
Status CheckFreeSpace(int dirfd, uint64_t bytes, const ObjectId& snap) {
  struct statvfs vfs;
  if (::fstatvfs(dirfd, &vfs) != 0) return Status::Ok();  // unknown: writing will tell
  uint64_t free = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (bytes <= free) return Status::Ok();
  return IoError("restoring snap " + ShortSnapId(snap) + " writes " + HumanBytes(bytes) +
                 " but the disk holding the working tree has " + HumanBytes(free) +
                 " free: free some space and run it again (nothing was changed)");
}

// `dir` may be restored into: it does not exist, or is an empty directory
// (not a symlink to one: restore never writes through a symlink).
Status CheckTargetFree(int parentfd, const std::string& name, const std::string& display) {
  struct stat st;
  if (::fstatat(parentfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoStatus("cannot check " + Quote(display), errno);
  }
  std::string hint = ": restore into a new or empty directory, or in place without --to";
  if (S_ISLNK(st.st_mode)) return Conflict(Quote(display) + " is a symlink" + hint);
  if (!S_ISDIR(st.st_mode))
    return Conflict(Quote(display) + " exists and is not a directory" + hint);
  ASSIGN_OR_RETURN(Fd dir, OpenDirAt(parentfd, name, display));
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(dir.get(), display));
  if (!names.empty()) return Conflict(Quote(display) + " is not empty" + hint);
  return Status::Ok();
}

// Builds the whole tree `root` in the empty directory `dir`.
Status MaterializeInto(const TreeReader& reader, std::shared_ptr<Fd> dir, const ObjectId& root,
                       bool progress, RestoreStats& stats) {
  Progress meter("Restoring", 0, 0, progress);
  // `dir` is restore --to's staging directory: nothing else writes or reads
  // there until it is renamed into place whole.
  FileQueue queue(reader, &meter);
  Materializer m(reader, queue, stats, WriteMode::kCreate);
  Status st = queue.FlushOrCancel(m.Fill(dir, "", root));
  meter.Done();
  stats.written += queue.written();
  return st;
}

// Refuses when the working tree (`work`) differs from the head snap, or holds
// anything at all when there is no head: that content is in no snap.
Status CheckNoUncapturedWork(Workspace& ws, CapturedTree& work, const ObjectId& snap) {
  ASSIGN_OR_RETURN(std::optional<ObjectId> head, SnapIndex(ws.db()).Head());
  std::string empty = EncodeManifest(Manifest{});
  ObjectId base = ObjectId::Of(empty);
  work.manifests.emplace(base, empty);
  TreeReader reader(ws.store(), &work.manifests);
  if (head) {
    Result<Snap> s = reader.ReadSnap(*head);
    if (!s.ok())
      return s.status().With("cannot read the head snap to look for uncaptured changes (use " +
                             std::string("--force to restore anyway)"));
    base = s->root;
  }
  if (work.root == base) return Status::Ok();
  ASSIGN_OR_RETURN(std::vector<Change> changes, DiffTrees(reader, base, work.root));
  std::string list;
  for (size_t i = 0; i < changes.size() && i < kChangesListed; i++)
    list += (i ? ", " : "") + std::string(1, changes[i].change) + " " + changes[i].path;
  if (changes.size() > kChangesListed)
    list += ", and " + std::to_string(changes.size() - kChangesListed) + " more";
  return Conflict("the working tree has changes that no snap holds" +
                  (list.empty() ? std::string() : " (" + list + ")") +
                  ": run 'converge snap' to keep them, or 'converge restore --force " +
                  ShortSnapId(snap) + "' to discard them");
}

// The end of an in-place restore: the tree's counts in `stats`, `snap_id`
// the head, and the stat cache of the walk after the writes (`restored`,
// when there was one) saved, with its warnings.
Status Conclude(Workspace& ws, const ObjectId& snap_id, const TreeSummary& sum,
                RestoredTree* restored, RestoreStats& stats) {
  stats.files = sum.files;
  stats.dirs = sum.dirs;
  stats.symlinks = sum.symlinks;
  stats.bytes = sum.bytes;
  RETURN_IF_ERROR(SnapIndex(ws.db()).SetHead(snap_id));
  if (!restored) return Status::Ok();
  for (std::string& w : restored->warnings) stats.warnings.push_back(std::move(w));
  if (std::optional<std::string> w = SaveRestoredStatCache(ws, *restored))
    stats.warnings.push_back(std::move(*w));
  return Status::Ok();
}

std::string ClobberMessage(const TreeSync& check, const ObjectId& snap) {
  std::string list;
  for (const std::string& p : check.clobbered()) list += (list.empty() ? "" : ", ") + Quote(p);
  if (check.clobbered_count() > check.clobbered().size())
    list += ", and " + std::to_string(check.clobbered_count() - check.clobbered().size()) + " more";
  return "restoring snap " + ShortSnapId(snap) + " would overwrite or remove paths that no snap " +
         "holds (ignored or new: " + list + "): move them away, or run 'converge restore " +
         "--force " + ShortSnapId(snap) + "' to discard them";
}

}  // namespace

Result<RestoreStats> RestoreTo(Workspace& ws, const ObjectId& snap_id, const fs::path& dir,
                               bool progress) {
  TreeReader reader(ws.store());
  ASSIGN_OR_RETURN(Snap snap, reader.ReadSnap(snap_id));
  // No measuring first: the materializer stops at the depth limit, and the
  // staging directory goes as on any failure.
  std::string display = dir.string();
  fs::path target = fs::absolute(dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // "out/"
  std::string name = target.filename().string();
  if (name.empty() || name == "." || name == ".." || target == target.root_path())
    return Invalid("cannot restore into " + Quote(display) + ": name a new or empty directory");
  RETURN_IF_ERROR(MakeDirs(target.parent_path()));
  // The parent's own path may hold symlinks: it is the user's, above the target.
  int pfd = ::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0) return ErrnoStatus("cannot open " + Quote(target.parent_path().string()), errno);
  Fd parent(pfd);
  RETURN_IF_ERROR(CheckTargetFree(pfd, name, display));

  std::string staging = TempName(Workspace::kRestoreTempPrefix);
  ASSIGN_OR_RETURN(Fd staged, MakeDirAt(pfd, staging, staging));
  RestoreStats stats;
  Status st =
      MaterializeInto(reader, std::make_shared<Fd>(std::move(staged)), snap.root, progress, stats);
  // rename(2) replaces an empty directory and fails on anything else: a DIR
  // filled or made a symlink meanwhile is never overwritten.
  if (st.ok() && ::renameat(pfd, staging.c_str(), pfd, name.c_str()) != 0) {
    int err = errno;
    st = (err == ENOTEMPTY || err == EEXIST || err == ENOTDIR || err == EISDIR)
             ? Conflict(Quote(display) + " was filled while the snap was being restored")
             : ErrnoStatus("cannot rename the restored tree to " + Quote(display), err);
  }
  if (!st.ok()) {
    uint64_t removed = 0;
    Status cleanup = RemoveAllAt(pfd, staging, (target.parent_path() / staging).string(), &removed);
    std::string note = cleanup.ok() ? "; nothing was restored into " + Quote(display)
                                    : "; also failed to clean up: " + cleanup.message();
    return Status(st.code(), st.message() + note);
  }
  return stats;
}

Result<RestoreStats> RestoreInPlace(Workspace& ws, const ObjectId& snap_id, bool force,
                                    bool progress) {
  TreeReader snap_reader(ws.store());
  ASSIGN_OR_RETURN(Snap snap, snap_reader.ReadSnap(snap_id));
  RETURN_IF_ERROR(CheckRestorable(snap_reader, snap_id, snap));
  CaptureOptions opts;
  opts.store = false;
  opts.progress = progress;
  ASSIGN_OR_RETURN(CapturedTree work, CaptureTree(ws, opts));
  RestoreStats stats;
  std::optional<RestoredTree> restored;
  if (work.root != snap.root) {
    if (!force) RETURN_IF_ERROR(CheckNoUncapturedWork(ws, work, snap_id));
    int fd = ::open(ws.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("cannot open " + Quote(ws.root().string()), errno);
    auto root = std::make_shared<Fd>(fd);
    TreeReader reader(ws.store(), &work.manifests);

    // Check first: refusing half-way would leave a mixed tree.
    TreeSync check(reader, nullptr, force);
    RETURN_IF_ERROR(check.Sync(root, "", snap.root, work.root));
    if (check.clobbered_count() > 0) return Conflict(ClobberMessage(check, snap_id));
    RETURN_IF_ERROR(check.CheckObjects());
    RETURN_IF_ERROR(CheckFreeSpace(fd, check.bytes_to_write(), snap_id));

    Progress meter("Restoring", check.files_to_write(), check.bytes_to_write(), progress);
    WrittenFiles written;
    FileQueue queue(reader, &meter, &written);
    TreeSync sync(reader, &queue, force);
    // New directories first, aside: a failure there changes nothing.
    Status st = sync.BuildNew(root, "", snap.root, work.root);
    st = queue.FlushOrCancel(st);
    if (!st.ok()) {
      st = sync.Finish(st);
      meter.Done();
      return Status(st.code(), st.message() + "; nothing was restored");
    }
    st = sync.Sync(root, "", snap.root, work.root);
    st = queue.FlushOrCancel(st);
    st = sync.Finish(st);
    meter.Done();
    if (!st.ok())
      return Status(st.code(), st.message() + "; the working tree is partly restored: fix " +
                                   "that and run 'converge restore --force " +
                                   ShortSnapId(snap_id) + "' again");
    stats = sync.stats();
    stats.written += queue.written();
    written.Seal();
    ASSIGN_OR_RETURN(restored, WalkRestoredTree(ws, snap.root, written));
  }
  // The walk counted the tree; an unchanged tree still needs counting.
  TreeSummary sum;
  if (restored) {
    sum = restored->summary;
  } else {
    ASSIGN_OR_RETURN(sum, Summarize(ws.store(), snap.root));
  }
  RETURN_IF_ERROR(Conclude(ws, snap_id, sum, restored ? &*restored : nullptr, stats));
  return stats;
}

Result<RestoreStats> CompleteRestore(Workspace& ws, const ObjectId& snap_id,
                                     const WrittenFiles& written) {
  TreeReader reader(ws.store());
  ASSIGN_OR_RETURN(Snap snap, reader.ReadSnap(snap_id));
  RETURN_IF_ERROR(CheckRestorable(reader, snap_id, snap));
  ASSIGN_OR_RETURN(RestoredTree tree, WalkRestoredTree(ws, snap.root, written, /*fill=*/true));
  RestoreStats stats;
  stats.written = tree.filled;
  RETURN_IF_ERROR(Conclude(ws, snap_id, tree.summary, &tree, stats));
  return stats;
}

}  // namespace converge
