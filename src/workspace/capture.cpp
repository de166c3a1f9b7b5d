#include "workspace/capture.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <numeric>
#include <optional>

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
  // Beside manifest.entries, one per entry: a file's stat fields and
  // content ID (what the next stat cache holds for it), empty for others.
  std::vector<StatEntry> stats;
  uint64_t level = 0;  // directories above it, below the root
  int cached = -1;     // this directory in the stat cache
  ObjectId id;         // its manifest, once built
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
  Walker(int root_fd, const IgnoreRules& rules, const StatCache& cache, CapturedTree& out)
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
    dirs[index].cached = cache_.FindDir(rel);
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
    StatEntry fields;
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
      DirNode sub;
      sub.rel = rel;
      sub.parent = dir;
      sub.slot = manifest.entries.size();
      sub.level = level;
      out.subdirs.push_back(std::move(sub));
      out.stats.dirs++;
    } else if (S_ISREG(st.st_mode)) {
      AddFile(dir, rel, st, e, fields, out);
    } else if (S_ISLNK(st.st_mode)) {
      RETURN_IF_ERROR(ReadLink(dfd, name, rel, st, e));
      out.stats.symlinks++;
    } else {
      out.stats.warnings.push_back("skipped " + Quote(rel) +
                                   ": not a regular file, directory or symlink");
      return Status::Ok();
    }
    manifest.entries.push_back(std::move(e));
    dirs[dir].stats.push_back(fields);
    return Status::Ok();
  }

  void AddFile(int dir, const std::string& rel, const struct stat& st, Entry& e,
               StatEntry& fields, Listing& out) {
    e.type = EntryType::kFile;
    e.executable = (st.st_mode & S_IXUSR) != 0;
    e.size = static_cast<uint64_t>(st.st_size);
    out.stats.files++;
    out.stats.bytes += e.size;
    fields = StatFields(st);
    std::optional<StatEntry> cached = cache_.Reuse(dirs[dir].cached, e.name, fields);
    if (cached) {
      e.id = cached->id;
      e.chunked = cached->chunked;
      fields = *cached;
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
  const StatCache& cache_;
  CapturedTree& out_;
};

// The text of the root's .convergeignore, "" when there is none.
Result<std::string> ReadIgnoreText(const fs::path& root) {
  Result<std::string> text = ReadFile(root / ".convergeignore");
  if (!text.ok() && text.status().code() == Code::kNotFound) return std::string();
  return text;
}

// Sorts a directory's entries, and their stat fields with them, by name.
void SortByName(DirNode& d) {
  std::vector<Entry>& entries = d.manifest.entries;
  auto by_name = [&](uint32_t a, uint32_t b) { return entries[a].name < entries[b].name; };
  std::vector<uint32_t> order(entries.size());
  std::iota(order.begin(), order.end(), 0);
  if (std::is_sorted(order.begin(), order.end(), by_name)) return;
  std::sort(order.begin(), order.end(), by_name);
  std::vector<Entry> sorted_entries;
  std::vector<StatEntry> sorted_stats;
  sorted_entries.reserve(order.size());
  sorted_stats.reserve(order.size());
  for (uint32_t i : order) {
    sorted_entries.push_back(std::move(entries[i]));
    sorted_stats.push_back(d.stats[i]);
  }
  entries.swap(sorted_entries);
  d.stats.swap(sorted_stats);
}

// The cached manifest ID of `d` (entries sorted) when its entries are
// exactly those the cache holds for it: same names, kinds, IDs, sizes, exec
// bits and symlink targets.
std::optional<ObjectId> CachedManifest(const StatCache& cache, const DirNode& d) {
  if (d.cached < 0) return std::nullopt;
  std::optional<ObjectId> id = cache.DirManifest(d.cached);
  const std::vector<Entry>& entries = d.manifest.entries;
  if (!id || cache.DirSize(d.cached) != entries.size()) return std::nullopt;
  for (uint32_t i = 0; i < entries.size(); i++) {
    const Entry& e = entries[i];
    CachedEntry c = cache.At(d.cached, i);
    if (c.name != e.name) return std::nullopt;
    bool same = false;
    switch (e.type) {
      case EntryType::kFile:
        same = c.kind == CachedKind::kFile && c.stat.id == e.id && c.stat.chunked == e.chunked &&
               c.stat.size == e.size && c.executable == e.executable;
        break;
      case EntryType::kDir:
        same = c.kind == CachedKind::kDir && c.stat.id == e.id;
        break;
      case EntryType::kSymlink:
        same = c.kind == CachedKind::kSymlink && c.target == e.target;
        break;
    }
    if (!same) return std::nullopt;
  }
  return id;
}

// The next stat cache: every directory captured, with its manifest and entries.
std::string NewStatCache(const std::vector<DirNode>& dirs, const ObjectId& rules) {
  StatCacheWriter w(rules);
  for (const DirNode& d : dirs) {
    w.Dir(d.rel, d.id);
    for (size_t i = 0; i < d.manifest.entries.size(); i++) {
      const Entry& e = d.manifest.entries[i];
      if (e.type == EntryType::kFile) w.File(e.name, d.stats[i], e.executable);
      if (e.type == EntryType::kDir) w.Subdir(e.name, e.id);
      if (e.type == EntryType::kSymlink) w.Symlink(e.name, e.target);
    }
  }
  return w.Finish();
}

}  // namespace

Result<CapturedTree> CaptureTree(Workspace& ws, const CaptureOptions& opts) {
  CapturedTree out;
  ASSIGN_OR_RETURN(std::string rules_text, ReadIgnoreText(ws.root()));
  IgnoreRules rules = IgnoreRules::Parse(rules_text);
  ObjectId rules_id = IgnoreRulesId(rules_text);
  ASSIGN_OR_RETURN(StatCache cache, StatCache::Load(ws.meta(), ws.db()));
  ASSIGN_OR_RETURN(int64_t fs_now, FilesystemNow(ws.meta() / "tmp"));
  int root_fd = ::open(ws.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return ErrnoStatus("open '" + ws.root().string() + "'", errno);
  Fd root_owner(root_fd);

  Walker walker(root_fd, rules, cache, out);
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
    walker.dirs[j.dir].stats[j.slot] = results[i].stat;
  }

  // Children come after their parents in `dirs`: walk backwards to build
  // every manifest before the one that names it. Manifests made under other
  // ignore rules are not reused (their entries would differ anyway).
  bool reuse = cache.rules() == rules_id;
  for (size_t i = walker.dirs.size(); i-- > 0;) {
    DirNode& d = walker.dirs[i];
    SortByName(d);
    std::optional<ObjectId> cached = reuse ? CachedManifest(cache, d) : std::nullopt;
    if (cached) {
      d.id = *cached;
      out.stats.manifests_reused++;
    } else {
      RETURN_IF_ERROR(NormalizeManifest(d.manifest));
      std::string bytes = EncodeManifest(d.manifest);
      ASSIGN_OR_RETURN(d.id, sink.Put(bytes));
      if (!opts.store) out.manifests.emplace(d.id, std::move(bytes));
    }
    if (d.parent >= 0)
      walker.dirs[d.parent].manifest.entries[d.slot].id = d.id;
    else
      out.root = d.id;
  }
  if (opts.store) {
    // The objects are durable before the cache names them.
    RETURN_IF_ERROR(batch.Commit());
    // Nothing read and every directory reused: the file would come out the same.
    bool unchanged = cache.from_file() && reuse && out.stats.files_read == 0 &&
                     out.stats.manifests_reused == walker.dirs.size() &&
                     cache.dir_count() == walker.dirs.size();
    if (!unchanged)
      RETURN_IF_ERROR(SaveStatCache(ws.meta(), ws.db(), NewStatCache(walker.dirs, rules_id),
                                    cache.from_table()));
  }
  out.stats.objects_written = sink.written();
  return out;
}

}  // namespace converge
