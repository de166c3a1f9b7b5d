#include "server/authz.h"

#include "base/text.h"

namespace converge {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kNone:
      return "none";
    case Role::kRead:
      return "read";
    case Role::kPublish:
      return "publish";
    case Role::kAdmin:
      return "admin";
  }
  return "none";
}

std::optional<Role> RoleFromName(std::string_view name) {
  for (Role r : {Role::kRead, Role::kPublish, Role::kAdmin})
    if (name == RoleName(r)) return r;
  return std::nullopt;
}

std::string RepoNotFoundMessage(std::string_view repo) {
  return "repository " + Quote(repo) + " not found";
}

Result<Role> RoleOn(Db& db, const Caller& caller, int64_t repo_id) {
  if (caller.admin) return Role::kAdmin;
  ASSIGN_OR_RETURN(Stmt q,
                   db.Prepare("SELECT role FROM repo_members WHERE repo_id = ? AND user_id = ?"));
  q.Bind(1, repo_id).Bind(2, caller.user_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Role::kNone;
  return RoleFromName(q.Text(0)).value_or(Role::kNone);
}

Result<RepoAccess> Authorize(Attempt& attempt, std::string_view repo, Role need) {
  Db& db = attempt.db();
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT r.id, r.name, r.created_at, u.handle FROM repos r "
                                      "JOIN users u ON u.id = r.created_by WHERE r.name = ?"));
  q.Bind(1, repo);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return NotFound(RepoNotFoundMessage(repo));
  RepoAccess a{q.Int(0), q.Text(1), q.Text(2), q.Text(3), Role::kNone};
  const Caller& caller = *attempt.caller();
  ASSIGN_OR_RETURN(a.role, RoleOn(db, caller, a.id));
  if (a.role == Role::kNone) return attempt.Refuse(NotFound(RepoNotFoundMessage(repo)));
  if (a.role >= need) return a;
  std::string name = Quote(a.name);
  if (need == Role::kPublish)
    return attempt.Refuse(Permission("you may read but not publish to repo " + name +
                                     ": ask a repo admin for the publish role"));
  return attempt.Refuse(Permission("only admins of repo " + name + " may do this (your role is '" +
                                   RoleName(a.role) + "')"));
}

Status RequireServerAdmin(Attempt& attempt, const Caller& caller, const std::string& what) {
  if (caller.admin) return Status::Ok();
  return attempt.Refuse(Permission("only server admins may " + what));
}

}  // namespace converge
