#include "workspace/capture.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include "base/parallel.h"
#include "base/progress.h"
#include "store/objects.h"
#include "workspace/capture_walk.h"
#include "workspace/file_content.h"
#include "workspace/ignore.h"
#include "workspace/stat_cache.h"

namespace converge {

namespace {

// The filesystem's own clock now (a fresh file's mtime): with it, "modified
// within this capture's timestamp granule" is decided in the filesystem's
// granularity, whatever it is. And whether that filesystem moves a
// directory's mtime when an entry is made in it (POSIX says it must; some
// FUSE filesystems do not): only then may a directory's stat stand in for
// listing it.
struct FilesystemClock {
  int64_t now_ns = 0;
  dev_t dev = 0;
  bool dir_mtime_moves = false;
};

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

// The text of the root's .convergeignore, "" when there is none.
Result<std::string> ReadIgnoreText(const fs::path& root) {
  Result<std::string> text = ReadFile(root / ".convergeignore");
  if (!text.ok() && text.status().code() == Code::kNotFound) return std::string();
  return text;
}

// Sorts a directory's entries, and their stat fields with them, by name, in
// place (a permutation applied cycle by cycle: no second copy of the tree).
void SortCaptureDir(CaptureDir& d) {
  std::vector<Entry>& entries = d.manifest.entries;
  auto by_name = [&](uint32_t a, uint32_t b) { return entries[a].name < entries[b].name; };
  std::vector<uint32_t> order(entries.size());  // order[i]: the entry that goes to i
  std::iota(order.begin(), order.end(), 0);
  if (std::is_sorted(order.begin(), order.end(), by_name)) return;
  std::sort(order.begin(), order.end(), by_name);
  for (uint32_t i = 0; i < order.size(); i++) {
    if (order[i] == i) continue;
    Entry entry = std::move(entries[i]);
    StatEntry fields = d.stats[i];
    uint32_t j = i;
    while (order[j] != i) {
      uint32_t k = order[j];
      entries[j] = std::move(entries[k]);
      d.stats[j] = d.stats[k];
      order[j] = j;
      j = k;
    }
    entries[j] = std::move(entry);
    d.stats[j] = fields;
    order[j] = j;
  }
}

// The cached manifest ID of `d` (entries sorted) when its entries are
// exactly those the cache holds for it: same names, kinds, IDs, sizes, exec
// bits and symlink targets.
std::optional<ObjectId> CachedCaptureManifest(const StatCache& cache, const CaptureDir& d) {
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
std::string NewCaptureStatCache(const std::vector<CaptureDir>& dirs, const ObjectId& rules) {
  StatCacheWriter w(rules);
  size_t entries = 0, string_bytes = 0;
  for (const CaptureDir& d : dirs) {
    entries += d.manifest.entries.size();
    string_bytes += d.rel.size();
    for (const Entry& e : d.manifest.entries) string_bytes += e.name.size() + e.target.size();
  }
  w.Reserve(dirs.size(), entries, string_bytes);
  for (const CaptureDir& d : dirs) {
    w.Dir(d.rel, d.id, d.stat, d.warned);
    for (size_t i = 0; i < d.manifest.entries.size(); i++) {
      const Entry& e = d.manifest.entries[i];
      if (e.type == EntryType::kFile) w.File(e.name, d.stats[i], e.executable);
      if (e.type == EntryType::kDir) w.Subdir(e.name, e.id);
      if (e.type == EntryType::kSymlink) w.Symlink(e.name, e.target);
    }
  }
  return w.Finish();
}

// Reads and stores the files the walk left as jobs, on all cores, and puts
// their IDs and stat fields in place.
Status ReadCaptureJobs(int root_fd, int64_t fs_now, std::vector<CaptureDir>& dirs,
                       const std::vector<CaptureJob>& jobs, CaptureSink& sink, bool progress_meter,
                       CaptureStats& stats) {
  uint64_t job_bytes = 0;
  for (const CaptureJob& j : jobs) job_bytes += dirs[j.dir].manifest.entries[j.slot].size;
  Progress progress("Capturing", jobs.size(), job_bytes, progress_meter);
  std::vector<FileContent> results(jobs.size());
  RETURN_IF_ERROR(ParallelFor(jobs.size(), WorkerCount(), [&](size_t i) {
    ASSIGN_OR_RETURN(results[i], CaptureFile(root_fd, jobs[i].rel, jobs[i].rel, fs_now, sink));
    progress.Add(1, results[i].bytes_read);
    return Status::Ok();
  }));
  progress.Done();
  for (size_t i = 0; i < jobs.size(); i++) {
    const CaptureJob& j = jobs[i];
    Entry& e = dirs[j.dir].manifest.entries[j.slot];
    stats.bytes += results[i].stat.size - e.size;
    e.id = results[i].stat.id;
    e.chunked = results[i].stat.chunked;
    e.size = results[i].stat.size;
    stats.files_read++;
    stats.bytes_read += results[i].bytes_read;
    dirs[j.dir].stats[j.slot] = results[i].stat;
  }
  return Status::Ok();
}

// Children come after their parents in `dirs`, a level at a time: from the
// deepest level up, every manifest is built before the one that names it,
// the directories of a level on all cores. Each reuses the cached ID when
// its entries are as cached (`reuse`: the cache was made under the same
// ignore rules). `keep`: hold the manifests made in `out` (nothing stored).
Status BuildCaptureManifests(std::vector<CaptureDir>& dirs, const StatCache& cache, bool reuse,
                             CaptureSink& sink, bool keep, CapturedTree& out) {
  std::mutex mu;  // guards out.manifests
  std::atomic<uint64_t> reused{0};
  auto build = [&](CaptureDir& d) -> Status {
    SortCaptureDir(d);
    std::optional<ObjectId> cached = reuse ? CachedCaptureManifest(cache, d) : std::nullopt;
    if (cached) {
      d.id = *cached;
      reused++;
    } else {
      RETURN_IF_ERROR(NormalizeManifest(d.manifest));
      std::string bytes = EncodeManifest(d.manifest);
      ASSIGN_OR_RETURN(d.id, sink.Put(bytes));
      if (keep) {
        std::lock_guard<std::mutex> lock(mu);
        out.manifests.emplace(d.id, std::move(bytes));
      }
    }
    // Siblings write distinct entries of their parent, which is built later.
    if (d.parent >= 0) dirs[d.parent].manifest.entries[d.slot].id = d.id;
    return Status::Ok();
  };
  for (size_t end = dirs.size(); end > 0;) {
    size_t begin = end - 1;
    while (begin > 0 && dirs[begin - 1].level == dirs[end - 1].level) begin--;
    RETURN_IF_ERROR(
        ParallelFor(end - begin, WorkerCount(), [&](size_t i) { return build(dirs[begin + i]); }));
    end = begin;
  }
  out.root = dirs.front().id;
  out.stats.manifests_reused += reused;
  return Status::Ok();
}

}  // namespace

Result<CapturedTree> CaptureTree(Workspace& ws, const CaptureOptions& opts) {
  CapturedTree out;
  ASSIGN_OR_RETURN(std::string rules_text, ReadIgnoreText(ws.root()));
  IgnoreRules rules = IgnoreRules::Parse(rules_text);
  ObjectId rules_id = IgnoreRulesId(rules_text);
  ASSIGN_OR_RETURN(StatCache cache, StatCache::Load(ws.meta(), ws.db()));
  ASSIGN_OR_RETURN(FilesystemClock clock, ProbeFilesystem(ws.meta() / "tmp"));
  int64_t fs_now = clock.now_ns;
  int root_fd = ::open(ws.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return ErrnoStatus("open '" + ws.root().string() + "'", errno);
  Fd root_owner(root_fd);

  WalkOptions walk;
  walk.root_fd = root_fd;
  walk.rules = &rules;
  walk.cache = &cache;
  walk.same_rules = cache.rules() == rules_id;
  walk.fs_now_ns = fs_now;
  if (clock.dir_mtime_moves) walk.listing_dev = clock.dev;
  std::vector<CaptureDir> dirs;
  std::vector<CaptureJob> jobs;
  RETURN_IF_ERROR(WalkWorkingTree(walk, dirs, jobs, out.stats));

  WriteBatch batch(ws.store());
  CaptureSink sink(opts.store ? &batch : nullptr);
  RETURN_IF_ERROR(ReadCaptureJobs(root_fd, fs_now, dirs, jobs, sink, opts.progress, out.stats));
  RETURN_IF_ERROR(BuildCaptureManifests(dirs, cache, walk.same_rules, sink, !opts.store, out));
  out.stats.objects_written = sink.written();
  if (!opts.store) return out;
  // Nothing listed or read, every manifest reused: the file would come out the same.
  bool unchanged = cache.from_file() && walk.same_rules && out.stats.dirs_listed == 0 &&
                   out.stats.files_read == 0 && out.stats.manifests_reused == dirs.size() &&
                   cache.dir_count() == dirs.size();
  // Encoded while the commit waits for the disk: `dirs` is final.
  std::thread encoder;
  if (!unchanged)
    encoder = std::thread([&] { out.stat_cache = NewCaptureStatCache(dirs, rules_id); });
  Status committed = batch.Commit();
  if (encoder.joinable()) encoder.join();
  RETURN_IF_ERROR(committed);
  out.stat_cache_from_table = cache.from_table();
  return out;
}

std::optional<std::string> SaveCapturedStatCache(Workspace& ws, const CapturedTree& tree) {
  if (!tree.stat_cache) return std::nullopt;
  Status st = SaveStatCache(ws.meta(), ws.db(), *tree.stat_cache, tree.stat_cache_from_table);
  if (st.ok()) return std::nullopt;
  return "could not write the stat cache (" + st.message() +
         "): the next snap reads every file again";
}

}  // namespace converge
