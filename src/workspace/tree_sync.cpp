#include "workspace/tree_sync.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "base/text.h"
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

Status TreeSync::Sync(const std::shared_ptr<Fd>& dir, const std::string& rel,
                      const ObjectId& want_id, const std::optional<ObjectId>& have_id) {
  ASSIGN_OR_RETURN(Manifest want, reader_.ReadManifest(want_id));
  Manifest have;
  if (have_id) {
    ASSIGN_OR_RETURN(have, reader_.ReadManifest(*have_id));
  }
  std::map<std::string, Slot> slots;
  for (const Entry& e : want.entries) slots[e.name].want = &e;
  for (const Entry& e : have.entries) slots[e.name].have = &e;
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(dir->get(), rel.empty() ? "." : rel));
  for (const std::string& n : names) {
    Slot& s = slots[n];
    ASSIGN_OR_RETURN(s.exists, StatAt(dir->get(), n, JoinPath(rel, n), &s.st));
  }
  for (const auto& [name, s] : slots) RETURN_IF_ERROR(SyncEntry(dir, name, JoinPath(rel, name), s));
  return Status::Ok();
}

Status TreeSync::SyncEntry(const std::shared_ptr<Fd>& dir, const std::string& name,
                           const std::string& path, const Slot& s) {
  bool is_dir = s.exists && S_ISDIR(s.st.st_mode);
  bool wants_dir = s.want && s.want->type == EntryType::kDir;
  if (name == Workspace::kMetaDir && (is_dir || wants_dir)) {
    if (s.want && apply())
      stats_.warnings.push_back("skipped " + Quote(path) +
                                ": converge never touches a .converge directory");
    return Status::Ok();
  }
  // Staging left by a killed restore is converge's own: snap never captures
  // it, and an in-place restore clears it away.
  if (!s.want && s.exists && Workspace::IsRestoreLeftover(name))
    return apply() ? RemoveAllAt(dir->get(), name, path, &stats_.removed) : Status::Ok();
  if (!s.want)
    return s.exists && s.have ? Prune(dir->get(), name, path, *s.have, s.st) : Status::Ok();
  const Entry& want = *s.want;
  RETURN_IF_ERROR(CheckEntryName(want, path));
  if (s.exists && s.have && SameEntry(*s.have, want)) return Status::Ok();
  if (wants_dir) {
    if (is_dir) {
      ASSIGN_OR_RETURN(Fd sub, OpenDirAt(dir->get(), name, path));
      std::optional<ObjectId> have_id;
      if (s.have && s.have->type == EntryType::kDir) have_id = s.have->id;
      return Sync(std::make_shared<Fd>(std::move(sub)), path, want.id, have_id);
    }
    // A file or symlink where the snap has a directory: remove it, never descend through it.
    if (s.exists) RETURN_IF_ERROR(Clear(dir->get(), name, path, s.have, s.st));
    return NewDir(dir, path, want);
  }
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
    return CheckFileObjects(reader_, want, path);
  }
  if (want.type == EntryType::kFile) return queue_->Add(dir, want, path);
  RETURN_IF_ERROR(WriteSymlinkAt(dir->get(), want, path));
  stats_.written++;
  return Status::Ok();
}

Status TreeSync::NewDir(const std::shared_ptr<Fd>& dir, const std::string& path,
                        const Entry& want) {
  if (!apply()) {
    return WalkTree(reader_, want.id, [&](const std::string& sub, const Entry& e) {
      if (e.type != EntryType::kFile) return Status::Ok();
      files_to_write_++;
      bytes_to_write_ += e.size;
      return CheckFileObjects(reader_, e, JoinPath(path, sub));
    });
  }
  ASSIGN_OR_RETURN(Fd sub, MakeDirAt(dir->get(), want.name, path));
  RestoreStats filled;
  Materializer m(reader_, *queue_, filled);
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
  ASSIGN_OR_RETURN(Manifest m, reader_.ReadManifest(have.id));
  ASSIGN_OR_RETURN(Fd sub, OpenDirAt(dirfd, name, path));
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(sub.get(), path));
  for (const std::string& n : names) {
    const Entry* h = FindEntry(m, n);
    if (!h) continue;  // not captured (ignored, say): it stays
    struct stat cst;
    ASSIGN_OR_RETURN(bool exists, StatAt(sub.get(), n, JoinPath(path, n), &cst));
    if (exists) RETURN_IF_ERROR(Prune(sub.get(), n, JoinPath(path, n), *h, cst));
  }
  // A directory still holding uncaptured content stays, as in git.
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
  if (name == Workspace::kMetaDir)
    return Conflict("cannot restore: " + Quote(path) +
                    " is in the way of the snap's content, and converge never removes a " +
                    ".converge directory; move it away first");
  bool captured = have && have->type == EntryType::kDir;
  Manifest m;
  if (captured) {
    ASSIGN_OR_RETURN(m, reader_.ReadManifest(have->id));
  }
  ASSIGN_OR_RETURN(Fd sub, OpenDirAt(dirfd, name, path));
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(sub.get(), path));
  for (const std::string& n : names) {
    struct stat cst;
    std::string child = JoinPath(path, n);
    ASSIGN_OR_RETURN(bool exists, StatAt(sub.get(), n, child, &cst));
    if (!exists) continue;
    RETURN_IF_ERROR(FindUncaptured(sub.get(), n, child, captured ? FindEntry(m, n) : nullptr, cst));
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
  ObjectSink hash_only(nullptr);
  Result<FileContent> c = CaptureFile(dirfd, name, path, 0, hash_only);
  if (!c.ok()) return false;  // unreadable: treat as different, so it is reported
  return c->stat.id == want.id && c->stat.chunked == want.chunked;
}

void TreeSync::Clobber(const std::string& path) {
  if (force_) return;
  clobbered_count_++;
  if (clobbered_.size() < kClobbersListed) clobbered_.push_back(path);
}

}  // namespace converge
