#include "workspace/capture_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "base/text.h"
#include "store/tree_depth.h"
#include "workspace/file_content.h"
#include "workspace/workspace.h"

namespace converge {

namespace {

// Lists one directory. A listing runs on a worker thread and writes only its
// own directory and `out`.
class DirLister {
 public:
  DirLister(const WalkOptions& opts, const std::shared_ptr<CaptureDir>& d, Listing& out)
      : opts_(opts), cache_(*opts.cache), self_(d), d_(*d), out_(out) {}

  // Lists with getdents64 on the descriptor itself (fdopendir would add an
  // fstat and two fcntl per directory), and takes a subdirectory's type from
  // its listing where the filesystem gives one (no stat of it at all); or,
  // when the directory is unchanged since the cache listed it, from the cache.
  Status Run() {
    CaptureDir& d = d_;
    d.cached = cache_.FindDir(d.rel);
    int fd = ::openat(opts_.root_fd, d.rel.empty() ? "." : d.rel.c_str(),
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("cannot open directory '" + d.rel + "'", errno);
    Fd owner(fd);
    // Its stat before its names: a change while it is listed moves its mtime
    // past what is recorded, and a change this late in the granule makes it racy.
    struct stat st;
    if (::fstat(fd, &st) != 0) return ErrnoStatus("stat '" + d.rel + "'", errno);
    d.stat = StatFields(st);
    d.stat.racy = d.stat.mtime_ns >= opts_.fs_now_ns || d.stat.ctime_ns >= opts_.fs_now_ns;
    // One path buffer per directory: no allocation per entry.
    std::string rel = d.rel.empty() ? "" : d.rel + "/";
    size_t prefix = rel.size();
    std::string name;
    bool trusted = opts_.same_rules && opts_.listing_dev && st.st_dev == *opts_.listing_dev;
    if (trusted && cache_.DirUnchanged(d.cached, d.stat)) {
      uint32_t n = cache_.DirSize(d.cached);
      d.manifest.entries.reserve(n);
      d.stats.reserve(n);
      for (uint32_t i = 0; i < n; i++) {
        CachedEntry c = cache_.At(d.cached, i);
        name.assign(c.name);
        rel.resize(prefix);
        rel += name;
        unsigned char type = c.kind == CachedKind::kDir ? DT_DIR : DT_UNKNOWN;
        RETURN_IF_ERROR(AddEntry(fd, name, rel, type, i));
      }
    } else {
      RETURN_IF_ERROR(List(fd, rel, prefix));
      // A new stat cache would let the next capture take its names from it.
      if (trusted && !d.stat.racy && !d.warned) out_.stats.cache_fixable++;
    }
    // Its files are opened relative to it: no lookup from the root per file.
    if (!out_.reads.empty()) d.fd = std::move(owner);
    return Status::Ok();
  }

 private:
  Status List(int fd, std::string& rel, size_t prefix) {
    CaptureDir& d = d_;
    d.fresh = true;
    out_.stats.dirs_listed++;
    size_t warnings = out_.stats.warnings.size();
    thread_local std::vector<char> buf(64 << 10);
    std::string name;
    for (;;) {
      ssize_t n = ::getdents64(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("cannot list '" + d.rel + "'", errno);
      if (n == 0) break;
      for (ssize_t at = 0; at < n;) {
        const auto* de = reinterpret_cast<const struct dirent64*>(buf.data() + at);
        at += de->d_reclen;
        name.assign(de->d_name);
        if (name == "." || name == "..") continue;
        rel.resize(prefix);
        rel += name;
        RETURN_IF_ERROR(AddEntry(fd, name, rel, de->d_type, -1));
      }
    }
    d.warned = out_.stats.warnings.size() > warnings;
    return Status::Ok();
  }

  // `type`: the entry's d_type (DT_UNKNOWN: look). `known`: its index in
  // the directory's cached listing, -1 when listed now: a cached name passed
  // the checks below under these same ignore rules when it was captured (and
  // cannot have changed type without its directory changing), so it skips them.
  Status AddEntry(int dfd, const std::string& name, const std::string& rel, unsigned char type,
                  int64_t known) {
    CaptureDir& d = d_;
    Listing& out = out_;
    StatEntry fields;
    struct stat st;
    if (type == DT_DIR) {
      st.st_mode = S_IFDIR;
    } else if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return Status::Ok();  // removed while we walked
      return ErrnoStatus("stat '" + rel + "'", errno);
    }
    bool is_dir = S_ISDIR(st.st_mode);
    if (known < 0) {
      ASSIGN_OR_RETURN(bool captured, Admit(name, rel, is_dir, out));
      if (!captured) return Status::Ok();
    }
    Entry e;
    e.name = name;
    if (is_dir) {
      uint64_t level = d.level + 1;
      if (level > kMaxTreeDepth)
        return Invalid("directory " + QuoteLongPath(rel) + " is nested " + std::to_string(level) +
                       " levels deep, past converge's limit of " + std::to_string(kMaxTreeDepth) +
                       ": converge cannot store a tree that deep; move that part of the tree " +
                       "higher up, or leave it out with .convergeignore");
      e.type = EntryType::kDir;
      auto sub = std::make_shared<CaptureDir>();
      sub->rel = rel;
      sub->parent = self_;
      sub->slot = d.manifest.entries.size();
      sub->level = level;
      out.subdirs.push_back(std::move(sub));
      out.stats.dirs++;
    } else if (S_ISREG(st.st_mode)) {
      AddFile(st, known, e, fields);
    } else if (S_ISLNK(st.st_mode)) {
      RETURN_IF_ERROR(ReadLink(dfd, name, rel, st, e));
      out.stats.symlinks++;
    } else {
      out.stats.warnings.push_back("skipped " + Quote(rel) +
                                   ": not a regular file, directory or symlink");
      return Status::Ok();
    }
    d.manifest.entries.push_back(std::move(e));
    d.stats.push_back(fields);
    return Status::Ok();
  }

  // Whether a name just listed is captured: false (with a warning where
  // one is due) for what snap leaves out; an error for what it cannot store.
  Result<bool> Admit(const std::string& name, const std::string& rel, bool is_dir, Listing& out) {
    // A workspace's own directory (the root's, or a nested workspace's).
    if (is_dir && name == Workspace::kMetaDir) return false;
    if (Workspace::IsRestoreLeftover(name)) return false;
    if (opts_.rules->Ignored(rel, is_dir)) return false;
    // Anything else of that name (a symlink, a file, another case) is never
    // captured either: no snap may hold one (ValidateName), so say so.
    if (IsReservedName(name)) {
      out.stats.warnings.push_back("skipped " + Quote(rel) + ": the name " +
                                   std::string(Workspace::kMetaDir) +
                                   " (in any case) is reserved for workspaces and never captured");
      return false;
    }
    if (!IsValidUtf8(name))
      return Invalid("path " + Quote(rel) + " has a name that is not valid UTF-8, which " +
                     "converge cannot store: rename it or add it to .convergeignore");
    return true;
  }

  void AddFile(const struct stat& st, int64_t known, Entry& e, StatEntry& fields) {
    CaptureDir& d = d_;
    e.type = EntryType::kFile;
    e.executable = (st.st_mode & S_IXUSR) != 0;
    e.size = static_cast<uint64_t>(st.st_size);
    out_.stats.files++;
    out_.stats.bytes += e.size;
    fields = StatFields(st);
    std::optional<StatEntry> cached = known >= 0 ? cache_.ReuseAt(d.cached, known, fields)
                                                 : cache_.Reuse(d.cached, e.name, fields);
    if (cached) {
      e.id = cached->id;
      e.chunked = cached->chunked;
      fields = *cached;
      return;
    }
    out_.reads.push_back(d.manifest.entries.size());
  }

  Status ReadLink(int dfd, const std::string& name, const std::string& rel, const struct stat& st,
                  Entry& e) {
    // st_size is the target's length on most filesystems but 0 on some: grow
    // the buffer until the target fits.
    std::string target(std::max<size_t>(static_cast<size_t>(st.st_size) + 1, 256), '\0');
    for (;;) {
      ssize_t n = ::readlinkat(dfd, name.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoStatus("read symlink '" + rel + "'", errno);
      if (static_cast<size_t>(n) < target.size()) {
        target.resize(static_cast<size_t>(n));
        break;
      }
      target.resize(target.size() * 2);
    }
    if (target.empty() || !IsValidUtf8(target))
      return Invalid("symlink " + Quote(rel) + " has a target that is not valid UTF-8 (" +
                     Quote(target) + "): change it or add it to .convergeignore");
    e.type = EntryType::kSymlink;
    e.target = std::move(target);
    return Status::Ok();
  }

  const WalkOptions& opts_;
  const StatCache& cache_;
  const std::shared_ptr<CaptureDir>& self_;
  CaptureDir& d_;
  Listing& out_;
};

}  // namespace

Status ListCaptureDir(const WalkOptions& opts, const std::shared_ptr<CaptureDir>& d, Listing& out) {
  return DirLister(opts, d, out).Run();
}

Result<FilesystemClock> ProbeFilesystem(const fs::path& tmpdir) {
  fs::path probe = tmpdir / TempName("clock");
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create '" + probe.string() + "'", errno);
  Fd owner(fd);
  struct stat st, dir;
  int rc = ::fstat(fd, &st);
  int dir_rc = ::stat(tmpdir.c_str(), &dir);
  ::unlink(probe.c_str());
  if (rc != 0) return ErrnoStatus("stat '" + probe.string() + "'", errno);
  FilesystemClock clock;
  clock.now_ns = StatFields(st).mtime_ns;
  clock.dev = st.st_dev;
  // The create was the directory's last change: its mtime is the file's.
  clock.dir_mtime_moves = dir_rc == 0 && StatFields(dir).mtime_ns >= clock.now_ns;
  return clock;
}

}  // namespace converge
