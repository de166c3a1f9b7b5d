// The gate graph registry: a DAG of gates stored as canonical JSON.
#include "server/gate_graph.h"

#include <map>
#include <set>

#include "base/json.h"
#include "base/text.h"
#include "base/clock.h"
#include "server/names.h"
#include "server/repo_ops.h"
#include "store/records/registry.h"

namespace converge {

namespace {
constexpr size_t kMaxGates = 1000;
}  // namespace

Status ValidateGateGraph(const wire::GateGraph& graph) {
  if (graph.gates.empty()) return Invalid("a gate graph needs at least one gate");
  if (graph.gates.size() > kMaxGates)
    return Invalid("a gate graph may have at most " + std::to_string(kMaxGates) + " gates");
  std::map<std::string, const wire::Gate*> by_id;
  for (const wire::Gate& g : graph.gates) {
    RETURN_IF_ERROR(ValidateRefName(g.id, "gate"));
    if (!by_id.emplace(g.id, &g).second)
      return Invalid("gate " + Quote(g.id) + " appears twice in the gate graph");
    if (g.description)
      RETURN_IF_ERROR(ValidateText(*g.description, "gate description", 4096, true));
  }
  for (const wire::Gate& g : graph.gates) {
    std::set<std::string> seen;
    for (const std::string& up : g.upstream) {
      if (!by_id.count(up))
        return Invalid("gate " + Quote(g.id) + " names unknown upstream gate " + Quote(up));
      if (up == g.id) return Invalid("gate " + Quote(g.id) + " lists itself as its upstream");
      if (!seen.insert(up).second)
        return Invalid("gate " + Quote(g.id) + " lists upstream " + Quote(up) + " twice");
    }
  }
  // Kahn's algorithm: whatever cannot be ordered lies on a cycle.
  std::map<std::string, size_t> pending;
  std::map<std::string, std::vector<std::string>> downstream;
  for (const wire::Gate& g : graph.gates) {
    pending[g.id] = g.upstream.size();
    for (const std::string& up : g.upstream) downstream[up].push_back(g.id);
  }
  std::vector<std::string> ready;
  for (const auto& [id, n] : pending)
    if (n == 0) ready.push_back(id);
  size_t ordered = 0;
  while (!ready.empty()) {
    std::string id = ready.back();
    ready.pop_back();
    ordered++;
    for (const std::string& d : downstream[id])
      if (--pending[d] == 0) ready.push_back(d);
  }
  if (ordered != graph.gates.size()) {
    for (const auto& [id, n] : pending)
      if (n > 0) return Invalid("the gate graph has a cycle through gate " + Quote(id));
  }
  return Status::Ok();
}

Result<wire::GateGraph> LoadGateGraph(Db& db, int64_t repo_id) {
  ASSIGN_OR_RETURN(std::optional<std::string> stored, GateGraphRecords(db).Load(repo_id));
  if (!stored) return Internal("repo #" + std::to_string(repo_id) + " has no gate graph");
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(*stored));
  wire::GateGraph graph;
  Status st = wire::FromJson(j, graph);
  if (!st.ok())
    return Corrupt("stored gate graph of repo #" + std::to_string(repo_id) + ": " + st.message());
  return graph;
}

Status StoreGateGraph(Db& db, int64_t repo_id, const wire::GateGraph& graph, int64_t user_id) {
  return GateGraphRecords(db).Store(repo_id, wire::ToJson(graph).dump(), TimeNow(), user_id);
}

Result<wire::GateGraph> GateGraphRegistry::GetGateGraph(const Caller& caller,
                                                        std::string_view repo) {
  return ReadRepo(dbs_, caller, "gate_graph.read", repo,
                  [](Db& db, const RepoAccess& a) { return LoadGateGraph(db, a.id); });
}

Result<wire::GateGraph> GateGraphRegistry::SetGateGraph(const Caller& caller,
                                                        std::string_view repo,
                                                        const wire::GateGraph& graph) {
  return ChangeRepo(
      dbs_, caller, "gate_graph.set", repo, "gate graph",
      [&](Db& db, Attempt& attempt, const RepoAccess& a) -> Result<wire::GateGraph> {
        RETURN_IF_ERROR(ValidateGateGraph(graph));
        RETURN_IF_ERROR(StoreGateGraph(db, a.id, graph, caller.user_id));
        std::string ids;
        for (const wire::Gate& g : graph.gates) ids += (ids.empty() ? "" : ", ") + g.id;
        if (ids.size() > 1000) ids = ids.substr(0, 1000) + "...";  // the log keeps a summary
        RETURN_IF_ERROR(AppendAudit(db, attempt.Ok("gates: " + ids)));
        return graph;
      });
}

}  // namespace converge
