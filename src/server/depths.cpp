#include "server/depths.h"

#include <optional>

#include "store/objects.h"
#include "store/tree_depth.h"

namespace converge {

namespace {

constexpr uint64_t kMaxMeasuredObject = 256u << 20;
constexpr size_t kUnmeasuredNamed = 5;

struct Unmeasured {
  ObjectKind kind;
  ObjectId id;
};

Result<std::vector<Unmeasured>> ListUnmeasured(Db& db) {
  // The partial index objects_unmeasured makes this free once all are measured.
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT id, kind FROM objects WHERE depth IS NULL"));
  std::vector<Unmeasured> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    std::optional<ObjectId> id = ObjectId::FromHex(q.Text(0));
    std::optional<ObjectKind> kind = KindFromName(q.Text(1));
    if (id && kind) out.push_back({*kind, *id});
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> MeasureStoredDepths(Db& db, const ObjectStore& store) {
  ASSIGN_OR_RETURN(std::vector<Unmeasured> todo, ListUnmeasured(db));
  std::vector<std::string> notes;
  if (todo.empty()) return notes;
  TreeDepth depth([&](const ObjectId& id)
                      -> Result<std::vector<std::pair<std::string, ObjectId>>> {
    ASSIGN_OR_RETURN(std::string bytes, store.Read(id, kMaxMeasuredObject));
    ASSIGN_OR_RETURN(Manifest m, DecodeManifest(bytes));
    std::vector<std::pair<std::string, ObjectId>> out;
    for (const Entry& e : m.entries)
      if (e.type == EntryType::kDir) out.emplace_back(e.name, e.id);
    return out;
  });
  auto measure = [&](const Unmeasured& u) -> Result<uint64_t> {
    if (u.kind == ObjectKind::kManifest) return depth.Of(u.id);
    if (u.kind != ObjectKind::kSnap) return uint64_t{0};
    ASSIGN_OR_RETURN(std::string bytes, store.Read(u.id, kMaxMeasuredObject));
    ASSIGN_OR_RETURN(Snap s, DecodeSnap(bytes));
    return depth.Of(s.root);
  };
  ASSIGN_OR_RETURN(Db::Tx tx, db.BeginWrite());
  ASSIGN_OR_RETURN(Stmt set, db.Prepare("UPDATE objects SET depth = ? WHERE id = ? AND kind = ?"));
  size_t measured = 0, failed = 0, too_deep = 0;
  for (const Unmeasured& u : todo) {
    Result<uint64_t> d = measure(u);
    if (!d.ok()) {
      if (failed++ < kUnmeasuredNamed)
        notes.push_back("could not measure the depth of " + Describe(u.kind, u.id) + ": " +
                        d.status().message() + " (run 'converge serve --fsck')");
      continue;
    }
    set.Reset();
    RETURN_IF_ERROR(set.Bind(1, static_cast<int64_t>(*d)).Bind(2, u.id.hex()).Bind(3, KindName(u.kind)).Run());
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
