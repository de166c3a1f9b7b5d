// The registries of a repo: the repo itself and its members (repos.cpp), its
// lanes and scopes (lanes.cpp) and its gate graph (gate_graph.cpp). Readers
// may list; repo admins change; every change is audited in its transaction.
//
// Only server admins create repos. A new repo gets its first admin (the one
// the request names, else the creator), scope "main", lane "default" with
// that admin in it, and the gate graph {dev-intake}.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/wire.h"
#include "server/authz.h"
#include "server/db_pool.h"

namespace converge {

class Registry {
 public:
  explicit Registry(DbPool& dbs) : dbs_(dbs) {}

  Result<wire::Repo> CreateRepo(const Caller& caller, const wire::NewRepoRequest& req);
  Result<std::vector<wire::Repo>> ListRepos(const Caller& caller);
  Result<wire::RepoDetails> GetRepo(const Caller& caller, std::string_view repo);
  Result<wire::Membership> SetMember(const Caller& caller, std::string_view repo,
                                     std::string_view handle, std::string_view role);
  Result<wire::Membership> RemoveMember(const Caller& caller, std::string_view repo,
                                        std::string_view handle);

  Result<std::vector<wire::Lane>> ListLanes(const Caller& caller, std::string_view repo);
  Result<wire::Lane> CreateLane(const Caller& caller, std::string_view repo,
                                const std::string& name);
  Result<wire::Lane> AddLaneMember(const Caller& caller, std::string_view repo,
                                   std::string_view lane, std::string_view handle);
  Result<wire::Lane> RemoveLaneMember(const Caller& caller, std::string_view repo,
                                      std::string_view lane, std::string_view handle);

  Result<std::vector<wire::Scope>> ListScopes(const Caller& caller, std::string_view repo);
  Result<wire::Scope> CreateScope(const Caller& caller, std::string_view repo,
                                  const std::string& name);

  Result<wire::GateGraph> GetGateGraph(const Caller& caller, std::string_view repo);
  Result<wire::GateGraph> SetGateGraph(const Caller& caller, std::string_view repo,
                                       const wire::GateGraph& graph);

 private:
  DbPool& dbs_;
};

// Queries the publication intake shares with the registry.
Result<std::vector<wire::Lane>> LoadLanes(Db& db, int64_t repo_id);
// kNotFound naming the lane when the repo has no such lane.
Result<wire::Lane> LoadLane(Db& db, const RepoAccess& repo, std::string_view lane);
Result<std::vector<wire::Scope>> LoadScopes(Db& db, int64_t repo_id);
Result<bool> ScopeExists(Db& db, int64_t repo_id, std::string_view scope);
Result<wire::GateGraph> LoadGateGraph(Db& db, int64_t repo_id);
// Inside an open transaction: stores `graph` (already validated) for the repo.
Status StoreGateGraph(Db& db, int64_t repo_id, const wire::GateGraph& graph, int64_t user_id);
// Non-empty, unique and valid gate ids, known upstreams, no cycle.
Status ValidateGateGraph(const wire::GateGraph& graph);
// Inside an open transaction: inserts a lane or scope row.
Status InsertLane(Db& db, int64_t repo_id, const std::string& name, const std::string& now);
Status InsertScope(Db& db, int64_t repo_id, const std::string& name, const std::string& now);

}  // namespace converge
