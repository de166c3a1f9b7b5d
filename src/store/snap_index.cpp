#include "store/snap_index.h"

#include "base/hex.h"
#include "store/workspace_state.h"

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
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare("INSERT OR IGNORE INTO snaps (id, root, created_at, "
                                        "message, workspace_id, parent, origin) "
                                        "VALUES (?, ?, ?, ?, ?, ?, ?)"));
  q.Bind(1, id.hex()).Bind(2, s.root.hex()).Bind(3, s.created_at).Bind(4, s.message);
  q.Bind(5, s.workspace_id).Bind(7, origin);
  if (s.parent) q.Bind(6, s.parent->hex());
  else q.BindNull(6);
  return q.Run();
}

Result<std::vector<SnapRecord>> SnapIndex::List(bool include_fetched, int limit) {
  std::string sql = std::string("SELECT ") + kSnapColumns + " FROM snaps" +
                    (include_fetched ? "" : " WHERE origin = 'local'") +
                    " ORDER BY seq DESC LIMIT ?";
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare(sql));
  q.Bind(1, int64_t{limit});
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
  RETURN_IF_ERROR(ValidatePrefix(prefix, "snap"));
  ASSIGN_OR_RETURN(auto matches, FindPrefixMatches(*db_, "snaps", "id", prefix));
  ASSIGN_OR_RETURN(std::string hex, PickPrefixMatch(prefix, matches, "snap"));
  return *ObjectId::FromHex(hex);
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

Status ValidatePrefix(const std::string& prefix, const std::string& what) {
  if (prefix.size() < 4 || prefix.size() > 64 || !IsLowerHex(prefix))
    return Invalid("'" + prefix + "' is not a " + what +
                   " ID: give at least 4 lowercase hex characters of one");
  return Status::Ok();
}

Result<std::vector<std::string>> FindPrefixMatches(Db& db, const std::string& table,
                                                   const std::string& column,
                                                   const std::string& prefix) {
  // A range scan on the indexed column: prefix <= id < prefix + '~' ('~' sorts after hex digits).
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT " + column + " FROM " + table + " WHERE " +
                                      column + " >= ? AND " + column + " < ? ORDER BY " +
                                      column + " LIMIT 10"));
  q.Bind(1, prefix).Bind(2, prefix + "~");
  std::vector<std::string> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(q.Text(0));
  }
  return out;
}

Result<std::string> PickPrefixMatch(const std::string& prefix,
                                    const std::vector<std::string>& matches,
                                    const std::string& what) {
  if (matches.empty()) return NotFound("no " + what + " matches '" + prefix + "'");
  if (matches.size() == 1) return matches.front();
  std::string list;
  for (const auto& m : matches) list += (list.empty() ? "" : ", ") + m;
  return Invalid(what + " ID '" + prefix + "' is ambiguous: it could be " + list +
                 (matches.size() >= 10 ? " and more" : "") + "; give more characters");
}

}  // namespace converge
