#include "store/object_records.h"

namespace converge {

namespace {

// The sizes of a row whose columns `col`, `col + 1`, `col + 2` are size,
// content_size and depth.
HeldObject SizesAt(const Stmt& q, int col) {
  HeldObject h{static_cast<uint64_t>(q.Int(col)), static_cast<uint64_t>(q.Int(col + 1))};
  if (q.IsNull(col + 2))
    h.depth.reset();
  else
    h.depth = static_cast<uint64_t>(q.Int(col + 2));
  return h;
}

// Kind and ID in columns 0 and 1, sizes from column 2 (unless NULL).
ObjectRow RowOf(const Stmt& q) {
  ObjectRow r{q.Text(0), q.Text(1), KindFromName(q.Text(0)), ObjectId::FromHex(q.Text(1)), {}};
  if (!q.IsNull(2)) r.sizes = SizesAt(q, 2);
  return r;
}

Status EachRow(Stmt& q, const std::function<Status(const ObjectRow&)>& fn) {
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::Ok();
    RETURN_IF_ERROR(fn(RowOf(q)));
  }
}

}  // namespace

Result<std::optional<HeldObject>> ObjectRecords::Held(int64_t repo_id, ObjectKind kind,
                                                      const ObjectId& id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT o.size, o.content_size, o.depth FROM repo_objects r "
                                       "JOIN objects o ON o.id = r.object_id AND o.kind = r.kind "
                                       "WHERE r.repo_id = ? AND r.kind = ? AND r.object_id = ?"));
  q.Bind(1, repo_id).Bind(2, KindName(kind)).Bind(3, id.hex());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<HeldObject>();
  return std::optional<HeldObject>(SizesAt(q, 0));
}

Result<uint64_t> ObjectRecords::Link(int64_t repo_id, const std::vector<NewObject>& objects) {
  ASSIGN_OR_RETURN(Stmt obj,
                   db_.Prepare("INSERT INTO objects (id, kind, size, content_size, depth) "
                               "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id, kind) DO UPDATE "
                               "SET depth = excluded.depth WHERE objects.depth IS NULL"));
  // RETURNING yields a row only for a link that was not there before.
  ASSIGN_OR_RETURN(Stmt link, db_.Prepare("INSERT INTO repo_objects (repo_id, kind, object_id) "
                                          "VALUES (?, ?, ?) ON CONFLICT (repo_id, kind, object_id) "
                                          "DO NOTHING RETURNING repo_id"));
  uint64_t added = 0;
  for (const NewObject& o : objects) {
    std::string hex = o.id.hex();
    obj.Reset();
    obj.Bind(1, hex).Bind(2, KindName(o.kind));
    obj.Bind(3, static_cast<int64_t>(o.sizes.size))
        .Bind(4, static_cast<int64_t>(o.sizes.content_size))
        .Bind(5, static_cast<int64_t>(o.sizes.depth.value_or(0)));
    RETURN_IF_ERROR(obj.Run());
    link.Reset();
    link.Bind(1, repo_id).Bind(2, KindName(o.kind)).Bind(3, hex);
    ASSIGN_OR_RETURN(bool row, link.Step());
    if (row) {
      added++;
      RETURN_IF_ERROR(link.Run());  // to completion
    }
  }
  return added;
}

Status ObjectRecords::ForEachObject(const std::function<Status(const ObjectRow&)>& fn) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT kind, id, size, content_size, depth FROM objects"));
  return EachRow(q, fn);
}

Status ObjectRecords::ForEachHeld(int64_t repo_id,
                                  const std::function<Status(const ObjectRow&)>& fn) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT r.kind, r.object_id, o.size, o.content_size, "
                                       "o.depth FROM repo_objects r LEFT JOIN objects o ON "
                                       "o.id = r.object_id AND o.kind = r.kind "
                                       "WHERE r.repo_id = ?"));
  q.Bind(1, repo_id);
  return EachRow(q, fn);
}

Result<uint64_t> ObjectRecords::Count() {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT COUNT(*) FROM objects"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? static_cast<uint64_t>(q.Int(0)) : uint64_t{0};
}

Result<std::vector<ObjectRef>> ObjectRecords::Unmeasured() {
  // The partial index objects_unmeasured makes this free once all are measured.
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT id, kind FROM objects WHERE depth IS NULL"));
  std::vector<ObjectRef> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    std::optional<ObjectId> id = ObjectId::FromHex(q.Text(0));
    std::optional<ObjectKind> kind = KindFromName(q.Text(1));
    if (id && kind) out.push_back({*kind, *id});
  }
  return out;
}

Status ObjectRecords::SetDepth(ObjectKind kind, const ObjectId& id, uint64_t depth) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("UPDATE objects SET depth = ? WHERE id = ? AND kind = ?"));
  return q.Bind(1, static_cast<int64_t>(depth)).Bind(2, id.hex()).Bind(3, KindName(kind)).Run();
}

Status ObjectRecords::Unlink(int64_t repo_id, ObjectKind kind, const ObjectId& id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("DELETE FROM repo_objects WHERE repo_id = ? AND kind = ? "
                                       "AND object_id = ?"));
  return q.Bind(1, repo_id).Bind(2, KindName(kind)).Bind(3, id.hex()).Run();
}

Status ObjectRecords::DropIfUnheld(ObjectKind kind, const ObjectId& id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("DELETE FROM objects WHERE id = ? AND kind = ? AND NOT "
                                       "EXISTS (SELECT 1 FROM repo_objects WHERE object_id = ? "
                                       "AND kind = ?)"));
  std::string hex = id.hex();
  return q.Bind(1, hex).Bind(2, KindName(kind)).Bind(3, hex).Bind(4, KindName(kind)).Run();
}

}  // namespace converge
