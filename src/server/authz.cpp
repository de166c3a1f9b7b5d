#include "server/authz.h"

#include "base/text.h"
#include "server/names.h"

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

Result<RepoAccess> Authorize(Attempt& attempt, std::string_view repo, Role need) {
  // A name no repo can have hides nothing: no query, no audit row.
  if (!ValidateRepoName(repo).ok()) return NotFound(RepoNotFoundMessage(repo));
  Db& db = attempt.db();
  const Caller& caller = *attempt.caller();
  // One query whether or not the repo exists, and the same refusal (with its
  // audit row) for a missing repo and a hidden one: the two cost the same
  // work, so neither the answer nor its timing tells them apart.
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT r.id, r.name, r.created_at, u.handle, m.role "
                                      "FROM repos r JOIN users u ON u.id = r.created_by "
                                      "LEFT JOIN repo_members m ON m.repo_id = r.id AND "
                                      "m.user_id = ? WHERE r.name = ?"));
  q.Bind(1, caller.user_id).Bind(2, repo);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return attempt.Refuse(NotFound(RepoNotFoundMessage(repo)));
  RepoAccess a{q.Int(0), q.Text(1), q.Text(2), q.Text(3), Role::kNone};
  if (caller.admin)
    a.role = Role::kAdmin;
  else if (!q.IsNull(4))
    a.role = RoleFromName(q.Text(4)).value_or(Role::kNone);
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
