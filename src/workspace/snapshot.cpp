#include "workspace/snapshot.h"

#include "base/text.h"
#include "workspace/publication_index.h"
#include "workspace/snap_index.h"
#include "store/tree.h"

namespace converge {

Result<SnapResult> TakeSnap(Workspace& ws, const std::string& message, bool progress) {
  if (!IsValidUtf8(message)) return Invalid("the snap message is not valid UTF-8");
  CaptureOptions opts;
  opts.progress = progress;
  ASSIGN_OR_RETURN(CapturedTree tree, CaptureTree(ws, opts));
  SnapIndex index(ws.db());
  ASSIGN_OR_RETURN(std::optional<SnapRecord> newest, index.Newest());
  SnapResult r;
  r.snap.root = tree.root;
  r.snap.created_at = NowRfc3339();
  r.snap.message = message;
  r.snap.workspace_id = ws.config().workspace_id;
  if (newest) r.snap.parent = newest->id;
  ASSIGN_OR_RETURN(r.id, ws.store().Put(EncodeSnap(r.snap)));
  ASSIGN_OR_RETURN(Db::Tx tx, ws.db().BeginWrite());
  RETURN_IF_ERROR(index.Add(r.id, r.snap, "local"));
  RETURN_IF_ERROR(index.SetHead(r.id));
  RETURN_IF_ERROR(tx.Commit());
  r.stats = std::move(tree.stats);
  if (std::optional<std::string> warning = SaveCapturedStatCache(ws, tree))
    r.stats.warnings.push_back(std::move(*warning));
  return r;
}

Result<ObjectId> ResolveSnapArg(Workspace& ws, const std::string& arg) {
  Result<ObjectId> snap = SnapIndex(ws.db()).Resolve(arg);
  if (snap.ok() || snap.status().code() != Code::kNotFound) return snap;
  // Not a snap: a fetched publication names one.
  Result<Publication> pub = PublicationIndex(ws.db()).Resolve(arg);
  if (pub.status().code() == Code::kNotFound)
    return NotFound("no snap matches '" + arg + "', nor does any fetched publication (see " +
                    "'converge snaps --all' and 'converge publications')");
  if (!pub.ok()) return pub.status();
  std::optional<ObjectId> id = ObjectId::FromHex(pub->snap);
  if (!id) return Corrupt("publication " + pub->id + " has no valid snap in the workspace database");
  return *id;
}

Result<TreeSummary> Summarize(const ObjectStore& store, const ObjectId& root) {
  TreeSummary s;
  TreeReader reader(store);
  RETURN_IF_ERROR(WalkTree(reader, root, [&](const std::string&, const Entry& e) {
    if (e.type == EntryType::kFile) s.files++, s.bytes += e.size;
    if (e.type == EntryType::kDir) s.dirs++;
    if (e.type == EntryType::kSymlink) s.symlinks++;
    return Status::Ok();
  }));
  return s;
}

}  // namespace converge
