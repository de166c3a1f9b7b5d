// Authorization, in one place: the caller's role on a repo, and the rule that
// a caller who may not read a repo learns nothing about it. Every repo-scoped
// operation resolves its repo through Authorize first.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "server/audit.h"
#include "server/caller.h"
#include "store/db.h"

namespace converge {

struct RepoAccess {
  int64_t id = 0;
  std::string name;
  std::string created_at;
  std::string created_by;   // handle
  Role role = Role::kNone;  // the caller's; kAdmin for server admins
};

// The message a missing repo and a hidden one both get, word for word.
std::string RepoNotFoundMessage(std::string_view repo);

// The caller's role on repo `repo_id` (kAdmin for server admins).
Result<Role> RoleOn(Db& db, const Caller& caller, int64_t repo_id);

// Resolves `repo` for an attempt that needs `need`. A missing repo and one the
// caller may not read are the same kNotFound; a readable repo with too low a
// role is kPermission naming the role needed. Refusals mark the attempt.
Result<RepoAccess> Authorize(Attempt& attempt, std::string_view repo, Role need);

// kPermission (marking the attempt) unless the caller is a server admin.
Status RequireServerAdmin(Attempt& attempt, const Caller& caller, const std::string& what);

}  // namespace converge
