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

// Resolves `repo` for an attempt that needs `need`. A missing repo and one the
// caller may not read are the same kNotFound, reached by the same work and
// both marked refused (so both are audited alike): neither the answer nor its
// cost tells them apart. A readable repo with too low a role is kPermission
// naming the role needed, also marked. A name no repo may have is kNotFound
// without a mark. The caller's role is kAdmin for server admins.
Result<RepoAccess> Authorize(Attempt& attempt, std::string_view repo, Role need);

// kPermission (marking the attempt) unless the caller is a server admin.
Status RequireServerAdmin(Attempt& attempt, const Caller& caller, const std::string& what);

}  // namespace converge
