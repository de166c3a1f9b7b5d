// Registry: lanes (with their members) and scopes.
#include <map>

#include "base/text.h"
#include "base/clock.h"
#include "server/names.h"
#include "server/registry.h"

namespace converge {

namespace {

Result<std::vector<std::string>> LaneMembers(Db& db, int64_t repo_id, std::string_view lane) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT u.handle FROM lane_members l JOIN users u ON u.id = "
                                      "l.user_id WHERE l.repo_id = ? AND l.lane = ? "
                                      "ORDER BY u.handle"));
  q.Bind(1, repo_id).Bind(2, lane);
  std::vector<std::string> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back(q.Text(0));
  }
}

// The id of `handle` when it has a role on the repo, else nullopt. A handle
// nobody has, a user without a role and a server admin without one all get
// nullopt: nothing here tells them apart (server admins' powers are their
// own, not a membership).
Result<std::optional<int64_t>> RepoMemberId(Db& db, const RepoAccess& repo,
                                            std::string_view handle) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT u.id FROM repo_members m JOIN users u ON u.id = "
                                      "m.user_id WHERE m.repo_id = ? AND u.handle = ?"));
  q.Bind(1, repo.id).Bind(2, handle);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(q.Int(0));
}

std::string LaneTarget(std::string_view lane, std::string_view handle) {
  return std::string(lane) + ":" + std::string(handle);
}

}  // namespace

Status InsertLane(Db& db, int64_t repo_id, const std::string& name, const std::string& now) {
  ASSIGN_OR_RETURN(Stmt q,
                   db.Prepare("INSERT INTO lanes (repo_id, name, created_at) VALUES (?, ?, ?)"));
  return q.Bind(1, repo_id).Bind(2, name).Bind(3, now).Run();
}

Status InsertScope(Db& db, int64_t repo_id, const std::string& name, const std::string& now) {
  ASSIGN_OR_RETURN(Stmt q,
                   db.Prepare("INSERT INTO scopes (repo_id, name, created_at) VALUES (?, ?, ?)"));
  return q.Bind(1, repo_id).Bind(2, name).Bind(3, now).Run();
}

Result<std::vector<wire::Lane>> LoadLanes(Db& db, int64_t repo_id) {
  std::vector<wire::Lane> lanes;
  std::map<std::string, size_t> index;
  {
    ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT name, created_at FROM lanes WHERE repo_id = ? "
                                        "ORDER BY name"));
    q.Bind(1, repo_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      index[q.Text(0)] = lanes.size();
      lanes.push_back({q.Text(0), q.Text(1), {}});
    }
  }
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT l.lane, u.handle FROM lane_members l JOIN users u ON "
                                      "u.id = l.user_id WHERE l.repo_id = ? ORDER BY u.handle"));
  q.Bind(1, repo_id);
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    auto it = index.find(q.Text(0));
    if (it != index.end()) lanes[it->second].members.push_back(q.Text(1));
  }
  return lanes;
}

Result<wire::Lane> LoadLane(Db& db, const RepoAccess& repo, std::string_view lane) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT name, created_at FROM lanes WHERE repo_id = ? AND "
                                      "name = ?"));
  q.Bind(1, repo.id).Bind(2, lane);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row)
    return NotFound("lane " + Quote(lane) + " not found in repo " + Quote(repo.name) +
                    " (a repo admin can create it)");
  wire::Lane out{q.Text(0), q.Text(1), {}};
  ASSIGN_OR_RETURN(out.members, LaneMembers(db, repo.id, lane));
  return out;
}

Result<std::vector<wire::Scope>> LoadScopes(Db& db, int64_t repo_id) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT name, created_at FROM scopes WHERE repo_id = ? "
                                      "ORDER BY name"));
  q.Bind(1, repo_id);
  std::vector<wire::Scope> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back({q.Text(0), q.Text(1)});
  }
}

Result<bool> ScopeExists(Db& db, int64_t repo_id, std::string_view scope) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT 1 FROM scopes WHERE repo_id = ? AND name = ?"));
  q.Bind(1, repo_id).Bind(2, scope);
  return q.Step();
}

Result<std::vector<wire::Lane>> Registry::ListLanes(const Caller& caller, std::string_view repo) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "lane.list", std::string(repo));
  ASSIGN_OR_RETURN(RepoAccess a, attempt.Done(Authorize(attempt, repo, Role::kRead)));
  return LoadLanes(*db, a.id);
}

Result<wire::Lane> Registry::CreateLane(const Caller& caller, std::string_view repo,
                                        const std::string& name) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "lane.create", std::string(repo), name);
  auto run = [&]() -> Result<wire::Lane> {
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    ASSIGN_OR_RETURN(RepoAccess a, Authorize(attempt, repo, Role::kAdmin));
    RETURN_IF_ERROR(ValidateRefName(name, "lane"));
    if (LoadLane(*db, a, name).ok())
      return Conflict("lane " + Quote(name) + " already exists in repo " + Quote(a.name));
    std::string now = TimeNow();
    RETURN_IF_ERROR(InsertLane(*db, a.id, name, now));
    RETURN_IF_ERROR(AppendAudit(*db, attempt.Ok()));
    RETURN_IF_ERROR(tx.Commit());
    return wire::Lane{name, now, {}};
  };
  return attempt.Done(run());
}

Result<wire::Lane> Registry::AddLaneMember(const Caller& caller, std::string_view repo,
                                           std::string_view lane, std::string_view handle) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "lane.member.add", std::string(repo), LaneTarget(lane, handle));
  auto run = [&]() -> Result<wire::Lane> {
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    ASSIGN_OR_RETURN(RepoAccess a, Authorize(attempt, repo, Role::kAdmin));
    ASSIGN_OR_RETURN(wire::Lane l, LoadLane(*db, a, lane));
    ASSIGN_OR_RETURN(std::optional<int64_t> user, RepoMemberId(*db, a, handle));
    if (!user) {
      std::string who = ValidateHandle(handle).ok() ? std::string(handle) : "HANDLE";
      return Invalid(Quote(handle) + " is not a member of repo " + Quote(a.name) +
                     " (no role on it): grant one first (converge repo grant " + a.name + " " +
                     who + " --role publish)");
    }
    ASSIGN_OR_RETURN(Stmt q, db->Prepare("INSERT OR IGNORE INTO lane_members (repo_id, lane, "
                                         "user_id) VALUES (?, ?, ?)"));
    RETURN_IF_ERROR(q.Bind(1, a.id).Bind(2, l.name).Bind(3, *user).Run());
    bool added = db->Changes() > 0;
    RETURN_IF_ERROR(AppendAudit(*db, attempt.Ok(added ? "" : "was a member already")));
    ASSIGN_OR_RETURN(wire::Lane out, LoadLane(*db, a, lane));
    RETURN_IF_ERROR(tx.Commit());
    return out;
  };
  return attempt.Done(run());
}

Result<wire::Lane> Registry::RemoveLaneMember(const Caller& caller, std::string_view repo,
                                              std::string_view lane, std::string_view handle) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "lane.member.remove", std::string(repo), LaneTarget(lane, handle));
  auto run = [&]() -> Result<wire::Lane> {
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    ASSIGN_OR_RETURN(RepoAccess a, Authorize(attempt, repo, Role::kAdmin));
    ASSIGN_OR_RETURN(wire::Lane l, LoadLane(*db, a, lane));
    // Anyone not in the lane, a handle nobody has included, is simply not
    // removed: the same answer for all of them.
    ASSIGN_OR_RETURN(std::optional<int64_t> user, RepoMemberId(*db, a, handle));
    bool removed = false;
    if (user) {
      ASSIGN_OR_RETURN(Stmt q, db->Prepare("DELETE FROM lane_members WHERE repo_id = ? AND "
                                           "lane = ? AND user_id = ?"));
      RETURN_IF_ERROR(q.Bind(1, a.id).Bind(2, l.name).Bind(3, *user).Run());
      removed = db->Changes() > 0;
    }
    RETURN_IF_ERROR(AppendAudit(*db, attempt.Ok(removed ? "" : "was not a member")));
    ASSIGN_OR_RETURN(wire::Lane out, LoadLane(*db, a, lane));
    RETURN_IF_ERROR(tx.Commit());
    return out;
  };
  return attempt.Done(run());
}

Result<std::vector<wire::Scope>> Registry::ListScopes(const Caller& caller, std::string_view repo) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "scope.list", std::string(repo));
  ASSIGN_OR_RETURN(RepoAccess a, attempt.Done(Authorize(attempt, repo, Role::kRead)));
  return LoadScopes(*db, a.id);
}

Result<wire::Scope> Registry::CreateScope(const Caller& caller, std::string_view repo,
                                          const std::string& name) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "scope.create", std::string(repo), name);
  auto run = [&]() -> Result<wire::Scope> {
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    ASSIGN_OR_RETURN(RepoAccess a, Authorize(attempt, repo, Role::kAdmin));
    RETURN_IF_ERROR(ValidateRefName(name, "scope"));
    ASSIGN_OR_RETURN(bool exists, ScopeExists(*db, a.id, name));
    if (exists)
      return Conflict("scope " + Quote(name) + " already exists in repo " + Quote(a.name));
    std::string now = TimeNow();
    RETURN_IF_ERROR(InsertScope(*db, a.id, name, now));
    RETURN_IF_ERROR(AppendAudit(*db, attempt.Ok()));
    RETURN_IF_ERROR(tx.Commit());
    return wire::Scope{name, now};
  };
  return attempt.Done(run());
}

}  // namespace converge
