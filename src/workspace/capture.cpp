#include "workspace/capture.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include "base/parallel.h"
#include "base/progress.h"
#include "store/index_fold.h"
#include "store/objects.h"
#include "store/tree.h"
#include "workspace/capture_cache.h"
#include "workspace/capture_walk.h"
#include "workspace/file_content.h"
#include "workspace/ignore.h"
#include "workspace/lock.h"
#include "workspace/snap_index.h"
#include "workspace/stat_cache.h"

namespace converge {

namespace {

// What a capture's stat cache warnings say happens without it.
constexpr const char* kWithoutCache = "the next snap reads every file again";

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

// Runs the listings and reads of a capture on all cores and stores each
// directory's manifest as soon as its subtree is done (post-order). Tasks
// are taken last in, first out: a directory's files (pushed after its
// subdirectories) are read before anything else is listed, and the walk goes
// depth first, so what is in memory at once is the directories on the paths
// in progress (with their entries) and the names of the subdirectories still
// to list, not the tree; and descriptors stay open only for directories
// whose files are being read.
class CaptureRun {
 public:
  struct Context {
    const WalkOptions* walk;
    bool reuse;  // the cache was made under these ignore rules
    CaptureSink* sink;
    bool keep;                     // hold the manifests made in `out` (nothing stored)
    NextStatCache* next_cache;     // the next stat cache, or null
    Progress* progress;
  };
  CaptureRun(const Context& ctx, CapturedTree& out) : ctx_(ctx), out_(out) {}

  // Captures the tree from the root. Returns the number of directories.
  Result<uint64_t> Run() {
    auto root = std::make_shared<CaptureDir>();
    tasks_.push_back(Task{std::move(root), 0, true});
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < WorkerCount(); i++) threads.emplace_back([this] { Work(); });
    for (std::thread& t : threads) t.join();
    RETURN_IF_ERROR(error_);
    if (!done_) return Internal("the capture ended before its root directory was stored");
    out_.stats.files_read += files_read_;
    out_.stats.cache_fixable += fixable_;
    out_.stats.bytes_read += bytes_read_;
    out_.stats.bytes += bytes_delta_;  // files whose size changed between stat and read
    out_.stats.manifests_reused += reused_;
    out_.stats.peak_entries_held = peak_held_;
    // In a fixed order, whatever order the threads saw them in.
    std::sort(out_.stats.warnings.begin(), out_.stats.warnings.end());
    return dirs_done_.load();
  }

 private:
  struct Task {
    std::shared_ptr<CaptureDir> dir;
    size_t slot = 0;    // a read: the entry
    bool list = false;  // else a read
  };

  void Work() {
    for (;;) {
      Task t;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !tasks_.empty() || done_ || !error_.ok(); });
        if (done_ || !error_.ok()) return;
        t = std::move(tasks_.back());
        tasks_.pop_back();
      }
      Status st = t.list ? List(t.dir) : Read(*t.dir, t.slot);
      if (st.ok()) st = Release(std::move(t.dir));
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        if (error_.ok()) error_ = st;
        tasks_.clear();
        cv_.notify_all();
        return;
      }
    }
  }

  Status List(const std::shared_ptr<CaptureDir>& d) {
    Listing l;
    RETURN_IF_ERROR(ListCaptureDir(*ctx_.walk, d, l));
    Hold(static_cast<int64_t>(d->manifest.entries.size()));
    d->reads_left = l.reads.size();
    if (!l.reads.empty()) d->fresh = true;
    d->pending += l.subdirs.size() + l.reads.size();
    std::lock_guard<std::mutex> lock(mu_);
    MergeStats(l.stats);
    for (auto it = l.subdirs.rbegin(); it != l.subdirs.rend(); ++it)
      tasks_.push_back(Task{std::move(*it), 0, true});
    for (size_t slot : l.reads) tasks_.push_back(Task{d, slot, false});
    cv_.notify_all();
    return Status::Ok();
  }

  void MergeStats(CaptureStats& l) {  // under mu_
    CaptureStats& s = out_.stats;
    s.files += l.files, s.dirs += l.dirs, s.symlinks += l.symlinks;
    s.bytes += l.bytes;
    s.dirs_listed += l.dirs_listed;
    s.cache_fixable += l.cache_fixable;
    for (std::string& w : l.warnings) s.warnings.push_back(std::move(w));
  }

  // Reads and stores one file the cache could not vouch for, and puts its ID
  // and stat fields in place (other threads write other entries).
  Status Read(CaptureDir& d, size_t slot) {
    Entry& e = d.manifest.entries[slot];
    std::string display = d.rel.empty() ? e.name : d.rel + "/" + e.name;
    ASSIGN_OR_RETURN(FileContent c,
                     CaptureFile(d.fd.get(), e.name, display, ctx_.walk->fs_now_ns, *ctx_.sink));
    bytes_delta_ += c.stat.size - e.size;
    e.id = c.stat.id;
    e.chunked = c.stat.chunked;
    e.size = c.stat.size;
    d.stats[slot] = c.stat;
    files_read_++;
    if (!c.stat.racy) fixable_++;
    bytes_read_ += c.bytes_read;
    ctx_.progress->Add(1, c.bytes_read);
    if (--d.reads_left == 0) d.fd = Fd();
    return Status::Ok();
  }

  // Drops one of `d`'s pending counts; the last builds its manifest, and so
  // on up the tree.
  Status Release(std::shared_ptr<CaptureDir> d) {
    while (d && --d->pending == 0) {
      RETURN_IF_ERROR(Finish(*d));
      std::shared_ptr<CaptureDir> parent = std::move(d->parent);
      if (!parent) {
        std::lock_guard<std::mutex> lock(mu_);
        out_.root = d->id;
        done_ = true;
        cv_.notify_all();
        return Status::Ok();
      }
      // Siblings write distinct entries of their parent, which is built later.
      parent->manifest.entries[d->slot].id = d->id;
      d = std::move(parent);
    }
    return Status::Ok();
  }

  // Builds and stores `d`'s manifest (or reuses the cached ID when its
  // entries are as cached), adds it to the next stat cache and frees its entries.
  Status Finish(CaptureDir& d) {
    SortCaptureDir(d);
    std::optional<ObjectId> cached =
        ctx_.reuse ? CachedCaptureManifest(*ctx_.walk->cache, d) : std::nullopt;
    if (cached) {
      d.id = *cached;
      reused_++;
    } else {
      RETURN_IF_ERROR(NormalizeManifest(d.manifest));
      std::string bytes = EncodeManifest(d.manifest);
      ASSIGN_OR_RETURN(d.id, ctx_.sink->Put(bytes));
      if (ctx_.keep) {
        std::lock_guard<std::mutex> lock(mu_);
        out_.manifests.emplace(d.id, std::move(bytes));
      }
    }
    if (NextStatCache* next = ctx_.next_cache) {
      bool same = cached && !d.fresh && !d.stat.racy && !d.warned && d.cached >= 0;
      next->Dir(d.rel, d.id, d.stat, d.warned, d.manifest.entries, d.stats, same, d.cached);
    }
    // What the walk has touched of the old cache goes every few thousand
    // directories: it is file-backed, but counts as this process's memory.
    if (++dirs_done_ % 4096 == 0) ctx_.walk->cache->ReleasePages();
    Hold(-static_cast<int64_t>(d.manifest.entries.size()));
    std::vector<Entry>().swap(d.manifest.entries);
    std::vector<StatEntry>().swap(d.stats);
    return Status::Ok();
  }

  void Hold(int64_t entries) {
    uint64_t now = held_ += static_cast<uint64_t>(entries);
    uint64_t peak = peak_held_;
    while (now > peak && !peak_held_.compare_exchange_weak(peak, now)) {
    }
  }

  const Context ctx_;
  CapturedTree& out_;
  std::mutex mu_;  // guards tasks_, done_, error_, out_
  std::condition_variable cv_;
  std::vector<Task> tasks_;
  bool done_ = false;
  Status error_;
  std::atomic<uint64_t> files_read_{0}, bytes_read_{0}, bytes_delta_{0}, reused_{0}, dirs_done_{0};
  std::atomic<uint64_t> fixable_{0};              // files read that came out not racy
  std::atomic<uint64_t> held_{0}, peak_held_{0};  // entries of listed directories not yet stored
};

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

  std::optional<CaptureSink> storing;
  if (opts.store) storing.emplace(ws.store(), opts.objects_per_batch);
  CaptureSink hash_only(nullptr);
  CaptureSink& sink = opts.store ? *storing : hash_only;
  // The next stat cache, its entries streamed to temp files as directories
  // are done from the first that changed. Without room for them, the snap
  // still goes on: the cache is a cache.
  NextStatCache next(cache, rules_id, ws.meta() / "tmp");
  bool caching = opts.store || opts.refresh_cache;
  Progress progress("Capturing", 0, 0, opts.progress);
  bool keep = !opts.store && !opts.refresh_cache;
  CaptureRun::Context ctx{&walk, walk.same_rules,           &sink,
                          keep,  caching ? &next : nullptr, &progress};
  ASSIGN_OR_RETURN(uint64_t dirs, CaptureRun(ctx, out).Run());
  progress.Done();
  out.stats.objects_written = sink.written();
  // Nothing listed or read, every manifest reused: the file would come out the same.
  bool unchanged = cache.from_file() && walk.same_rules && out.stats.dirs_listed == 0 &&
                   out.stats.files_read == 0 && out.stats.manifests_reused == dirs &&
                   cache.dir_count() == dirs;
  out.stat_cache_from_table = cache.from_table();
  std::optional<std::string> no_cache;
  if (caching && !unchanged) {
    // The directory that differed started it; if none did, it is the
    // same ones, copied.
    next.Start();
    if (Status st = next.status(); !st.ok()) no_cache = st.message();
  }
  if (!opts.store) {
    if (caching && !unchanged && !no_cache) out.stat_cache = next.Take();
    return out;
  }
  RETURN_IF_ERROR(sink.Commit());
  // A large capture commits a batch (an index) every objects_per_batch
  // objects, and each snap adds one: folding keeps lookups to a few.
  if (Result<FoldStats> folded = FoldIndexes(ws.store()); !folded.ok())
    out.stats.warnings.push_back("could not fold the pack indexes (" + folded.status().message() +
                                 "): lookups search more of them");
  if (no_cache)
    out.stats.warnings.push_back(StatCacheWarning(*no_cache, kWithoutCache));
  else if (!unchanged)
    out.stat_cache = next.Take();
  return out;
}

std::optional<std::string> SaveCapturedStatCache(Workspace& ws, const CapturedTree& tree) {
  return SaveStatCacheOrWarn(ws.meta(), ws.db(), tree.stat_cache.get(), tree.stat_cache_from_table,
                             kWithoutCache);
}

bool RefreshStatCache(Workspace& ws, const CapturedTree& looked, const std::string& command) {
  if (looked.stats.cache_fixable == 0) return false;
  auto head_root = [&]() -> std::optional<ObjectId> {
    Result<std::optional<ObjectId>> head = SnapIndex(ws.db()).Head();
    if (!head.ok() || !*head) return std::nullopt;
    Result<Snap> snap = TreeReader(ws.store()).ReadSnap(**head);
    if (!snap.ok()) return std::nullopt;
    return snap->root;
  };
  if (head_root() != looked.root) return false;
  LockOptions now;
  now.wait = false;
  Result<WorkspaceLock> lock = WorkspaceLock::Acquire(ws, command, now);
  if (!lock.ok()) return false;
  // Again under the lock, so that no snap or restore changes the head or
  // the cache meanwhile; what the first capture read is in the page cache.
  CaptureOptions opts;
  opts.store = false;
  opts.refresh_cache = true;
  Result<CapturedTree> again = CaptureTree(ws, opts);
  if (!again.ok() || !again->stat_cache || head_root() != again->root) return false;
  return SaveStatCache(ws.meta(), ws.db(), *again->stat_cache, again->stat_cache_from_table).ok();
}

}  // namespace converge
