#include "workspace/diff.h"

#include "workspace/capture.h"
#include "workspace/snap_index.h"
#include "workspace/snapshot.h"

namespace converge {

namespace {

Result<ObjectId> RootOf(Workspace& ws, const ObjectId& snap) {
  ASSIGN_OR_RETURN(Snap s, TreeReader(ws.store()).ReadSnap(snap));
  return s.root;
}

}  // namespace

Result<std::vector<Change>> DiffWorkspace(Workspace& ws, const std::optional<std::string>& from,
                                          const std::optional<std::string>& to) {
  ObjectId from_snap;
  if (from) {
    ASSIGN_OR_RETURN(from_snap, ResolveSnapArg(ws, *from));
  } else {
    ASSIGN_OR_RETURN(std::optional<ObjectId> head, SnapIndex(ws.db()).Head());
    if (!head) return NotFound("no snaps yet: give a snap to compare, or run 'converge snap'");
    from_snap = *head;
  }
  ASSIGN_OR_RETURN(ObjectId from_root, RootOf(ws, from_snap));
  ObjectId to_root;
  CapturedTree work;  // the working tree's manifests, held in memory only
  if (to) {
    ASSIGN_OR_RETURN(ObjectId to_snap, ResolveSnapArg(ws, *to));
    ASSIGN_OR_RETURN(to_root, RootOf(ws, to_snap));
  } else {
    CaptureOptions opts;
    opts.store = false;
    ASSIGN_OR_RETURN(work, CaptureTree(ws, opts));
    RefreshStatCache(ws, work, "converge diff");
    to_root = work.root;
  }
  TreeReader reader(ws.store(), &work.manifests);
  return DiffTrees(reader, from_root, to_root);
}

}  // namespace converge
