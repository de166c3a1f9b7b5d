// The lane and scope registry of a repo (lanes.cpp). Records in
// store/records/registry.h; authorization through server/authz.h.
//
// Audit, as for repos.h: a change writes one "ok" row in its transaction; an
// attempt refused by authorization writes one row, "refused: not_found" (a
// missing repo and one the caller may not read alike) or "refused:
// forbidden"; a name no repo may have gets the same kNotFound, not logged;
// other failures and successful reads write nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/wire.h"
#include "server/authz.h"
#include "server/db_pool.h"

namespace converge {

class LaneRegistry {
 public:
  explicit LaneRegistry(DbPool& dbs) : dbs_(dbs) {}

  // Needs: read. Returns the repo's lanes by name, each with its members by
  // handle. Errors: kNotFound (missing or hidden repo).
  // Audit: "lane.list", refused only.
  Result<std::vector<wire::Lane>> ListLanes(const Caller& caller, std::string_view repo);

  // Needs: admin of the repo. Makes an empty lane `name`; returns it.
  // Errors: kNotFound (missing or hidden repo), kPermission (below admin),
  // kInvalid (the name breaks the naming rule), kConflict (the repo has it).
  // Audit: "lane.create", target the name, ok with no detail.
  Result<wire::Lane> CreateLane(const Caller& caller, std::string_view repo,
                                const std::string& name);

  // Needs: admin of the repo. Puts `handle`, who must have a role on the
  // repo, in the lane; returns the lane with its members. Adding a member
  // again succeeds. Errors: kNotFound (missing or hidden repo; no such lane),
  // kPermission (below admin), kInvalid (`handle` has no role on the repo,
  // whether or not such a user exists).
  // Audit: "lane.member.add", target "LANE:HANDLE"; ok detail "" or "was a
  // member already".
  Result<wire::Lane> AddLaneMember(const Caller& caller, std::string_view repo,
                                   std::string_view lane, std::string_view handle);

  // Needs: admin of the repo. Takes `handle` out of the lane; returns the
  // lane with its members. Someone not in it (a handle nobody has included)
  // is not an error. Errors: kNotFound (missing or hidden repo; no such
  // lane), kPermission (below admin).
  // Audit: "lane.member.remove", target "LANE:HANDLE"; ok detail "" or "was
  // not a member".
  Result<wire::Lane> RemoveLaneMember(const Caller& caller, std::string_view repo,
                                      std::string_view lane, std::string_view handle);

  // Needs: read. Returns the repo's scopes by name. Errors: kNotFound
  // (missing or hidden repo). Audit: "scope.list", refused only.
  Result<std::vector<wire::Scope>> ListScopes(const Caller& caller, std::string_view repo);

  // Needs: admin of the repo. Makes scope `name`; returns it.
  // Errors: kNotFound (missing or hidden repo), kPermission (below admin),
  // kInvalid (the name breaks the naming rule), kConflict (the repo has it).
  // Audit: "scope.create", target the name, ok with no detail.
  Result<wire::Scope> CreateScope(const Caller& caller, std::string_view repo,
                                  const std::string& name);

 private:
  DbPool& dbs_;
};

// For services that already hold an authorized repo (publications, GetRepo),
// inside the caller's transaction on `db`; no authorization, no audit.

// The repo's lanes by name, with members.
Result<std::vector<wire::Lane>> LoadLanes(Db& db, int64_t repo_id);
// One lane with its members; kNotFound naming the lane and the repo when the
// repo has no such lane.
Result<wire::Lane> LoadLane(Db& db, const RepoAccess& repo, std::string_view lane);
// The repo's scopes by name.
Result<std::vector<wire::Scope>> LoadScopes(Db& db, int64_t repo_id);
Result<bool> ScopeExists(Db& db, int64_t repo_id, std::string_view scope);

}  // namespace converge
