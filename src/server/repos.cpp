// Registry: repos and their members.
#include "base/text.h"
#include "server/auth.h"
#include "base/clock.h"
#include "server/names.h"
#include "server/registry.h"
#include "store/defaults.h"
#include "server/registry.h"

namespace converge {

namespace {

Result<std::vector<wire::Member>> LoadMembers(Db& db, int64_t repo_id) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT u.handle, m.role FROM repo_members m JOIN users u "
                                      "ON u.id = m.user_id WHERE m.repo_id = ? ORDER BY u.handle"));
  q.Bind(1, repo_id);
  std::vector<wire::Member> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back({q.Text(0), q.Text(1)});
  }
}

Result<Role> MemberRole(Db& db, int64_t repo_id, int64_t user_id) {
  ASSIGN_OR_RETURN(Stmt q,
                   db.Prepare("SELECT role FROM repo_members WHERE repo_id = ? AND user_id = ?"));
  q.Bind(1, repo_id).Bind(2, user_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Role::kNone;
  return RoleFromName(q.Text(0)).value_or(Role::kNone);
}

// kConflict when `user_id` is the repo's only admin: a repo never loses its last one.
Status KeepAnAdmin(Db& db, const RepoAccess& repo, int64_t user_id, std::string_view handle) {
  ASSIGN_OR_RETURN(Role role, MemberRole(db, repo.id, user_id));
  if (role != Role::kAdmin) return Status::Ok();
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT COUNT(*) FROM repo_members WHERE repo_id = ? AND "
                                      "role = 'admin'"));
  q.Bind(1, repo.id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (row && q.Int(0) <= 1)
    return Conflict(Quote(handle) + " is the last admin of repo " + Quote(repo.name) +
                    ": make someone else an admin first");
  return Status::Ok();
}

}  // namespace

Result<wire::Repo> Registry::CreateRepo(const Caller& caller, const wire::NewRepoRequest& req) {
  const std::string& name = req.name;
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "repo.create", name, name);
  auto run = [&]() -> Result<wire::Repo> {
    // Only server admins name repos: anyone else could tell a taken name (a
    // repo they may not see) from a free one. Checked first, so every other
    // caller gets this same answer whatever the name.
    RETURN_IF_ERROR(RequireServerAdmin(
        attempt, caller, "create repos: ask one to create it and make you its admin"));
    RETURN_IF_ERROR(ValidateRepoName(name));
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    {
      ASSIGN_OR_RETURN(Stmt q, db->Prepare("SELECT 1 FROM repos WHERE name = ?"));
      q.Bind(1, name);
      ASSIGN_OR_RETURN(bool taken, q.Step());
      if (taken) return Conflict("repository " + Quote(name) + " already exists");
    }
    wire::User admin{caller.user_id, caller.handle, caller.admin, ""};
    if (req.admin) {
      ASSIGN_OR_RETURN(admin, FindUser(*db, *req.admin));
    }
    std::string now = TimeNow();
    ASSIGN_OR_RETURN(
        Stmt ins, db->Prepare("INSERT INTO repos (name, created_at, created_by) VALUES (?, ?, ?)"));
    RETURN_IF_ERROR(ins.Bind(1, name).Bind(2, now).Bind(3, caller.user_id).Run());
    int64_t id = db->LastInsertRowId();
    ASSIGN_OR_RETURN(Stmt member, db->Prepare("INSERT INTO repo_members (repo_id, user_id, role) "
                                              "VALUES (?, ?, 'admin')"));
    RETURN_IF_ERROR(member.Bind(1, id).Bind(2, admin.id).Run());
    RETURN_IF_ERROR(InsertScope(*db, id, kDefaultScope, now));
    RETURN_IF_ERROR(InsertLane(*db, id, kDefaultLane, now));
    ASSIGN_OR_RETURN(Stmt lane_member, db->Prepare("INSERT INTO lane_members (repo_id, lane, "
                                                   "user_id) VALUES (?, ?, ?)"));
    RETURN_IF_ERROR(lane_member.Bind(1, id).Bind(2, kDefaultLane).Bind(3, admin.id).Run());
    wire::GateGraph graph{{wire::Gate{kDefaultGate, {}, std::nullopt}}};
    RETURN_IF_ERROR(StoreGateGraph(*db, id, graph, caller.user_id));
    RETURN_IF_ERROR(AppendAudit(*db, attempt.Ok(std::string("scope '") + kDefaultScope + "', lane '" +
                                                kDefaultLane + "', gate graph {" + kDefaultGate +
                                                "}; admin " + Quote(admin.handle))));
    RETURN_IF_ERROR(tx.Commit());
    // The caller's role, as in a listing: server admins are admins everywhere.
    return wire::Repo{name, now, caller.handle, RoleName(Role::kAdmin)};
  };
  return attempt.Done(run());
}

Result<std::vector<wire::Repo>> Registry::ListRepos(const Caller& caller) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  std::string sql =
      caller.admin
          ? "SELECT r.name, r.created_at, u.handle, 'admin' FROM repos r JOIN users u ON u.id = "
            "r.created_by ORDER BY r.name"
          : "SELECT r.name, r.created_at, u.handle, m.role FROM repos r JOIN users u ON u.id = "
            "r.created_by JOIN repo_members m ON m.repo_id = r.id AND m.user_id = ? ORDER BY "
            "r.name";
  ASSIGN_OR_RETURN(Stmt q, db->Prepare(sql));
  if (!caller.admin) q.Bind(1, caller.user_id);
  std::vector<wire::Repo> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back({q.Text(0), q.Text(1), q.Text(2), q.Text(3)});
  }
}

Result<wire::RepoDetails> Registry::GetRepo(const Caller& caller, std::string_view repo) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "repo.read", std::string(repo));
  ASSIGN_OR_RETURN(RepoAccess a, attempt.Done(Authorize(attempt, repo, Role::kRead)));
  wire::RepoDetails d;
  d.repo = {a.name, a.created_at, a.created_by, RoleName(a.role)};
  // One read transaction, so the parts agree with each other.
  RETURN_IF_ERROR(db->Exec("BEGIN"));
  auto load = [&]() -> Status {
    ASSIGN_OR_RETURN(d.members, LoadMembers(*db, a.id));
    ASSIGN_OR_RETURN(d.lanes, LoadLanes(*db, a.id));
    ASSIGN_OR_RETURN(d.scopes, LoadScopes(*db, a.id));
    ASSIGN_OR_RETURN(d.gate_graph, LoadGateGraph(*db, a.id));
    return Status::Ok();
  };
  Status st = load();
  (void)db->Exec("COMMIT");
  RETURN_IF_ERROR(st);
  return d;
}

Result<wire::Membership> Registry::SetMember(const Caller& caller, std::string_view repo,
                                             std::string_view handle, std::string_view role_name) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "member.set", std::string(repo), std::string(handle));
  auto run = [&]() -> Result<wire::Membership> {
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    ASSIGN_OR_RETURN(RepoAccess a, Authorize(attempt, repo, Role::kAdmin));
    std::optional<Role> role = RoleFromName(role_name);
    if (!role)
      return Invalid("role " + Quote(role_name) + " is not one of 'read', 'publish', 'admin'");
    ASSIGN_OR_RETURN(wire::User user, FindUser(*db, handle));
    ASSIGN_OR_RETURN(Role before, MemberRole(*db, a.id, user.id));
    if (*role != Role::kAdmin) RETURN_IF_ERROR(KeepAnAdmin(*db, a, user.id, handle));
    ASSIGN_OR_RETURN(Stmt q, db->Prepare("INSERT INTO repo_members (repo_id, user_id, role) "
                                         "VALUES (?, ?, ?) ON CONFLICT (repo_id, user_id) "
                                         "DO UPDATE SET role = excluded.role"));
    RETURN_IF_ERROR(q.Bind(1, a.id).Bind(2, user.id).Bind(3, RoleName(*role)).Run());
    RETURN_IF_ERROR(AppendAudit(
        *db, attempt.Ok(std::string("role ") + RoleName(before) + " -> " + RoleName(*role))));
    RETURN_IF_ERROR(tx.Commit());
    return wire::Membership{a.name, user.handle, RoleName(*role)};
  };
  return attempt.Done(run());
}

Result<wire::Membership> Registry::RemoveMember(const Caller& caller, std::string_view repo,
                                                std::string_view handle) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "member.remove", std::string(repo), std::string(handle));
  auto run = [&]() -> Result<wire::Membership> {
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    ASSIGN_OR_RETURN(RepoAccess a, Authorize(attempt, repo, Role::kAdmin));
    ASSIGN_OR_RETURN(wire::User user, FindUser(*db, handle));
    ASSIGN_OR_RETURN(Role before, MemberRole(*db, a.id, user.id));
    RETURN_IF_ERROR(KeepAnAdmin(*db, a, user.id, handle));
    // Lane membership needs a role on the repo: it goes with it.
    for (const char* sql : {"DELETE FROM lane_members WHERE repo_id = ? AND user_id = ?",
                            "DELETE FROM repo_members WHERE repo_id = ? AND user_id = ?"}) {
      ASSIGN_OR_RETURN(Stmt q, db->Prepare(sql));
      RETURN_IF_ERROR(q.Bind(1, a.id).Bind(2, user.id).Run());
    }
    RETURN_IF_ERROR(AppendAudit(*db, attempt.Ok(std::string("role ") + RoleName(before) +
                                                " -> none, and out of every lane")));
    RETURN_IF_ERROR(tx.Commit());
    return wire::Membership{a.name, user.handle, std::nullopt};
  };
  return attempt.Done(run());
}

}  // namespace converge
