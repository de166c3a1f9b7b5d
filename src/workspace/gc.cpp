#include "workspace/gc.h"

#include <optional>
#include <string>
#include <vector>

#include "workspace/publication_index.h"
#include "workspace/snap_index.h"
#include "workspace/stat_cache.h"
#include "workspace/workspace_state.h"

namespace converge {

namespace {

Result<ObjectId> ParseRecorded(const std::string& hex, const std::string& what) {
  std::optional<ObjectId> id = ObjectId::FromHex(hex);
  if (!id)
    return Corrupt(what + " is not a well-formed ID (" + hex +
                   "): gc cannot tell what it needs and removes nothing; run 'converge fsck'");
  return *id;
}

std::string GcShortId(const ObjectId& id) {
  return id.hex().substr(0, 12);
}

// Everything the stat cache names, with what is under its manifests.
Status WalkStatCache(const StatCache& cache, LiveWalk& walk, uint64_t* count) {
  const std::string label = "the stat cache";
  auto add = [&](ObjectKind kind, const ObjectId& id) {
    (*count)++;
    return walk.Add(kind, id, label)
        .With("the stat cache names it ('converge fsck --fix' drops such entries)");
  };
  for (size_t d = 0; d < cache.dir_count(); d++) {
    int dir = static_cast<int>(d);
    if (std::optional<ObjectId> m = cache.DirManifest(dir))
      RETURN_IF_ERROR(add(ObjectKind::kManifest, *m));
    for (uint32_t i = 0; i < cache.DirSize(dir); i++) {
      CachedEntry e = cache.At(dir, i);
      if (e.kind == CachedKind::kDir) RETURN_IF_ERROR(add(ObjectKind::kManifest, e.stat.id));
      if (e.kind == CachedKind::kFile)
        RETURN_IF_ERROR(
            add(e.stat.chunked ? ObjectKind::kChunkList : ObjectKind::kBlob, e.stat.id));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<WorkspaceGcReport> CollectWorkspaceGarbage(Workspace& ws, int64_t grace_seconds,
                                                  bool dry_run, bool all) {
  GcOptions options;
  options.cutoff = GcCutoff(grace_seconds);  // before the roots are read
  options.dry_run = dry_run;
  options.rewrite_all = all;
  WorkspaceGcReport report;
  LiveSet live;
  LiveWalk walk(ws.store(), live);
  {
    ASSIGN_OR_RETURN(Db::Tx read, ws.db().BeginRead());
    ASSIGN_OR_RETURN(std::vector<SnapRow> snaps, SnapIndex(ws.db()).ListUnchecked());
    for (const SnapRow& row : snaps) {
      ASSIGN_OR_RETURN(ObjectId id, ParseRecorded(row.id_hex, "a snaps row"));
      ASSIGN_OR_RETURN(ObjectId root,
                       ParseRecorded(row.root_hex, "the root of snap " + GcShortId(id)));
      RETURN_IF_ERROR(walk.Add(ObjectKind::kSnap, id, "snap " + GcShortId(id)));
      RETURN_IF_ERROR(walk.Add(ObjectKind::kManifest, root, "snap " + GcShortId(id)));
      report.snaps++;
    }
    ASSIGN_OR_RETURN(std::optional<std::string> head,
                     WorkspaceState(ws.db()).Get(WorkspaceState::kHead));
    if (head && !head->empty()) {
      ASSIGN_OR_RETURN(ObjectId id, ParseRecorded(*head, "the head"));
      RETURN_IF_ERROR(walk.Add(ObjectKind::kSnap, id, "the head"));
      report.head = true;
    }
    ASSIGN_OR_RETURN(std::vector<FetchedPublicationRow> pubs,
                     PublicationIndex(ws.db()).ListUnchecked());
    for (const FetchedPublicationRow& p : pubs) {
      ASSIGN_OR_RETURN(ObjectId id, ParseRecorded(p.snap_hex, "the snap of publication " + p.id));
      RETURN_IF_ERROR(walk.Add(ObjectKind::kSnap, id, "publication " + p.id));
      report.publications++;
    }
    ASSIGN_OR_RETURN(StatCache cache, StatCache::Load(ws.meta(), ws.db()));
    RETURN_IF_ERROR(WalkStatCache(cache, walk, &report.cached));
  }
  live.Seal();
  ASSIGN_OR_RETURN(report.stats, CollectGarbage(ws.store(), live, options));
  return report;
}

}  // namespace converge
