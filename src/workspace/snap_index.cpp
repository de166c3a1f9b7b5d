#include "workspace/snap_index.h"

#include "base/hex.h"
#include "store/id_prefix.h"
#include "workspace/workspace_state.h"

namespace converge {

namespace {

constexpr const char* kSnapColumns = "id, root, created_at, message, workspace_id, parent, origin";

Result<SnapRecord> RowToRecord(const Stmt& q) {
  SnapRecord r;
  auto id = ObjectId::FromHex(q.Text(0));
  auto root = ObjectId::FromHex(q.Text(1));
  if (!id || !root) return Corrupt("snap record with a malformed ID in the workspace database");
  r.id = *id;
  r.snap.root = *root;
  r.snap.created_at = q.Text(2);
  r.snap.message = q.Text(3);
  r.snap.workspace_id = q.Text(4);
  if (!q.IsNull(5)) r.snap.parent = ObjectId::FromHex(q.Text(5));
  r.origin = q.Text(6);
  return r;
}

}  // namespace

Status SnapIndex::Add(const ObjectId& id, const Snap& s, const std::string& origin) {
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare("INSERT INTO snaps (id, root, created_at, message, "
                                        "workspace_id, parent, origin) VALUES "
                                        "(?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"));
  q.Bind(1, id.hex()).Bind(2, s.root.hex()).Bind(3, s.created_at).Bind(4, s.message);
  q.Bind(5, s.workspace_id).Bind(7, origin);
  if (s.parent) q.Bind(6, s.parent->hex());
  else q.BindNull(6);
  return q.Run();
}

Result<std::vector<SnapRecord>> SnapIndex::List(bool include_fetched, int limit) {
  std::string sql = std::string("SELECT ") + kSnapColumns + " FROM snaps" +
                    (include_fetched ? "" : " WHERE origin = 'local'") +
                    " ORDER BY seq DESC" + (limit >= 0 ? " LIMIT ?" : "");
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare(sql));
  if (limit >= 0) q.Bind(1, int64_t{limit});
  std::vector<SnapRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(SnapRecord r, RowToRecord(q));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::optional<SnapRecord>> SnapIndex::Newest() {
  ASSIGN_OR_RETURN(auto list, List(false, 1));
  if (list.empty()) return std::optional<SnapRecord>();
  return std::optional<SnapRecord>(list.front());
}

Result<SnapRecord> SnapIndex::Get(const ObjectId& id) {
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare(std::string("SELECT ") + kSnapColumns +
                                        " FROM snaps WHERE id = ?"));
  q.Bind(1, id.hex());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return NotFound("no snap " + id.hex() + " in this workspace");
  return RowToRecord(q);
}

Result<ObjectId> SnapIndex::Resolve(const std::string& prefix) {
  ASSIGN_OR_RETURN(std::string hex, ResolveIdPrefix(*db_, {.table = "snaps", .what = "snap"}, prefix));
  std::optional<ObjectId> id = ObjectId::FromHex(hex);
  if (!id) return Corrupt("snap record with a malformed ID in the workspace database");
  return *id;
}

Result<std::vector<SnapRow>> SnapIndex::ListUnchecked() {
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT id, root FROM snaps ORDER BY seq"));
  std::vector<SnapRow> rows;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    rows.push_back({q.Text(0), q.Text(1)});
  }
  return rows;
}

Result<std::optional<ObjectId>> SnapIndex::Head() {
  ASSIGN_OR_RETURN(std::optional<std::string> hex,
                   WorkspaceState(*db_).Get(WorkspaceState::kHead));
  if (!hex) return std::optional<ObjectId>();
  return ObjectId::FromHex(*hex);
}

Status SnapIndex::SetHead(const ObjectId& id) {
  return WorkspaceState(*db_).Set(WorkspaceState::kHead, id.hex());
}

}  // namespace converge
