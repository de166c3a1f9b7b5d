// The workspace fsck (workspace/fsck.h). The snaps, the fetched publications
// and the stat cache are read through their records classes' unchecked
// listings (SnapIndex::ListUnchecked, PublicationIndex::ListUnchecked,
// StatCache::ListRows), and the head raw from WorkspaceState: the checked
// readers fail on (or, for the head, hide) a malformed ID, where fsck must
// report it and go on.
#include "workspace/fsck.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <memory>
#include <optional>

#include "base/fs.h"
#include "base/text.h"
#include "workspace/publication_index.h"
#include "workspace/snap_index.h"
#include "workspace/stat_cache.h"
#include "workspace/workspace_state.h"
#include "workspace/materialize.h"

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
  Workspace& ws;
  bool fix;
  FsckReport report;
  ObjectCensus census;
  std::unique_ptr<ClosureCheck> closure;
  std::vector<std::string> stale_cache;  // paths whose cached IDs are not whole in the store

  Status Run() {
    ASSIGN_OR_RETURN(census, TakeCensus(ws.store(), report));
    closure = std::make_unique<ClosureCheck>(ws.store(), census, report);
    ASSIGN_OR_RETURN(std::vector<TempFile> temps, ListTemps(ws.store()));
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
      RETURN_IF_ERROR(
          CheckSnap(pub.snap_hex, "fetched publication " + ShortSnapLabel(pub.id), ""));
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

  Status CheckStatCache() {
    ASSIGN_OR_RETURN(std::vector<StatCacheRow> rows, StatCache::ListRows(ws.db()));
    for (const StatCacheRow& row : rows) {
      ObjectKind kind = row.chunked ? ObjectKind::kChunkList : ObjectKind::kBlob;
      std::optional<ObjectId> id = ObjectId::FromHex(row.id_hex);
      if (id && Whole(kind, *id)) continue;
      stale_cache.push_back(row.path);
      if (!fix)
        report.Warn("stat cache entry " + Quote(row.path),
                    "names " + std::string(KindName(kind)) + " " + row.id_hex +
                        ", which is missing or damaged: run 'converge fsck --fix' before the " +
                        "next snap, so that it reads the file again");
    }
    return Status::Ok();
  }

  Status DropStaleCacheEntries() {
    RETURN_IF_ERROR(StatCache::Drop(ws.db(), stale_cache));
    for (const std::string& path : stale_cache)
      report.fixed.push_back("dropped the stat cache entry of " + Quote(path) +
                             ": the next snap reads the file again");
    return Status::Ok();
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
  WorkspaceChecker check{ws, false, {}, {}, nullptr, {}};
  RETURN_IF_ERROR(check.Run());
  return std::move(check.report);
}

Result<FsckReport> FixWorkspace(Workspace& ws) {
  WorkspaceChecker check{ws, true, {}, {}, nullptr, {}};
  RETURN_IF_ERROR(check.Run());
  return std::move(check.report);
}

}  // namespace converge
