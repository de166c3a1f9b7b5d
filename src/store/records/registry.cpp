#include "store/records/registry.h"

#include <map>

#include "base/text.h"

namespace converge {

namespace {

// Steps `q` to the end, making one T of each row with `row`.
template <class T, class F>
Result<std::vector<T>> RegistryRows(Stmt& q, F row) {
  std::vector<T> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, q.Step());
    if (!more) return out;
    out.push_back(row(q));
  }
}

// Runs `q`, which returns a row only when it changed one (RETURNING on an
// INSERT ... ON CONFLICT DO NOTHING or a DELETE): whether it did.
Result<bool> ChangedRow(Stmt& q) {
  ASSIGN_OR_RETURN(bool row, q.Step());
  q.Reset();
  return row;
}

RepoListingRow ListingFrom(const Stmt& q) {
  return {q.Text(0), q.Text(1), q.Text(2), q.Text(3)};
}

// Inserts a row of `table` (lanes or scopes: the same columns, keyed by repo
// and name); kConflict "WHAT 'NAME' already exists" when the repo has it.
Status InsertNamed(Db& db, const std::string& table, const char* what, int64_t repo_id,
                   std::string_view name, std::string_view created_at) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("INSERT INTO " + table + " (repo_id, name, created_at) "
                                      "VALUES (?, ?, ?) ON CONFLICT (repo_id, name) DO NOTHING "
                                      "RETURNING name"));
  q.Bind(1, repo_id).Bind(2, name).Bind(3, created_at);
  ASSIGN_OR_RETURN(bool made, ChangedRow(q));
  if (!made) return Conflict(std::string(what) + " " + Quote(name) + " already exists");
  return Status::Ok();
}

}  // namespace

// ---- repos, repo_members ----

Result<int64_t> RepoRecords::Create(std::string_view name, std::string_view created_at,
                                    int64_t created_by) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("INSERT INTO repos (name, created_at, created_by) "
                                       "VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING "
                                       "RETURNING id"));
  q.Bind(1, name).Bind(2, created_at).Bind(3, created_by);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Conflict("repository " + Quote(name) + " already exists");
  int64_t id = q.Int(0);
  q.Reset();
  return id;
}

Result<std::optional<RepoAccessRow>> RepoRecords::Access(std::string_view name, int64_t user_id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT r.id, r.name, r.created_at, u.handle, m.role "
                                       "FROM repos r JOIN users u ON u.id = r.created_by "
                                       "LEFT JOIN repo_members m ON m.repo_id = r.id AND "
                                       "m.user_id = ? WHERE r.name = ?"));
  q.Bind(1, user_id).Bind(2, name);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<RepoAccessRow>();
  RepoAccessRow a{{q.Int(0), q.Text(1), q.Text(2), q.Text(3)}, std::nullopt};
  if (!q.IsNull(4)) a.role = q.Text(4);
  return std::optional<RepoAccessRow>(std::move(a));
}

Result<std::vector<RepoListingRow>> RepoRecords::ListAll() {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT r.name, r.created_at, u.handle, 'admin' FROM repos "
                                       "r JOIN users u ON u.id = r.created_by ORDER BY r.name"));
  return RegistryRows<RepoListingRow>(q, ListingFrom);
}

Result<std::vector<RepoListingRow>> RepoRecords::ListFor(int64_t user_id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT r.name, r.created_at, u.handle, m.role FROM repos r "
                                       "JOIN users u ON u.id = r.created_by JOIN repo_members m "
                                       "ON m.repo_id = r.id AND m.user_id = ? ORDER BY r.name"));
  q.Bind(1, user_id);
  return RegistryRows<RepoListingRow>(q, ListingFrom);
}

Result<std::vector<RepoRow>> RepoRecords::ListIds() {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT id, name FROM repos ORDER BY id"));
  return RegistryRows<RepoRow>(q, [](const Stmt& s) { return RepoRow{s.Int(0), s.Text(1), "", ""}; });
}

Result<std::vector<MemberRow>> RepoRecords::Members(int64_t repo_id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT u.handle, m.role FROM repo_members m JOIN users u "
                                       "ON u.id = m.user_id WHERE m.repo_id = ? ORDER BY u.handle"));
  q.Bind(1, repo_id);
  return RegistryRows<MemberRow>(q, [](const Stmt& s) { return MemberRow{s.Text(0), s.Text(1)}; });
}

Result<std::optional<std::string>> RepoRecords::RoleOf(int64_t repo_id, int64_t user_id) {
  ASSIGN_OR_RETURN(Stmt q,
                   db_.Prepare("SELECT role FROM repo_members WHERE repo_id = ? AND user_id = ?"));
  q.Bind(1, repo_id).Bind(2, user_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(q.Text(0));
}

Result<std::optional<int64_t>> RepoRecords::MemberId(int64_t repo_id, std::string_view handle) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT u.id FROM repo_members m JOIN users u ON u.id = "
                                       "m.user_id WHERE m.repo_id = ? AND u.handle = ?"));
  q.Bind(1, repo_id).Bind(2, handle);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(q.Int(0));
}

Result<int64_t> RepoRecords::CountAdmins(int64_t repo_id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT COUNT(*) FROM repo_members WHERE repo_id = ? AND "
                                       "role = 'admin'"));
  q.Bind(1, repo_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? q.Int(0) : 0;
}

Status RepoRecords::SetRole(int64_t repo_id, int64_t user_id, std::string_view role) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("INSERT INTO repo_members (repo_id, user_id, role) "
                                       "VALUES (?, ?, ?) ON CONFLICT (repo_id, user_id) "
                                       "DO UPDATE SET role = excluded.role"));
  return q.Bind(1, repo_id).Bind(2, user_id).Bind(3, role).Run();
}

Status RepoRecords::RemoveMember(int64_t repo_id, int64_t user_id) {
  for (const char* sql : {"DELETE FROM lane_members WHERE repo_id = ? AND user_id = ?",
                          "DELETE FROM repo_members WHERE repo_id = ? AND user_id = ?"}) {
    ASSIGN_OR_RETURN(Stmt q, db_.Prepare(sql));
    RETURN_IF_ERROR(q.Bind(1, repo_id).Bind(2, user_id).Run());
  }
  return Status::Ok();
}

// ---- lanes, lane_members, scopes ----

Status LaneRecords::Create(int64_t repo_id, std::string_view name, std::string_view created_at) {
  return InsertNamed(db_, "lanes", "lane", repo_id, name, created_at);
}

Result<std::vector<LaneRow>> LaneRecords::List(int64_t repo_id) {
  std::vector<LaneRow> lanes;
  {
    ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT name, created_at FROM lanes WHERE repo_id = ? "
                                         "ORDER BY name"));
    q.Bind(1, repo_id);
    ASSIGN_OR_RETURN(lanes, RegistryRows<LaneRow>(q, [](const Stmt& s) {
                       return LaneRow{s.Text(0), s.Text(1), {}};
                     }));
  }
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < lanes.size(); i++) index[lanes[i].name] = i;
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT l.lane, u.handle FROM lane_members l JOIN users u "
                                       "ON u.id = l.user_id WHERE l.repo_id = ? ORDER BY u.handle"));
  q.Bind(1, repo_id);
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    auto it = index.find(q.Text(0));
    if (it != index.end()) lanes[it->second].members.push_back(q.Text(1));
  }
  return lanes;
}

Result<std::optional<LaneRow>> LaneRecords::Find(int64_t repo_id, std::string_view name) {
  LaneRow lane;
  {
    ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT name, created_at FROM lanes WHERE repo_id = ? "
                                         "AND name = ?"));
    q.Bind(1, repo_id).Bind(2, name);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return std::optional<LaneRow>();
    lane = {q.Text(0), q.Text(1), {}};
  }
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT u.handle FROM lane_members l JOIN users u ON u.id = "
                                       "l.user_id WHERE l.repo_id = ? AND l.lane = ? "
                                       "ORDER BY u.handle"));
  q.Bind(1, repo_id).Bind(2, name);
  ASSIGN_OR_RETURN(lane.members,
                   RegistryRows<std::string>(q, [](const Stmt& s) { return s.Text(0); }));
  return std::optional<LaneRow>(std::move(lane));
}

Result<bool> LaneRecords::AddMember(int64_t repo_id, std::string_view lane, int64_t user_id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("INSERT INTO lane_members (repo_id, lane, user_id) VALUES "
                                       "(?, ?, ?) ON CONFLICT (repo_id, lane, user_id) DO NOTHING "
                                       "RETURNING user_id"));
  q.Bind(1, repo_id).Bind(2, lane).Bind(3, user_id);
  return ChangedRow(q);
}

Result<bool> LaneRecords::RemoveMember(int64_t repo_id, std::string_view lane, int64_t user_id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("DELETE FROM lane_members WHERE repo_id = ? AND lane = ? "
                                       "AND user_id = ? RETURNING user_id"));
  q.Bind(1, repo_id).Bind(2, lane).Bind(3, user_id);
  return ChangedRow(q);
}

Status LaneRecords::CreateScope(int64_t repo_id, std::string_view name,
                                std::string_view created_at) {
  return InsertNamed(db_, "scopes", "scope", repo_id, name, created_at);
}

Result<std::vector<ScopeRow>> LaneRecords::ListScopes(int64_t repo_id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT name, created_at FROM scopes WHERE repo_id = ? "
                                       "ORDER BY name"));
  q.Bind(1, repo_id);
  return RegistryRows<ScopeRow>(q, [](const Stmt& s) { return ScopeRow{s.Text(0), s.Text(1)}; });
}

Result<bool> LaneRecords::ScopeExists(int64_t repo_id, std::string_view name) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT 1 FROM scopes WHERE repo_id = ? AND name = ?"));
  q.Bind(1, repo_id).Bind(2, name);
  return q.Step();
}

// ---- gate_graphs ----

Result<std::optional<std::string>> GateGraphRecords::Load(int64_t repo_id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT graph FROM gate_graphs WHERE repo_id = ?"));
  q.Bind(1, repo_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(q.Text(0));
}

Status GateGraphRecords::Store(int64_t repo_id, std::string_view json,
                               std::string_view updated_at, int64_t updated_by) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("INSERT INTO gate_graphs (repo_id, graph, updated_at, "
                                       "updated_by) VALUES (?, ?, ?, ?) ON CONFLICT (repo_id) DO "
                                       "UPDATE SET graph = excluded.graph, updated_at = "
                                       "excluded.updated_at, updated_by = excluded.updated_by"));
  return q.Bind(1, repo_id).Bind(2, json).Bind(3, updated_at).Bind(4, updated_by).Run();
}

}  // namespace converge
