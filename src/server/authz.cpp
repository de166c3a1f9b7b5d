#include "server/authz.h"

#include "base/text.h"
#include "server/names.h"
#include "store/records/registry.h"

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
  ASSIGN_OR_RETURN(std::optional<RepoAccessRow> row, RepoRecords(db).Access(repo, caller.user_id));
  if (!row) return attempt.Refuse(NotFound(RepoNotFoundMessage(repo)));
  RepoAccess a{row->repo.id, std::move(row->repo.name), std::move(row->repo.created_at),
               std::move(row->repo.created_by), Role::kNone};
  if (caller.admin)
    a.role = Role::kAdmin;
  else if (row->role)
    a.role = RoleFromName(*row->role).value_or(Role::kNone);
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
