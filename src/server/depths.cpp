#include "server/depths.h"

#include <optional>

#include "store/object_records.h"
#include "store/tree.h"
#include "store/tree_depth.h"

namespace converge {

namespace {

constexpr size_t kUnmeasuredNamed = 5;

}  // namespace

Result<std::vector<std::string>> MeasureStoredDepths(Db& db, const ObjectStore& store) {
  ObjectRecords records(db);
  ASSIGN_OR_RETURN(std::vector<ObjectRef> todo, records.Unmeasured());
  std::vector<std::string> notes;
  if (todo.empty()) return notes;
  TreeReader reader(store);
  TreeDepth depth(reader);
  auto measure = [&](const ObjectRef& u) -> Result<uint64_t> {
    if (u.kind == ObjectKind::kManifest) return depth.Of(u.id);
    if (u.kind != ObjectKind::kSnap) return uint64_t{0};
    ASSIGN_OR_RETURN(Snap s, reader.ReadSnap(u.id));
    return depth.Of(s.root);
  };
  ASSIGN_OR_RETURN(Db::Tx tx, db.BeginWrite());
  size_t measured = 0, failed = 0, too_deep = 0;
  for (const ObjectRef& u : todo) {
    Result<uint64_t> d = measure(u);
    if (!d.ok()) {
      if (failed++ < kUnmeasuredNamed)
        notes.push_back("could not measure the depth of " + Describe(u.kind, u.id) + ": " +
                        d.status().message() + " (run 'converge serve --fsck')");
      continue;
    }
    RETURN_IF_ERROR(records.SetDepth(u.kind, u.id, *d));
    measured++;
    if (*d > kMaxTreeDepth) too_deep++;
  }
  RETURN_IF_ERROR(tx.Commit());
  std::string summary = "measured the tree depth of " + std::to_string(measured) +
                        " objects stored before depths were recorded";
  if (too_deep > 0)
    summary += "; " + std::to_string(too_deep) + " are deeper than the limit of " +
               std::to_string(kMaxTreeDepth) + " levels and can no longer be published";
  if (failed > 0) summary += "; " + std::to_string(failed) + " could not be measured";
  notes.insert(notes.begin(), summary);
  return notes;
}

}  // namespace converge
