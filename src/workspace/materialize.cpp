#include "workspace/materialize.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/text.h"
#include "store/tree_depth.h"
#include "workspace/dir_cursor.h"
#include "workspace/file_queue.h"
#include "workspace/restore_cache.h"
#include "workspace/workspace.h"

namespace converge {

namespace {

constexpr const char* kTempPrefix = Workspace::kRestoreTempPrefix;

// A temp file or symlink in a directory: removed unless renamed into place.
class TempEntry {
 public:
  TempEntry(int dirfd, std::string name) : dirfd_(dirfd), name_(std::move(name)) {}
  TempEntry(const TempEntry&) = delete;
  TempEntry& operator=(const TempEntry&) = delete;
  ~TempEntry() {
    if (!name_.empty()) ::unlinkat(dirfd_, name_.c_str(), 0);
  }

  // renameat replaces a file or symlink at `name` without following it.
  Status RenameTo(const std::string& name, const std::string& display) {
    if (::renameat(dirfd_, name_.c_str(), dirfd_, name.c_str()) != 0) {
      int err = errno;
      if (err == EISDIR || err == ENOTEMPTY || err == EEXIST)
        return Conflict("cannot write " + Quote(display) + ": a directory appeared there");
      return ErrnoStatus("cannot write " + Quote(display), err);
    }
    name_.clear();
    return Status::Ok();
  }
  // The entry is already under its final name: keep it.
  void Keep() { name_.clear(); }

 private:
  int dirfd_;
  std::string name_;
};

// A blob's size is one stat: a manifest or chunk list that lies about it is
// refused before anything is written (and before a restore in place changes
// anything, as its check pass runs CheckFileObjects).
Status CheckBlobSize(const TreeReader& reader, const ObjectId& id, uint64_t size, const char* namer,
                     const std::string& context) {
  Result<uint64_t> got = reader.store().SizeOf(id);
  if (!got.ok()) return Status::Ok();  // missing or unreadable: reading it says which
  if (*got != size)
    return Corrupt(context + ": blob " + id.hex() + " has " + std::to_string(*got) +
                   " bytes where its " + namer + " says " + std::to_string(size) +
                   "; the snap is damaged and cannot be restored");
  return Status::Ok();
}

std::string ListSizeMismatch(const std::string& context, const Entry& e, const ChunkList& list) {
  return context + ": chunk list " + e.id.hex() + " adds up to " + std::to_string(list.size) +
         " bytes where the manifest says " + std::to_string(e.size) +
         "; the snap is damaged and cannot be restored";
}

}  // namespace

Status CheckEntryName(const Entry& e, const std::string& display) {
  Status st = ValidateName(e.name);
  if (!st.ok())
    return Corrupt("the snap holds an invalid path " + Quote(display) + ": " + st.message());
  return Status::Ok();
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

Result<Fd> OpenDirAt(int dirfd, const std::string& name, const std::string& display) {
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) return Fd(fd);
  int err = errno;
  if (err == ELOOP || err == ENOTDIR)
    return Conflict(Quote(display) + " is not a directory (a symlink or file is there), " +
                    "so converge will not write under it");
  return ErrnoStatus("cannot open directory " + Quote(display), err);
}

Result<Fd> MakeDirAt(int dirfd, const std::string& name, const std::string& display) {
  if (::mkdirat(dirfd, name.c_str(), 0777) != 0)
    return ErrnoStatus("cannot create directory " + Quote(display), errno);
  return OpenDirAt(dirfd, name, display);
}

Result<std::vector<std::string>> ListDirAt(int dirfd, const std::string& display) {
  int fd = ::dup(dirfd);
  if (fd < 0) return ErrnoStatus("cannot list " + Quote(display), errno);
  DIR* d = ::fdopendir(fd);
  if (!d) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus("cannot list " + Quote(display), err);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> owner(d, ::closedir);
  ::rewinddir(d);  // a dup shares the file offset: start from the top
  std::vector<std::string> names;
  errno = 0;
  while (dirent* de = ::readdir(d)) {
    std::string name = de->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
    errno = 0;
  }
  if (errno != 0) return ErrnoStatus("cannot list " + Quote(display), errno);
  return names;
}

namespace {

Status RefuseMetaDir(const std::string& display) {
  return Conflict("converge will not remove " + Quote(display) +
                  ": it is a workspace's .converge directory; move it away first");
}

// Removes what the cursor's directory holds but its subdirectories, which
// it returns; refuses (changing nothing more) at a .converge directory.
Result<std::vector<std::string>> RemoveLeavesIn(const DirCursor& at, uint64_t* removed) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(at.fd(), at.Path()));
  std::vector<std::string> subdirs;
  for (std::string& n : names) {
    struct stat st;
    if (::fstatat(at.fd(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return ErrnoStatus("cannot remove " + Quote(at.PathOf(n)), errno);
    }
    if (S_ISDIR(st.st_mode)) {
      if (n == Workspace::kMetaDir) return RefuseMetaDir(at.PathOf(n));
      subdirs.push_back(std::move(n));
      continue;
    }
    if (::unlinkat(at.fd(), n.c_str(), 0) != 0 && errno != ENOENT)
      return ErrnoStatus("cannot remove " + Quote(at.PathOf(n)), errno);
    ++*removed;
  }
  return subdirs;
}

// Empties directory `name` of `dirfd`, depth first, with a stack of the
// subdirectories still to remove at each level and one open directory: a
// tree of any depth is removed whole.
Status RemoveBelow(int dirfd, const std::string& name, const std::string& display,
                   uint64_t* removed) {
  ASSIGN_OR_RETURN(Fd top, OpenDirAt(dirfd, name, display));
  ASSIGN_OR_RETURN(DirCursor at, DirCursor::At(std::make_shared<Fd>(std::move(top)), display));
  std::vector<std::vector<std::string>> pending;
  ASSIGN_OR_RETURN(std::vector<std::string> first, RemoveLeavesIn(at, removed));
  pending.push_back(std::move(first));
  for (;;) {
    std::vector<std::string>& subdirs = pending.back();
    if (!subdirs.empty()) {
      std::string sub = std::move(subdirs.back());
      subdirs.pop_back();
      RETURN_IF_ERROR(at.Enter(sub));
      ASSIGN_OR_RETURN(std::vector<std::string> below, RemoveLeavesIn(at, removed));
      pending.push_back(std::move(below));
      continue;
    }
    pending.pop_back();
    if (pending.empty()) return Status::Ok();
    std::string done = at.name(), path = at.Path();
    RETURN_IF_ERROR(at.Leave());
    if (::unlinkat(at.fd(), done.c_str(), AT_REMOVEDIR) != 0)
      return ErrnoStatus("cannot remove directory " + Quote(path), errno);
    ++*removed;
  }
}

}  // namespace

Status RemoveAllAt(int dirfd, const std::string& name, const std::string& display,
                   uint64_t* removed) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoStatus("cannot remove " + Quote(display), errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT)
      return ErrnoStatus("cannot remove " + Quote(display), errno);
    ++*removed;
    return Status::Ok();
  }
  if (name == Workspace::kMetaDir) return RefuseMetaDir(display);
  RETURN_IF_ERROR(RemoveBelow(dirfd, name, display, removed));
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0)
    return ErrnoStatus("cannot remove directory " + Quote(display), errno);
  ++*removed;
  return Status::Ok();
}

Status WriteFileAt(const TreeReader& reader, int dirfd, const Entry& e, const std::string& display,
                   WriteMode mode, WrittenFiles* written) {
  RETURN_IF_ERROR(CheckEntryName(e, display));
  if (e.type != EntryType::kFile) return Internal("WriteFileAt on a non-file entry");
  bool create = mode == WriteMode::kCreate;
  std::string tmp = create ? e.name : TempName(kTempPrefix);
  int fd = ::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    e.executable ? 0777 : 0666);
  if (fd < 0) return ErrnoStatus("cannot create " + Quote(display), errno);
  TempEntry temp(dirfd, tmp);
  Fd out(fd);
  std::string what = Quote(display);
  uint64_t total = 0;
  auto sink = [&](std::string_view piece) {
    total += piece.size();
    return WriteAll(fd, piece, what);
  };
  std::string context = "restoring " + what;
  if (!e.chunked) {
    RETURN_IF_ERROR(CheckBlobSize(reader, e.id, e.size, "manifest", context));
    RETURN_IF_ERROR(reader.store().Stream(e.id, sink).With(context));
  } else {
    Result<ChunkList> list = reader.ReadChunkList(e.id);
    if (!list.ok()) return list.status().With(context);
    // Refused before a byte is written; the running totals below catch the rest.
    if (list->size != e.size) return Corrupt(ListSizeMismatch(context, e, *list));
    for (const ChunkList::Chunk& c : list->chunks) {
      uint64_t before = total;
      RETURN_IF_ERROR(reader.store().Stream(c.blob, sink).With(context));
      if (total - before != c.size)
        return Corrupt(context + ": chunk " + c.blob.hex() + " has " +
                       std::to_string(total - before) + " bytes, its chunk list says " +
                       std::to_string(c.size));
    }
  }
  if (total != e.size)
    return Corrupt(context + ": its content has " + std::to_string(total) +
                   " bytes, the manifest says " + std::to_string(e.size));
  struct stat mine;
  if (written && ::fstat(fd, &mine) != 0) written = nullptr;  // not recorded: read again
  if (::close(out.release()) != 0) return ErrnoStatus("cannot write " + what, errno);
  if (create) {
    temp.Keep();
    if (written) written->Add(mine);
    return Status::Ok();
  }
  RETURN_IF_ERROR(temp.RenameTo(e.name, display));
  // The rename moved its ctime: stat it again, by name, and record it only
  // if the name still holds the file as written here (a later write moves
  // mtime, unless within the same tick: restore_cache.h).
  struct stat placed;
  if (written && ::fstatat(dirfd, e.name.c_str(), &placed, AT_SYMLINK_NOFOLLOW) == 0 &&
      placed.st_dev == mine.st_dev && placed.st_ino == mine.st_ino &&
      placed.st_size == mine.st_size && placed.st_mtim.tv_sec == mine.st_mtim.tv_sec &&
      placed.st_mtim.tv_nsec == mine.st_mtim.tv_nsec)
    written->Add(placed);
  return Status::Ok();
}

Status WriteSymlinkAt(int dirfd, const Entry& e, const std::string& display, WriteMode mode) {
  RETURN_IF_ERROR(CheckEntryName(e, display));
  if (e.type != EntryType::kSymlink) return Internal("WriteSymlinkAt on a non-symlink entry");
  if (e.target.empty() || e.target.find('\0') != std::string::npos)
    return Corrupt("symlink " + Quote(display) + " has an empty or NUL-bearing target");
  bool create = mode == WriteMode::kCreate;
  std::string tmp = create ? e.name : TempName(kTempPrefix);
  if (::symlinkat(e.target.c_str(), dirfd, tmp.c_str()) != 0)
    return ErrnoStatus("cannot create symlink " + Quote(display), errno);
  if (create) return Status::Ok();
  TempEntry temp(dirfd, tmp);
  return temp.RenameTo(e.name, display);
}

Status CheckFileObjects(const TreeReader& reader, const Entry& e, const std::string& display,
                        ObjectCheck how) {
  std::string context = "restoring " + Quote(display);
  auto missing = [&](const ObjectId& id) {
    return NotFound(context + ": object " + id.hex() +
                    " is not in this workspace's store, so the snap cannot be restored");
  };
  auto check_blob = [&](const ObjectId& id, uint64_t size, const char* namer) -> Status {
    if (!reader.store().Has(id)) return missing(id);
    RETURN_IF_ERROR(CheckBlobSize(reader, id, size, namer, context));
    if (how == ObjectCheck::kPresent) return Status::Ok();
    // Damaged bytes would otherwise be found only while writing, with part
    // of the tree already changed.
    Status intact = reader.store().Verify(id);
    if (intact.ok() || intact.code() != Code::kCorrupt) return intact.With(context);
    return Corrupt(context + ": object " + id.hex() + " is damaged in this workspace's store " +
                   "(its bytes do not match its ID), so the snap cannot be restored: run " +
                   "'converge fsck'");
  };
  if (!e.chunked) return check_blob(e.id, e.size, "manifest");
  Result<ChunkList> list = reader.ReadChunkList(e.id);
  if (!list.ok()) return list.status().With(context);
  if (list->size != e.size) return Corrupt(ListSizeMismatch(context, e, *list));
  for (const ChunkList::Chunk& c : list->chunks)
    RETURN_IF_ERROR(check_blob(c.blob, c.size, "chunk list"));
  return Status::Ok();
}

Status Materializer::Fill(const std::shared_ptr<Fd>& dir, const std::string& rel,
                          const ObjectId& id) {
  // Depth first with an explicit stack of manifests and one open directory
  // (DirCursor): no recursion and no descriptor per level, whatever the depth.
  struct Frame {
    Manifest m;
    size_t next = 0;
    std::string rel;
  };
  ASSIGN_OR_RETURN(DirCursor at, DirCursor::At(dir, rel));
  std::vector<Frame> stack;
  ASSIGN_OR_RETURN(Manifest top, reader_.ReadManifest(id));
  stack.push_back({std::move(top), 0, rel});
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.next == f.m.entries.size()) {
      stack.pop_back();
      if (!stack.empty()) RETURN_IF_ERROR(at.Leave());
      continue;
    }
    const Entry& e = f.m.entries[f.next++];
    std::string path = JoinPath(f.rel, e.name);
    // Refuses ".converge" of any type too (IsReservedName): it could plant a workspace.
    RETURN_IF_ERROR(CheckEntryName(e, path));
    switch (e.type) {
      case EntryType::kFile:
        stats_.files++;
        stats_.bytes += e.size;
        RETURN_IF_ERROR(queue_.Add(at.dir(), e, path, mode_));
        break;
      case EntryType::kSymlink:
        stats_.symlinks++;
        RETURN_IF_ERROR(WriteSymlinkAt(at.fd(), e, path, mode_));
        stats_.written++;
        break;
      case EntryType::kDir: {
        // Callers measure the whole tree first; this only keeps the stack bounded.
        RETURN_IF_ERROR(CheckLevel(stack.size(), path));
        stats_.dirs++;
        ASSIGN_OR_RETURN(Manifest sub, reader_.ReadManifest(e.id));
        RETURN_IF_ERROR(at.MakeAndEnter(e.name));
        stack.push_back({std::move(sub), 0, std::move(path)});  // `f` and `e` are not used after
        break;
      }
    }
  }
  return Status::Ok();
}

}  // namespace converge
