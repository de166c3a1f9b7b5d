// The lane and scope registry of a repo.
#include "server/lanes.h"

#include "base/clock.h"
#include "base/text.h"
#include "server/names.h"
#include "server/repo_ops.h"
#include "store/records/registry.h"

namespace converge {

namespace {

wire::Lane LaneFrom(LaneRow row) {
  return {std::move(row.name), std::move(row.created_at), std::move(row.members)};
}

std::string LaneTarget(std::string_view lane, std::string_view handle) {
  return std::string(lane) + ":" + std::string(handle);
}

// Writes the audit row of a lane change and returns the lane as it is now.
Result<wire::Lane> AuditLaneChange(Db& db, Attempt& attempt, const RepoAccess& a,
                                   std::string_view lane, const char* detail) {
  RETURN_IF_ERROR(AppendAudit(db, attempt.Ok(detail)));
  return LoadLane(db, a, lane);
}

// An admin's "create NAME" (a lane or a scope, `what`): validates the name,
// makes it with insert(db, repo_id, name, now) and writes the audit row;
// returns a T with its name and creation time. kConflict names the repo.
template <class T, class F>
Result<T> CreateNamed(DbPool& dbs, const Caller& caller, const char* action,
                      std::string_view repo, const std::string& name, const char* what,
                      F insert) {
  return ChangeRepo(dbs, caller, action, repo, name,
                    [&](Db& db, Attempt& attempt, const RepoAccess& a) -> Result<T> {
                      RETURN_IF_ERROR(ValidateRefName(name, what));
                      T out;
                      out.name = name;
                      out.created_at = TimeNow();
                      Status made = insert(db, a.id, name, out.created_at);
                      if (made.code() == Code::kConflict)
                        return Conflict(made.message() + " in repo " + Quote(a.name));
                      RETURN_IF_ERROR(made);
                      RETURN_IF_ERROR(AppendAudit(db, attempt.Ok()));
                      return out;
                    });
}

}  // namespace

Result<std::vector<wire::Lane>> LoadLanes(Db& db, int64_t repo_id) {
  ASSIGN_OR_RETURN(std::vector<LaneRow> rows, LaneRecords(db).List(repo_id));
  std::vector<wire::Lane> out;
  for (LaneRow& r : rows) out.push_back(LaneFrom(std::move(r)));
  return out;
}

Result<wire::Lane> LoadLane(Db& db, const RepoAccess& repo, std::string_view lane) {
  ASSIGN_OR_RETURN(std::optional<LaneRow> row, LaneRecords(db).Find(repo.id, lane));
  if (!row)
    return NotFound("lane " + Quote(lane) + " not found in repo " + Quote(repo.name) +
                    " (a repo admin can create it)");
  return LaneFrom(std::move(*row));
}

Result<std::vector<wire::Scope>> LoadScopes(Db& db, int64_t repo_id) {
  ASSIGN_OR_RETURN(std::vector<ScopeRow> rows, LaneRecords(db).ListScopes(repo_id));
  std::vector<wire::Scope> out;
  for (ScopeRow& r : rows) out.push_back({std::move(r.name), std::move(r.created_at)});
  return out;
}

Result<bool> ScopeExists(Db& db, int64_t repo_id, std::string_view scope) {
  return LaneRecords(db).ScopeExists(repo_id, scope);
}

Result<std::vector<wire::Lane>> LaneRegistry::ListLanes(const Caller& caller,
                                                        std::string_view repo) {
  return ReadRepo(dbs_, caller, "lane.list", repo,
                  [](Db& db, const RepoAccess& a) { return LoadLanes(db, a.id); });
}

Result<wire::Lane> LaneRegistry::CreateLane(const Caller& caller, std::string_view repo,
                                            const std::string& name) {
  return CreateNamed<wire::Lane>(
      dbs_, caller, "lane.create", repo, name, "lane",
      [](Db& db, int64_t repo_id, const std::string& lane, const std::string& now) {
        return LaneRecords(db).Create(repo_id, lane, now);
      });
}

Result<wire::Lane> LaneRegistry::AddLaneMember(const Caller& caller, std::string_view repo,
                                               std::string_view lane, std::string_view handle) {
  return ChangeRepo(
      dbs_, caller, "lane.member.add", repo, LaneTarget(lane, handle),
      [&](Db& db, Attempt& attempt, const RepoAccess& a) -> Result<wire::Lane> {
        ASSIGN_OR_RETURN(wire::Lane l, LoadLane(db, a, lane));
        // A handle nobody has, a user without a role and a server admin
        // without one all get the same answer (server admins' powers are
        // their own, not a membership).
        ASSIGN_OR_RETURN(std::optional<int64_t> user, RepoRecords(db).MemberId(a.id, handle));
        if (!user) {
          std::string who = ValidateHandle(handle).ok() ? std::string(handle) : "HANDLE";
          return Invalid(Quote(handle) + " is not a member of repo " + Quote(a.name) +
                         " (no role on it): grant one first (converge repo grant " + a.name + " " +
                         who + " --role publish)");
        }
        ASSIGN_OR_RETURN(bool added, LaneRecords(db).AddMember(a.id, l.name, *user));
        return AuditLaneChange(db, attempt, a, lane, added ? "" : "was a member already");
      });
}

Result<wire::Lane> LaneRegistry::RemoveLaneMember(const Caller& caller, std::string_view repo,
                                                  std::string_view lane,
                                                  std::string_view handle) {
  return ChangeRepo(
      dbs_, caller, "lane.member.remove", repo, LaneTarget(lane, handle),
      [&](Db& db, Attempt& attempt, const RepoAccess& a) -> Result<wire::Lane> {
        ASSIGN_OR_RETURN(wire::Lane l, LoadLane(db, a, lane));
        // Anyone not in the lane, a handle nobody has included, is simply not
        // removed: the same answer for all of them.
        ASSIGN_OR_RETURN(std::optional<int64_t> user, RepoRecords(db).MemberId(a.id, handle));
        bool removed = false;
        if (user) {
          ASSIGN_OR_RETURN(removed, LaneRecords(db).RemoveMember(a.id, l.name, *user));
        }
        return AuditLaneChange(db, attempt, a, lane, removed ? "" : "was not a member");
      });
}

Result<std::vector<wire::Scope>> LaneRegistry::ListScopes(const Caller& caller,
                                                          std::string_view repo) {
  return ReadRepo(dbs_, caller, "scope.list", repo,
                  [](Db& db, const RepoAccess& a) { return LoadScopes(db, a.id); });
}

Result<wire::Scope> LaneRegistry::CreateScope(const Caller& caller, std::string_view repo,
                                              const std::string& name) {
  return CreateNamed<wire::Scope>(
      dbs_, caller, "scope.create", repo, name, "scope",
      [](Db& db, int64_t repo_id, const std::string& scope, const std::string& now) {
        return LaneRecords(db).CreateScope(repo_id, scope, now);
      });
}

}  // namespace converge
