// The repo registry: repos and their members (repos.cpp). Records in
// store/records/registry.h; authorization through server/authz.h.
//
// Audit: every change writes one row (outcome "ok") in the transaction of
// the change; an attempt refused by authorization writes one row with outcome
// "refused: forbidden" or "refused: not_found" (a repo the caller may not
// read is refused exactly like a missing one; a name no repo may have gets
// the same kNotFound, not logged). Other failures (bad input, a conflict)
// are answered but not logged. Reads that succeed are not logged.
#pragma once

#include <string_view>
#include <vector>

#include "api/wire.h"
#include "server/authz.h"
#include "server/db_pool.h"

namespace converge {

class RepoRegistry {
 public:
  explicit RepoRegistry(DbPool& dbs) : dbs_(dbs) {}

  // Needs: a server admin (anyone else is refused first, whatever the name,
  // so a taken name cannot be told from a free one). Makes repo `req.name`
  // with its first admin (`req.admin`, else the caller), scope "main", lane
  // "default" holding that admin, and the gate graph {dev-intake}. Returns
  // the repo as the caller lists it (role "admin", created by the caller).
  // Errors: kPermission (not a server admin), kInvalid (the name breaks the
  // naming rule), kConflict (the name is taken), kNotFound (`req.admin`
  // names no user).
  // Audit: "repo.create", repo and target the name; ok detail "scope 'main',
  // lane 'default', gate graph {dev-intake}; admin 'HANDLE'"; refused:
  // forbidden.
  Result<wire::Repo> CreateRepo(const Caller& caller, const wire::NewRepoRequest& req);

  // Needs: any authenticated caller. Returns the repos the caller has a role
  // on, by name, with that role; a server admin gets every repo, as "admin".
  // Errors: kIo. Audit: nothing.
  Result<std::vector<wire::Repo>> ListRepos(const Caller& caller);

  // Needs: read. Returns the repo, its members, lanes, scopes and gate graph,
  // read in one transaction. Errors: kNotFound (missing or hidden repo),
  // kCorrupt (the stored gate graph does not parse), kInternal (the repo has
  // no gate graph). Audit: "repo.read", refused only (not_found).
  Result<wire::RepoDetails> GetRepo(const Caller& caller, std::string_view repo);

  // Needs: admin of the repo. Gives user `handle` the role `role` ("read",
  // "publish", "admin"), replacing any; returns the new membership.
  // Errors: kNotFound (repo missing or hidden; no user `handle`), kPermission
  // (below admin), kInvalid (not a role name), kConflict (it would demote
  // the repo's last admin).
  // Audit: "member.set", target the handle; ok detail "role OLD -> NEW"
  // (OLD "none" for a new member); refused: not_found, forbidden.
  Result<wire::Membership> SetMember(const Caller& caller, std::string_view repo,
                                     std::string_view handle, std::string_view role);

  // Needs: admin of the repo. Takes the role of `handle` away and takes them
  // out of every lane of the repo; returns the membership with no role.
  // Removing someone without a role succeeds (and says "role none").
  // Errors: kNotFound (repo missing or hidden; no user `handle`),
  // kPermission (below admin), kConflict (the repo's last admin).
  // Audit: "member.remove", target the handle; ok detail "role OLD -> none,
  // and out of every lane"; refused: not_found, forbidden.
  Result<wire::Membership> RemoveMember(const Caller& caller, std::string_view repo,
                                        std::string_view handle);

 private:
  DbPool& dbs_;
};

}  // namespace converge
