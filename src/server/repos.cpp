// The repo registry: repos and their members.
#include "server/repos.h"

#include "base/clock.h"
#include "base/text.h"
#include "server/auth.h"
#include "server/gate_graph.h"
#include "server/lanes.h"
#include "server/names.h"
#include "server/repo_ops.h"
#include "store/defaults.h"
#include "store/records/registry.h"

namespace converge {

namespace {

Result<Role> MemberRole(Db& db, int64_t repo_id, int64_t user_id) {
  ASSIGN_OR_RETURN(std::optional<std::string> role, RepoRecords(db).RoleOf(repo_id, user_id));
  if (!role) return Role::kNone;
  return RoleFromName(*role).value_or(Role::kNone);
}

// kConflict when `user_id` is the repo's only admin: a repo never loses its last one.
Status KeepAnAdmin(Db& db, const RepoAccess& repo, int64_t user_id, std::string_view handle) {
  ASSIGN_OR_RETURN(Role role, MemberRole(db, repo.id, user_id));
  if (role != Role::kAdmin) return Status::Ok();
  ASSIGN_OR_RETURN(int64_t admins, RepoRecords(db).CountAdmins(repo.id));
  if (admins <= 1)
    return Conflict(Quote(handle) + " is the last admin of repo " + Quote(repo.name) +
                    ": make someone else an admin first");
  return Status::Ok();
}

// Inside the open transaction: the new repo's records, with `admin` its first
// admin and the one member of its default lane.
Result<int64_t> MakeRepo(Db& db, const std::string& name, const std::string& now,
                         const Caller& caller, const wire::NewRepoRequest& req,
                         wire::User& admin) {
  // The name first: a taken one is kConflict whatever else the request says.
  ASSIGN_OR_RETURN(int64_t id, RepoRecords(db).Create(name, now, caller.user_id));
  admin = {caller.user_id, caller.handle, caller.admin, ""};
  if (req.admin) {
    ASSIGN_OR_RETURN(admin, FindUser(db, *req.admin));
  }
  RETURN_IF_ERROR(RepoRecords(db).SetRole(id, admin.id, RoleName(Role::kAdmin)));
  LaneRecords lanes(db);
  RETURN_IF_ERROR(lanes.CreateScope(id, kDefaultScope, now));
  RETURN_IF_ERROR(lanes.Create(id, kDefaultLane, now));
  RETURN_IF_ERROR(lanes.AddMember(id, kDefaultLane, admin.id).status());
  wire::GateGraph graph{{wire::Gate{kDefaultGate, {}, std::nullopt}}};
  RETURN_IF_ERROR(StoreGateGraph(db, id, graph, caller.user_id));
  return id;
}

}  // namespace

Result<wire::Repo> RepoRegistry::CreateRepo(const Caller& caller,
                                            const wire::NewRepoRequest& req) {
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
    std::string now = TimeNow();
    wire::User admin;
    RETURN_IF_ERROR(MakeRepo(*db, name, now, caller, req, admin).status());
    RETURN_IF_ERROR(AppendAudit(*db, attempt.Ok(std::string("scope '") + kDefaultScope + "', lane '" +
                                                kDefaultLane + "', gate graph {" + kDefaultGate +
                                                "}; admin " + Quote(admin.handle))));
    RETURN_IF_ERROR(tx.Commit());
    // The caller's role, as in a listing: server admins are admins everywhere.
    return wire::Repo{name, now, caller.handle, RoleName(Role::kAdmin)};
  };
  return attempt.Done(run());
}

Result<std::vector<wire::Repo>> RepoRegistry::ListRepos(const Caller& caller) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  RepoRecords repos(*db);
  ASSIGN_OR_RETURN(std::vector<RepoListingRow> rows,
                   caller.admin ? repos.ListAll() : repos.ListFor(caller.user_id));
  std::vector<wire::Repo> out;
  for (RepoListingRow& r : rows)
    out.push_back({std::move(r.name), std::move(r.created_at), std::move(r.created_by),
                   std::move(r.role)});
  return out;
}

Result<wire::RepoDetails> RepoRegistry::GetRepo(const Caller& caller, std::string_view repo) {
  return ReadRepo(dbs_, caller, "repo.read", repo,
                  [](Db& db, const RepoAccess& a) -> Result<wire::RepoDetails> {
                    wire::RepoDetails d;
                    d.repo = {a.name, a.created_at, a.created_by, RoleName(a.role)};
                    // One read transaction, so the parts agree with each other.
                    ASSIGN_OR_RETURN(Db::Tx read, db.BeginRead());
                    ASSIGN_OR_RETURN(std::vector<MemberRow> members,
                                     RepoRecords(db).Members(a.id));
                    for (MemberRow& m : members)
                      d.members.push_back({std::move(m.handle), std::move(m.role)});
                    ASSIGN_OR_RETURN(d.lanes, LoadLanes(db, a.id));
                    ASSIGN_OR_RETURN(d.scopes, LoadScopes(db, a.id));
                    ASSIGN_OR_RETURN(d.gate_graph, LoadGateGraph(db, a.id));
                    return d;
                  });
}

Result<wire::Membership> RepoRegistry::SetMember(const Caller& caller, std::string_view repo,
                                                 std::string_view handle,
                                                 std::string_view role_name) {
  return ChangeRepo(
      dbs_, caller, "member.set", repo, std::string(handle),
      [&](Db& db, Attempt& attempt, const RepoAccess& a) -> Result<wire::Membership> {
        std::optional<Role> role = RoleFromName(role_name);
        if (!role)
          return Invalid("role " + Quote(role_name) + " is not one of 'read', 'publish', 'admin'");
        ASSIGN_OR_RETURN(wire::User user, FindUser(db, handle));
        ASSIGN_OR_RETURN(Role before, MemberRole(db, a.id, user.id));
        if (*role != Role::kAdmin) RETURN_IF_ERROR(KeepAnAdmin(db, a, user.id, handle));
        RETURN_IF_ERROR(RepoRecords(db).SetRole(a.id, user.id, RoleName(*role)));
        RETURN_IF_ERROR(AppendAudit(
            db, attempt.Ok(std::string("role ") + RoleName(before) + " -> " + RoleName(*role))));
        return wire::Membership{a.name, user.handle, RoleName(*role)};
      });
}

Result<wire::Membership> RepoRegistry::RemoveMember(const Caller& caller, std::string_view repo,
                                                    std::string_view handle) {
  return ChangeRepo(
      dbs_, caller, "member.remove", repo, std::string(handle),
      [&](Db& db, Attempt& attempt, const RepoAccess& a) -> Result<wire::Membership> {
        ASSIGN_OR_RETURN(wire::User user, FindUser(db, handle));
        ASSIGN_OR_RETURN(Role before, MemberRole(db, a.id, user.id));
        RETURN_IF_ERROR(KeepAnAdmin(db, a, user.id, handle));
        RETURN_IF_ERROR(RepoRecords(db).RemoveMember(a.id, user.id));
        RETURN_IF_ERROR(AppendAudit(db, attempt.Ok(std::string("role ") + RoleName(before) +
                                                   " -> none, and out of every lane")));
        return wire::Membership{a.name, user.handle, std::nullopt};
      });
}

}  // namespace converge
