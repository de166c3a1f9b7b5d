// The workspace fsck (workspace/fsck.h). The snaps, the fetched publications
// and the legacy stat cache table are read through their records classes'
// unchecked listings (SnapIndex::ListUnchecked, PublicationIndex::ListUnchecked,
// StatCache::ListRows), and the head raw from WorkspaceState: the checked
// readers fail on (or, for the head, hide) a malformed ID, where fsck must
// report it and go on. The stat cache file holds binary IDs, so it has no
// malformed ones: it is whole (checksum) or ignored, which is a warning.
#include "workspace/fsck.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

#include "base/fs.h"
#include "base/text.h"
#include "workspace/materialize.h"
#include "workspace/publication_index.h"
#include "workspace/snap_index.h"
#include "workspace/stat_cache.h"
#include "workspace/workspace_state.h"

namespace converge {

namespace {

// A temp file younger than this may belong to a converge command still
// running in this workspace (a long capture keeps finished temps until it
// commits them all), so --fix leaves it.
constexpr int64_t kTempRemoveAge = 3600;

std::string ShortSnapLabel(const std::string& hex) {
  return hex.substr(0, 12);
}

struct WorkspaceChecker {
  WorkspaceChecker(Workspace& w, bool f) : ws(w), fix(f) {}

  Workspace& ws;
  bool fix;
  FsckReport report;
  ObjectCensus census;
  std::unique_ptr<ClosureCheck> closure;
  // What the stat cache names that is not whole in the store: legacy rows
  // (paths), the file's file entries (directory, index) and directories.
  StatCache cache;
  std::vector<std::string> stale_rows;
  std::set<std::pair<int, uint32_t>> stale_files;
  std::set<int> stale_manifests;

  Status Run() {
    ASSIGN_OR_RETURN(census, TakeCensus(ws.store(), report));
    closure = std::make_unique<ClosureCheck>(ws.store(), census, report);
    ASSIGN_OR_RETURN(std::vector<TempFile> temps, ws.store().ListTemps());
    CheckTemps(temps, fix, kTempRemoveAge,
               "'converge fsck --fix' removes it once it is an hour old", report);
    CheckRestoreLeftovers();
    {
      // One read transaction: a consistent view even while another command writes.
      ASSIGN_OR_RETURN(Db::Tx read, ws.db().BeginRead());
      RETURN_IF_ERROR(CheckRecords());
    }
    if (!fix) return Status::Ok();
    RETURN_IF_ERROR(DropStaleCacheEntries());
    return MoveDamagedAside();
  }

  Status CheckRecords() {
    ASSIGN_OR_RETURN(std::vector<SnapRow> snaps, SnapIndex(ws.db()).ListUnchecked());
    for (const SnapRow& snap : snaps)
      RETURN_IF_ERROR(CheckSnap(snap.id_hex, "the snaps table", snap.root_hex));
    ASSIGN_OR_RETURN(std::optional<std::string> head,
                     WorkspaceState(ws.db()).Get(WorkspaceState::kHead));
    if (head) RETURN_IF_ERROR(CheckSnap(*head, "the head", ""));
    ASSIGN_OR_RETURN(std::vector<FetchedPublicationRow> pubs,
                     PublicationIndex(ws.db()).ListUnchecked());
    for (const FetchedPublicationRow& pub : pubs)
      RETURN_IF_ERROR(CheckSnap(pub.snap_hex, "fetched publication " + ShortSnapLabel(pub.id), ""));
    return CheckStatCache();
  }

  // `root`: the root the record says the snap has ("" when it says none).
  Status CheckSnap(const std::string& hex, const std::string& label, const std::string& root) {
    std::optional<ObjectId> id = ObjectId::FromHex(hex);
    if (!id) {
      report.Error(label, "names a malformed snap ID " + Quote(hex));
      return Status::Ok();
    }
    closure->Check(ObjectKind::kSnap, *id, label);
    const Snap* snap = closure->SnapOf(*id);
    if (snap && !root.empty() && snap->root.hex() != root)
      report.Error("snap " + hex, label + " records its root as " + root + ", but the snap names " +
                                      snap->root.hex());
    return Status::Ok();
  }

  // A killed `restore` leaves `.converge-restore.<16 hex>.tmp` files in the
  // working tree (in place) or a staging directory beside DIR (--to): looked
  // for in the tree and beside the workspace, where `--to ../out` puts them.
  // Only names restore makes (Workspace::IsRestoreLeftover, the rule snap
  // and restore use too): a user's file of a similar name is theirs.
  void CheckRestoreLeftovers() {
    std::vector<fs::path> found;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(ws.root(), ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code fec;
      std::string name = it->path().filename().string();
      bool leftover = Workspace::IsRestoreLeftover(name);
      if (leftover) found.push_back(it->path());
      if ((leftover || name == Workspace::kMetaDir) && it->is_directory(fec))
        it.disable_recursion_pending();
    }
    std::error_code pec;
    for (const auto& e : fs::directory_iterator(ws.root().parent_path(), pec))
      if (Workspace::IsRestoreLeftover(e.path().filename().string())) found.push_back(e.path());
    for (const fs::path& p : found) {
      auto [files, age] = NewestWrite(p);
      if (fix && age >= kTempRemoveAge) {
        if (RemoveLeftover(p).ok()) {
          report.fixed.push_back("removed the leftover of an interrupted restore " + p.string());
          continue;
        }
      }
      report.Warn(p.string(), "left by an interrupted 'converge restore' (" +
                                  std::to_string(files) + " files, last written " +
                                  std::to_string(age) + " s ago): 'converge fsck --fix' " +
                                  "removes it once it is an hour old");
    }
  }

  // Never follows a symlink, and works at any depth (a restore killed by the
  // crash of older converge versions could leave thousands of levels).
  static Status RemoveLeftover(const fs::path& p) {
    int fd = ::open(p.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open " + Quote(p.parent_path().string()), errno);
    Fd parent(fd);
    uint64_t removed = 0;
    return RemoveAllAt(fd, p.filename().string(), p.string(), &removed);
  }

  // The files under `p` (or 1 for a file) and the age in seconds of the
  // newest write to it or anything under it: a restore still running keeps it young.
  static std::pair<uint64_t, int64_t> NewestWrite(const fs::path& p) {
    int64_t newest = 0;
    auto note = [&](const fs::path& q) {
      struct stat st;
      if (::lstat(q.c_str(), &st) == 0) newest = std::max<int64_t>(newest, st.st_mtime);
    };
    note(p);
    uint64_t files = 0;
    std::error_code ec;
    if (fs::symlink_status(p, ec).type() != fs::file_type::directory)
      files = 1;
    else
      for (auto it = fs::recursive_directory_iterator(p, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code fec;
        if (!it->is_directory(fec)) files++;
        note(it->path());
      }
    return {files, static_cast<int64_t>(::time(nullptr)) - newest};
  }

  // Whether (kind, id) and everything under it is there, without reporting.
  bool Whole(ObjectKind kind, const ObjectId& id) {
    if (std::optional<bool> known = closure->WasIntact(kind, id)) return *known;
    FsckReport quiet;
    return ClosureCheck(ws.store(), census, quiet).Check(kind, id, "");
  }

  // What the next snap would trust: the stat cache file, or (a workspace
  // whose file was never written) the legacy table's rows.
  Status CheckStatCache() {
    std::string problem;
    ASSIGN_OR_RETURN(cache, StatCache::Load(ws.meta(), ws.db(), &problem));
    if (!problem.empty())
      report.Warn((ws.meta() / StatCache::kFileName).string(),
                  problem + ": it is only a cache, ignored; the next snap reads every file " +
                      "again and rewrites it");
    if (!cache.from_file()) return CheckStatCacheRows();
    for (size_t d = 0; d < cache.dir_count(); d++) {
      int dir = static_cast<int>(d);
      std::optional<ObjectId> manifest = cache.DirManifest(dir);
      if (manifest && !Whole(ObjectKind::kManifest, *manifest)) {
        stale_manifests.insert(dir);
        if (!fix)
          report.Warn("stat cache directory " + Quote(DisplayDir(cache.DirPath(dir))),
                      "names manifest " + manifest->hex() + ", which is missing or damaged, or " +
                          "misses an object under it: run 'converge fsck --fix' before the " +
                          "next snap, so that it stores the directory again");
      }
      for (uint32_t i = 0; i < cache.DirSize(dir); i++) {
        CachedEntry e = cache.At(dir, i);
        if (e.kind != CachedKind::kFile) continue;
        ObjectKind kind = e.stat.chunked ? ObjectKind::kChunkList : ObjectKind::kBlob;
        if (Whole(kind, e.stat.id)) continue;
        std::string path = JoinPath(std::string(cache.DirPath(dir)), std::string(e.name));
        stale_files.insert({dir, i});
        if (!fix)
          report.Warn("stat cache entry " + Quote(path),
                      "names " + std::string(KindName(kind)) + " " + e.stat.id.hex() +
                          ", which is missing or damaged: run 'converge fsck --fix' before " +
                          "the next snap, so that it reads the file again");
      }
    }
    return Status::Ok();
  }

  static std::string DisplayDir(std::string_view path) {
    return path.empty() ? "." : std::string(path);
  }

  Status CheckStatCacheRows() {
    ASSIGN_OR_RETURN(std::vector<StatCacheRow> rows, StatCache::ListRows(ws.db()));
    for (const StatCacheRow& row : rows) {
      ObjectKind kind = row.chunked ? ObjectKind::kChunkList : ObjectKind::kBlob;
      std::optional<ObjectId> id = ObjectId::FromHex(row.id_hex);
      if (id && Whole(kind, *id)) continue;
      stale_rows.push_back(row.path);
      if (!fix)
        report.Warn("stat cache entry " + Quote(row.path),
                    "names " + std::string(KindName(kind)) + " " + row.id_hex +
                        ", which is missing or damaged: run 'converge fsck --fix' before the " +
                        "next snap, so that it reads the file again");
    }
    return Status::Ok();
  }

  Status DropStaleCacheEntries() {
    RETURN_IF_ERROR(StatCache::Drop(ws.db(), stale_rows));
    for (const std::string& path : stale_rows)
      report.fixed.push_back("dropped the stat cache entry of " + Quote(path) +
                             ": the next snap reads the file again");
    if (stale_files.empty() && stale_manifests.empty()) return Status::Ok();
    // The file again, without what is stale (the lock keeps snaps out meanwhile).
    StatCacheWriter w(cache.rules());
    for (size_t d = 0; d < cache.dir_count(); d++) {
      int dir = static_cast<int>(d);
      std::string dir_path(cache.DirPath(dir));
      bool stale_manifest = stale_manifests.count(dir) > 0;
      // A directory that loses an entry is no longer listed whole by the
      // cache: racy, so the next snap lists it instead of trusting its stat
      // (else it would leave the file out of the snap).
      StatEntry dir_stat = cache.DirStat(dir);
      auto dropped = stale_files.lower_bound({dir, 0});
      if (dropped != stale_files.end() && dropped->first == dir) dir_stat.racy = true;
      w.Dir(dir_path, stale_manifest ? std::nullopt : cache.DirManifest(dir), dir_stat,
            cache.DirWarned(dir));
      if (stale_manifest)
        report.fixed.push_back("dropped the cached manifest of directory " +
                               Quote(DisplayDir(dir_path)) + ": the next snap stores it again");
      for (uint32_t i = 0; i < cache.DirSize(dir); i++) {
        CachedEntry e = cache.At(dir, i);
        if (stale_files.count({dir, i})) {
          report.fixed.push_back("dropped the stat cache entry of " +
                                 Quote(JoinPath(dir_path, std::string(e.name))) +
                                 ": the next snap reads the file again");
          continue;
        }
        if (e.kind == CachedKind::kFile) w.File(e.name, e.stat, e.executable);
        if (e.kind == CachedKind::kDir) w.Subdir(e.name, e.stat.id);
        if (e.kind == CachedKind::kSymlink) w.Symlink(e.name, e.target);
      }
    }
    return SaveStatCache(ws.meta(), ws.db(), w.Finish(), false);
  }

  // A damaged copy is worthless and, left in place, keeps a later snap or
  // fetch from storing a good one (they skip what the store has): loose
  // files move aside, packed copies are quarantined (their bytes kept aside).
  Status MoveDamagedAside() {
    fs::path aside = ws.meta() / "damaged";
    for (const auto* ids : {&census.damaged, &census.shadowed})
      for (const ObjectId& id : *ids) {
        ASSIGN_OR_RETURN(std::vector<std::string> done, ws.store().SetAsideDamaged(id, aside));
        report.fixed.insert(report.fixed.end(), done.begin(), done.end());
      }
    return Status::Ok();
  }
};

}  // namespace

Result<FsckReport> CheckWorkspace(Workspace& ws) {
  WorkspaceChecker check(ws, false);
  RETURN_IF_ERROR(check.Run());
  return std::move(check.report);
}

Result<FsckReport> FixWorkspace(Workspace& ws) {
  WorkspaceChecker check(ws, true);
  RETURN_IF_ERROR(check.Run());
  return std::move(check.report);
}

}  // namespace converge
