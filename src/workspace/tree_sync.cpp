#include "workspace/tree_sync.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "base/parallel.h"
#include "base/text.h"
#include "store/tree_depth.h"
#include "workspace/dir_cursor.h"
#include "workspace/file_content.h"
#include "workspace/workspace.h"

namespace converge {

namespace {

constexpr size_t kClobbersListed = 5;

bool SameEntry(const Entry& a, const Entry& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case EntryType::kDir:
      return a.id == b.id;
    case EntryType::kSymlink:
      return a.target == b.target;
    case EntryType::kFile:
      return a.id == b.id && a.chunked == b.chunked && a.executable == b.executable;
  }
  return false;
}

// Manifests are sorted by name, bytewise.
const Entry* FindEntry(const Manifest& m, const std::string& name) {
  auto it = std::lower_bound(m.entries.begin(), m.entries.end(), name,
                             [](const Entry& e, const std::string& n) { return e.name < n; });
  return it != m.entries.end() && it->name == name ? &*it : nullptr;
}

// lstat; false when the name is gone.
Result<bool> StatAt(int dirfd, const std::string& name, const std::string& path, struct stat* st) {
  if (::fstatat(dirfd, name.c_str(), st, AT_SYMLINK_NOFOLLOW) == 0) return true;
  if (errno == ENOENT) return false;
  return ErrnoStatus("stat " + Quote(path), errno);
}

}  // namespace

// One name in a directory being synced: what the snap wants there, what
// capture saw there, and what is there now.
struct TreeSync::Slot {
  const Entry* want = nullptr;
  const Entry* have = nullptr;
  bool exists = false;
  struct stat st {};
};

// A directory being synced: its manifests, and its names in order. Slots
// point into the manifests, so a frame never moves (the stack holds pointers).
struct TreeSync::Frame {
  Manifest want, have;
  std::map<std::string, Slot> slots;
  std::map<std::string, Slot>::const_iterator next;
  std::string rel;
};

// A directory both the snap and the tree have, to sync after its parent's
// entry: where SyncEntry would recurse.
struct TreeSync::Descend {
  ObjectId want;
  std::optional<ObjectId> have;
};

Result<std::unique_ptr<TreeSync::Frame>> TreeSync::OpenFrame(const DirCursor& at,
                                                             const std::string& rel,
                                                             const ObjectId& want_id,
                                                             const std::optional<ObjectId>& have_id) {
  auto f = std::make_unique<Frame>();
  f->rel = rel;
  ASSIGN_OR_RETURN(f->want, reader_.ReadManifest(want_id));
  if (have_id) {
    ASSIGN_OR_RETURN(f->have, reader_.ReadManifest(*have_id));
  }
  for (const Entry& e : f->want.entries) f->slots[e.name].want = &e;
  for (const Entry& e : f->have.entries) f->slots[e.name].have = &e;
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(at.fd(), rel.empty() ? "." : rel));
  for (const std::string& n : names) {
    Slot& s = f->slots[n];
    ASSIGN_OR_RETURN(s.exists, StatAt(at.fd(), n, JoinPath(rel, n), &s.st));
  }
  f->next = f->slots.begin();
  return f;
}

Status TreeSync::Sync(const std::shared_ptr<Fd>& dir, const std::string& rel,
                      const ObjectId& want_id, const std::optional<ObjectId>& have_id) {
  // Depth first with an explicit stack and one directory open at a time: the
  // snap's depth is bounded (restore measures it first), the stack and the
  // descriptors are not spent per level either way.
  new_dirs_ = 0;
  ASSIGN_OR_RETURN(DirCursor at, DirCursor::At(dir, rel));
  std::vector<std::unique_ptr<Frame>> stack;
  ASSIGN_OR_RETURN(std::unique_ptr<Frame> top, OpenFrame(at, rel, want_id, have_id));
  stack.push_back(std::move(top));
  while (!stack.empty()) {
    Frame& f = *stack.back();
    if (f.next == f.slots.end()) {
      stack.pop_back();
      if (!stack.empty()) RETURN_IF_ERROR(at.Leave());
      continue;
    }
    const auto& [name, slot] = *f.next++;
    std::string path = JoinPath(f.rel, name);
    std::optional<Descend> down;
    RETURN_IF_ERROR(SyncEntry(at.dir(), name, path, slot, &down));
    if (!down) continue;
    RETURN_IF_ERROR(CheckLevel(stack.size(), path));
    RETURN_IF_ERROR(at.Enter(name));
    ASSIGN_OR_RETURN(std::unique_ptr<Frame> sub, OpenFrame(at, path, down->want, down->have));
    stack.push_back(std::move(sub));
  }
  return Status::Ok();
}

Status TreeSync::SyncEntry(const std::shared_ptr<Fd>& dir, const std::string& name,
                           const std::string& path, const Slot& s, std::optional<Descend>* down) {
  bool is_dir = s.exists && S_ISDIR(s.st.st_mode);
  bool wants_dir = s.want && s.want->type == EntryType::kDir;
  if (name == Workspace::kMetaDir && (is_dir || wants_dir)) {
    if (s.want && apply() && !building_)
      stats_.warnings.push_back("skipped " + Quote(path) +
                                ": converge never touches a .converge directory");
    return Status::Ok();
  }
  // Staging left by a killed restore is converge's own: snap never captures
  // it, and an in-place restore clears it away (not this one's own).
  if (!s.want && s.exists && Workspace::IsRestoreLeftover(name))
    return apply() && !building_ && !IsStaged(name)
               ? RemoveAllAt(dir->get(), name, path, &stats_.removed)
               : Status::Ok();
  if (!s.want)
    return s.exists && s.have && !building_ ? Prune(dir->get(), name, path, *s.have, s.st)
                                            : Status::Ok();
  const Entry& want = *s.want;
  RETURN_IF_ERROR(CheckEntryName(want, path));
  if (s.exists && s.have && SameEntry(*s.have, want)) return Status::Ok();
  if (wants_dir) {
    if (is_dir) {
      std::optional<ObjectId> have_id;
      if (s.have && s.have->type == EntryType::kDir) have_id = s.have->id;
      *down = Descend{want.id, have_id};
      return Status::Ok();
    }
    // A file or symlink where the snap has a directory: remove it, never descend through it.
    if (s.exists && !building_) RETURN_IF_ERROR(Clear(dir->get(), name, path, s.have, s.st));
    return NewDir(dir, path, want);
  }
  if (building_) return Status::Ok();  // files and symlinks are the apply pass's
  if (is_dir) {
    RETURN_IF_ERROR(Clear(dir->get(), name, path, s.have, s.st));
  } else if (s.exists && !s.have && !apply() && !force_) {
    // Not captured (ignored, or new since the capture): lost unless identical.
    ASSIGN_OR_RETURN(bool same, SameAsWanted(dir->get(), name, path, want, s.st));
    if (!same && (S_ISREG(s.st.st_mode) || S_ISLNK(s.st.st_mode))) Clobber(path);
  }
  // renameat replaces the file or symlink there; nothing is followed.
  return WriteLeaf(dir, path, want);
}

Status TreeSync::WriteLeaf(const std::shared_ptr<Fd>& dir, const std::string& path,
                           const Entry& want) {
  if (!apply()) {
    if (want.type != EntryType::kFile) return Status::Ok();
    files_to_write_++;
    bytes_to_write_ += want.size;
    QueueCheck(want, path, ObjectCheck::kIntact);
    return Status::Ok();
  }
  if (want.type == EntryType::kFile) return queue_->Add(dir, want, path);
  RETURN_IF_ERROR(WriteSymlinkAt(dir->get(), want, path));
  stats_.written++;
  return Status::Ok();
}

Status TreeSync::NewDir(const std::shared_ptr<Fd>& dir, const std::string& path,
                        const Entry& want) {
  // Every step walks the same tree in the same order, so the n-th new
  // directory is the same one in each.
  bool staged = new_dirs_++ < kMaxStaged;
  if (!apply()) {
    ObjectCheck how = staged ? ObjectCheck::kPresent : ObjectCheck::kIntact;
    return WalkTree(reader_, want.id, [&](const std::string& sub, const Entry& e) {
      if (e.type != EntryType::kFile) return Status::Ok();
      files_to_write_++;
      bytes_to_write_ += e.size;
      QueueCheck(e, JoinPath(path, sub), how);
      return Status::Ok();
    });
  }
  if (staged != building_) return Status::Ok();  // the other step's
  // A staged directory goes under a name no reader looks at (snap and diff
  // skip it; a later restore or fsck --fix clears a killed one's), so its
  // files go straight in; one past kMaxStaged is built in place, visibly.
  std::string temp = staged ? TempName(Workspace::kRestoreTempPrefix) : want.name;
  ASSIGN_OR_RETURN(Fd sub, MakeDirAt(dir->get(), temp, path));
  if (staged) staged_.push_back({dir, temp, want.name, path});
  RestoreStats filled;
  Materializer m(reader_, *queue_, filled, staged ? WriteMode::kCreate : WriteMode::kReplace);
  Status st = m.Fill(std::make_shared<Fd>(std::move(sub)), path, want.id);
  stats_.written += filled.written;
  for (auto& w : filled.warnings) stats_.warnings.push_back(std::move(w));
  return st;
}

Status TreeSync::Prune(int dirfd, const std::string& name, const std::string& path,
                       const Entry& have, const struct stat& st) {
  if (!apply()) return Status::Ok();
  bool is_dir = S_ISDIR(st.st_mode);
  if (have.type != EntryType::kDir) {
    if (is_dir) return Status::Ok();  // a directory since the capture: not ours to remove
    if (::unlinkat(dirfd, name.c_str(), 0) != 0) {
      if (errno == ENOENT) return Status::Ok();
      return ErrnoStatus("cannot remove " + Quote(path), errno);
    }
    stats_.removed++;
    return Status::Ok();
  }
  if (!is_dir) return Status::Ok();
  // Depth first over what capture saw, one directory open at a time: each
  // directory goes once what capture saw in it is gone.
  struct Frame {
    Manifest m;
    std::vector<std::string> names;
    size_t next = 0;
  };
  {
    ASSIGN_OR_RETURN(Fd top_fd, OpenDirAt(dirfd, name, path));
    ASSIGN_OR_RETURN(DirCursor at, DirCursor::At(std::make_shared<Fd>(std::move(top_fd)), path));
    std::vector<Frame> stack;
    ASSIGN_OR_RETURN(Manifest top, reader_.ReadManifest(have.id));
    ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(at.fd(), path));
    stack.push_back({std::move(top), std::move(names), 0});
    while (!stack.empty()) {
      Frame& f = stack.back();
      if (f.next < f.names.size()) {
        const std::string& n = f.names[f.next++];
        const Entry* h = FindEntry(f.m, n);
        if (!h) continue;  // not captured (ignored, say): it stays
        struct stat cst;
        ASSIGN_OR_RETURN(bool exists, StatAt(at.fd(), n, at.PathOf(n), &cst));
        if (!exists) continue;
        bool child_dir = S_ISDIR(cst.st_mode);
        if (h->type != EntryType::kDir) {
          if (child_dir) continue;
          if (::unlinkat(at.fd(), n.c_str(), 0) != 0 && errno != ENOENT)
            return ErrnoStatus("cannot remove " + Quote(at.PathOf(n)), errno);
          stats_.removed++;
          continue;
        }
        if (!child_dir) continue;
        ASSIGN_OR_RETURN(Manifest m, reader_.ReadManifest(h->id));
        RETURN_IF_ERROR(CheckLevel(stack.size(), at.PathOf(n)));
        RETURN_IF_ERROR(at.Enter(n));  // `f` and `n` are not used after
        ASSIGN_OR_RETURN(std::vector<std::string> below, ListDirAt(at.fd(), at.Path()));
        stack.push_back({std::move(m), std::move(below), 0});
        continue;
      }
      stack.pop_back();
      if (stack.empty()) break;
      std::string done = at.name(), done_path = at.Path();
      RETURN_IF_ERROR(at.Leave());
      RETURN_IF_ERROR(RemoveIfEmpty(at.fd(), done, done_path));
    }
  }
  return RemoveIfEmpty(dirfd, name, path);
}

// A directory still holding uncaptured content stays, as in git.
Status TreeSync::RemoveIfEmpty(int dirfd, const std::string& name, const std::string& path) {
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) == 0) {
    stats_.removed++;
  } else if (errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT) {
    return ErrnoStatus("cannot remove directory " + Quote(path), errno);
  }
  return Status::Ok();
}

Status TreeSync::Clear(int dirfd, const std::string& name, const std::string& path,
                       const Entry* have, const struct stat& st) {
  if (!apply()) return FindUncaptured(dirfd, name, path, have, st);
  return RemoveAllAt(dirfd, name, path, &stats_.removed);
}

Status TreeSync::FindUncaptured(int dirfd, const std::string& name, const std::string& path,
                                const Entry* have, const struct stat& st) {
  if (!S_ISDIR(st.st_mode)) {
    if (!have && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) Clobber(path);
    return Status::Ok();
  }
  auto converge_dir = [](const std::string& where) {
    return Conflict("cannot restore: " + Quote(where) +
                    " is in the way of the snap's content, and converge never removes a " +
                    ".converge directory; move it away first");
  };
  if (name == Workspace::kMetaDir) return converge_dir(path);
  // What is on disk here may be deeper than any snap (an ignored build tree,
  // say): depth first, iteratively, one directory open at a time.
  struct Frame {
    std::optional<Manifest> captured;
    std::vector<std::string> names;
    size_t next = 0;
  };
  auto captured_of = [&](const Entry* h) -> Result<std::optional<Manifest>> {
    if (!h || h->type != EntryType::kDir) return std::optional<Manifest>();
    ASSIGN_OR_RETURN(Manifest m, reader_.ReadManifest(h->id));
    return std::optional<Manifest>(std::move(m));
  };
  ASSIGN_OR_RETURN(Fd top_fd, OpenDirAt(dirfd, name, path));
  ASSIGN_OR_RETURN(DirCursor at, DirCursor::At(std::make_shared<Fd>(std::move(top_fd)), path));
  std::vector<Frame> stack;
  ASSIGN_OR_RETURN(std::optional<Manifest> top, captured_of(have));
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(at.fd(), path));
  stack.push_back({std::move(top), std::move(names), 0});
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.next == f.names.size()) {
      stack.pop_back();
      if (!stack.empty()) RETURN_IF_ERROR(at.Leave());
      continue;
    }
    const std::string& n = f.names[f.next++];
    struct stat cst;
    ASSIGN_OR_RETURN(bool exists, StatAt(at.fd(), n, at.PathOf(n), &cst));
    if (!exists) continue;
    const Entry* h = f.captured ? FindEntry(*f.captured, n) : nullptr;
    if (!S_ISDIR(cst.st_mode)) {
      if (!h && (S_ISREG(cst.st_mode) || S_ISLNK(cst.st_mode))) Clobber(at, n);
      continue;
    }
    if (n == Workspace::kMetaDir) return converge_dir(at.PathOf(n));
    ASSIGN_OR_RETURN(std::optional<Manifest> below, captured_of(h));
    RETURN_IF_ERROR(at.Enter(n));  // `f` and `n` are not used after
    ASSIGN_OR_RETURN(std::vector<std::string> below_names, ListDirAt(at.fd(), at.Path()));
    stack.push_back({std::move(below), std::move(below_names), 0});
  }
  return Status::Ok();
}

Result<bool> TreeSync::SameAsWanted(int dirfd, const std::string& name, const std::string& path,
                                    const Entry& want, const struct stat& st) {
  if (S_ISLNK(st.st_mode)) {
    if (want.type != EntryType::kSymlink) return false;
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
    if (n < 0) return false;
    target.resize(static_cast<size_t>(n));
    return target == want.target;
  }
  if (!S_ISREG(st.st_mode) || want.type != EntryType::kFile ||
      static_cast<uint64_t>(st.st_size) != want.size)
    return false;
  CaptureSink hash_only(nullptr);
  Result<FileContent> c = CaptureFile(dirfd, name, path, 0, hash_only);
  if (!c.ok()) return false;  // unreadable: treat as different, so it is reported
  return c->stat.id == want.id && c->stat.chunked == want.chunked;
}

void TreeSync::QueueCheck(const Entry& e, std::string path, ObjectCheck how) {
  if (!check_status_.ok()) return;  // already failed: reported by CheckObjects
  to_check_.push_back({e, std::move(path), how});
  if (to_check_.size() >= check_batch_) CheckQueued();
}

void TreeSync::CheckQueued() {
  if (check_status_.ok() && !to_check_.empty()) {
    check_batches_++;
    // On all cores: each object is read and hashed whole.
    check_status_ = ParallelFor(to_check_.size(), WorkerCount(), [&](size_t i) {
      const ToCheck& c = to_check_[i];
      return CheckFileObjects(reader_, c.entry, c.path, c.how);
    });
  }
  to_check_.clear();
}

Status TreeSync::CheckObjects() {
  CheckQueued();
  to_check_.shrink_to_fit();
  return check_status_;
}

void TreeSync::Clobber(const std::string& path) {
  if (force_) return;
  clobbered_count_++;
  if (clobbered_.size() < kClobbersListed) clobbered_.push_back(path);
}

void TreeSync::Clobber(const DirCursor& at, const std::string& name) {
  if (force_) return;
  clobbered_count_++;
  // Only the first few are listed: a path is built for those only.
  if (clobbered_.size() < kClobbersListed) clobbered_.push_back(at.PathOf(name));
}

}  // namespace converge
