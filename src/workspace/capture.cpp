#include "workspace/capture.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/parallel.h"
#include "base/progress.h"
#include "base/text.h"
#include "store/objects.h"
#include "workspace/stat_cache.h"
#include "store/tree_depth.h"
#include "workspace/file_content.h"
#include "workspace/ignore.h"

namespace converge {

namespace {

struct DirNode {
  std::string rel;  // "" for the root
  int parent = -1;
  size_t slot = 0;  // this directory's entry in its parent
  Manifest manifest;
  uint64_t level = 0;  // directories above it, below the root
};

struct FileJob {
  int dir;
  size_t slot;
  std::string rel;
};

std::string JoinCapturePath(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

// The filesystem's own clock now (a fresh file's mtime): with it, "modified
// within this capture's timestamp granule" is decided in the filesystem's
// granularity, whatever it is.
Result<int64_t> FilesystemNow(const fs::path& tmpdir) {
  fs::path probe = tmpdir / TempName("clock");
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create '" + probe.string() + "'", errno);
  Fd owner(fd);
  struct stat st;
  int rc = ::fstat(fd, &st);
  ::unlink(probe.c_str());
  if (rc != 0) return ErrnoStatus("stat '" + probe.string() + "'", errno);
  return StatFields(st).mtime_ns;
}

// One directory's listing, made on a worker thread and merged into the walk
// in directory order, so that the result never depends on thread timing.
struct Listing {
  std::vector<DirNode> subdirs;
  std::vector<FileJob> jobs;
  CaptureStats stats;  // files, dirs, symlinks, bytes and warnings
};

// Lists the tree breadth first, the directories of each level on all cores
// (an unchanged re-snap is mostly getdents and fstatat: kernel time that
// scales with threads).
class Walker {
 public:
  Walker(int root_fd, const IgnoreRules& rules, StatCache* cache, CapturedTree& out)
      : root_fd_(root_fd), rules_(rules), cache_(cache), out_(out) {}

  std::vector<DirNode> dirs;  // parents before children
  std::vector<FileJob> jobs;

  Status Walk() {
    dirs.push_back(DirNode{});
    for (size_t begin = 0; begin < dirs.size();) {
      size_t end = dirs.size();
      std::vector<Listing> level(end - begin);
      RETURN_IF_ERROR(ParallelFor(level.size(), WorkerCount(), [&](size_t i) {
        return ReadDir(static_cast<int>(begin + i), level[i]);
      }));
      for (Listing& l : level) Merge(l);
      begin = end;
    }
    return Status::Ok();
  }

 private:
  void Merge(Listing& l) {
    for (DirNode& d : l.subdirs) dirs.push_back(std::move(d));
    jobs.insert(jobs.end(), l.jobs.begin(), l.jobs.end());
    CaptureStats& s = out_.stats;
    s.files += l.stats.files, s.dirs += l.stats.dirs, s.symlinks += l.stats.symlinks;
    s.bytes += l.stats.bytes;
    for (std::string& w : l.stats.warnings) s.warnings.push_back(std::move(w));
  }

  // Reads directory `index` into its manifest; only dirs[index] is written
  // (other threads read other directories), the rest goes to `out`.
  Status ReadDir(int index, Listing& out) {
    const std::string& rel = dirs[index].rel;
    int fd = rel.empty()
                 ? ::dup(root_fd_)
                 : ::openat(root_fd_, rel.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("cannot open directory '" + rel + "'", errno);
    DIR* d = ::fdopendir(fd);
    if (!d) {
      ::close(fd);
      return ErrnoStatus("cannot list '" + rel + "'", errno);
    }
    std::unique_ptr<DIR, int (*)(DIR*)> owner(d, ::closedir);
    while (dirent* de = ::readdir(d)) {
      std::string name = de->d_name;
      if (name == "." || name == "..") continue;
      RETURN_IF_ERROR(AddEntry(index, ::dirfd(d), name, out));
    }
    return Status::Ok();
  }

  Status AddEntry(int dir, int dfd, const std::string& name, Listing& out) {
    Manifest& manifest = dirs[dir].manifest;
    std::string rel = JoinCapturePath(dirs[dir].rel, name);
    struct stat st;
    if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return Status::Ok();  // removed while we walked
      return ErrnoStatus("stat '" + rel + "'", errno);
    }
    bool is_dir = S_ISDIR(st.st_mode);
    // A workspace's own directory (the root's, or a nested workspace's).
    if (is_dir && name == Workspace::kMetaDir) return Status::Ok();
    if (Workspace::IsRestoreLeftover(name)) return Status::Ok();
    if (rules_.Ignored(rel, is_dir)) return Status::Ok();
    // Anything else of that name (a symlink, a file, another case) is never
    // captured either: no snap may hold one (ValidateName), so say so.
    if (IsReservedName(name)) {
      out.stats.warnings.push_back("skipped " + Quote(rel) + ": the name " +
                                   std::string(Workspace::kMetaDir) +
                                   " (in any case) is reserved for workspaces and never captured");
      return Status::Ok();
    }
    if (!IsValidUtf8(name))
      return Invalid("path " + Quote(rel) + " has a name that is not valid UTF-8, which " +
                     "converge cannot store: rename it or add it to .convergeignore");
    Entry e;
    e.name = name;
    if (is_dir) {
      uint64_t level = dirs[dir].level + 1;
      if (level > kMaxTreeDepth)
        return Invalid("directory " + QuoteLongPath(rel) + " is nested " + std::to_string(level) +
                       " levels deep, past converge's limit of " + std::to_string(kMaxTreeDepth) +
                       ": converge cannot store a tree that deep; move that part of the tree " +
                       "higher up, or leave it out with .convergeignore");
      e.type = EntryType::kDir;
      out.subdirs.push_back(DirNode{rel, dir, manifest.entries.size(), {}, level});
      out.stats.dirs++;
    } else if (S_ISREG(st.st_mode)) {
      AddFile(dir, rel, st, e, out);
    } else if (S_ISLNK(st.st_mode)) {
      RETURN_IF_ERROR(ReadLink(dfd, name, rel, st, e));
      out.stats.symlinks++;
    } else {
      out.stats.warnings.push_back("skipped " + Quote(rel) +
                                   ": not a regular file, directory or symlink");
      return Status::Ok();
    }
    manifest.entries.push_back(std::move(e));
    return Status::Ok();
  }

  void AddFile(int dir, const std::string& rel, const struct stat& st, Entry& e, Listing& out) {
    e.type = EntryType::kFile;
    e.executable = (st.st_mode & S_IXUSR) != 0;
    e.size = static_cast<uint64_t>(st.st_size);
    out.stats.files++;
    out.stats.bytes += e.size;
    const StatEntry* cached = cache_ ? cache_->Reuse(rel, StatFields(st)) : nullptr;
    if (cached) {
      e.id = cached->id;
      e.chunked = cached->chunked;
      return;
    }
    out.jobs.push_back(FileJob{dir, dirs[dir].manifest.entries.size(), rel});
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

  int root_fd_;
  const IgnoreRules& rules_;
  StatCache* cache_;
  CapturedTree& out_;
};

Result<IgnoreRules> LoadIgnoreRules(const fs::path& root) {
  Result<std::string> text = ReadFile(root / ".convergeignore");
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return IgnoreRules();
    return text.status();
  }
  return IgnoreRules::Parse(*text);
}

}  // namespace

Result<CapturedTree> CaptureTree(Workspace& ws, const CaptureOptions& opts) {
  CapturedTree out;
  ASSIGN_OR_RETURN(IgnoreRules rules, LoadIgnoreRules(ws.root()));
  ASSIGN_OR_RETURN(StatCache cache, StatCache::Load(ws.db()));
  ASSIGN_OR_RETURN(int64_t fs_now, FilesystemNow(ws.meta() / "tmp"));
  int root_fd = ::open(ws.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return ErrnoStatus("open '" + ws.root().string() + "'", errno);
  Fd root_owner(root_fd);

  Walker walker(root_fd, rules, &cache, out);
  RETURN_IF_ERROR(walker.Walk());

  WriteBatch batch(ws.store());
  CaptureSink sink(opts.store ? &batch : nullptr);
  uint64_t job_bytes = 0;
  for (const FileJob& j : walker.jobs)
    job_bytes += walker.dirs[j.dir].manifest.entries[j.slot].size;
  Progress progress("Capturing", walker.jobs.size(), job_bytes, opts.progress);
  std::vector<FileContent> results(walker.jobs.size());
  RETURN_IF_ERROR(ParallelFor(walker.jobs.size(), WorkerCount(), [&](size_t i) {
    ASSIGN_OR_RETURN(results[i],
                     CaptureFile(root_fd, walker.jobs[i].rel, walker.jobs[i].rel, fs_now, sink));
    progress.Add(1, results[i].bytes_read);
    return Status::Ok();
  }));
  progress.Done();
  for (size_t i = 0; i < walker.jobs.size(); i++) {
    const FileJob& j = walker.jobs[i];
    Entry& e = walker.dirs[j.dir].manifest.entries[j.slot];
    out.stats.bytes += results[i].stat.size - e.size;
    e.id = results[i].stat.id;
    e.chunked = results[i].stat.chunked;
    e.size = results[i].stat.size;
    out.stats.files_read++;
    out.stats.bytes_read += results[i].bytes_read;
    if (opts.store) cache.Put(j.rel, results[i].stat);
  }

  // Children come after their parents in `dirs`: walk backwards to build
  // every manifest before the one that names it.
  for (size_t i = walker.dirs.size(); i-- > 0;) {
    DirNode& d = walker.dirs[i];
    RETURN_IF_ERROR(NormalizeManifest(d.manifest));
    std::string bytes = EncodeManifest(d.manifest);
    ASSIGN_OR_RETURN(ObjectId id, sink.Put(bytes));
    if (!opts.store) out.manifests.emplace(id, std::move(bytes));
    if (d.parent >= 0)
      walker.dirs[d.parent].manifest.entries[d.slot].id = id;
    else
      out.root = id;
  }
  if (opts.store) {
    RETURN_IF_ERROR(batch.Commit());
    RETURN_IF_ERROR(cache.Save(ws.db()));
  }
  out.stats.objects_written = sink.written();
  return out;
}

}  // namespace converge
