// The gate graph of a repo: a DAG of gates, stored as canonical JSON
// (gate_graph.cpp; docs/api.md has the format). Records in
// store/records/registry.h; authorization through server/authz.h.
//
// Audit, as for repos.h: a change writes one "ok" row in its transaction; an
// attempt refused by authorization writes one row, "refused: not_found" (a
// missing repo and one the caller may not read alike) or "refused:
// forbidden"; a name no repo may have gets the same kNotFound, not logged;
// other failures and successful reads write nothing.
#pragma once

#include <cstdint>
#include <string_view>

#include "api/wire.h"
#include "server/authz.h"
#include "server/db_pool.h"

namespace converge {

class GateGraphRegistry {
 public:
  explicit GateGraphRegistry(DbPool& dbs) : dbs_(dbs) {}

  // Needs: read. Returns the repo's gate graph as stored. Errors: kNotFound
  // (missing or hidden repo), kCorrupt (the stored graph does not parse),
  // kInternal (the repo has no graph: every repo is made with one).
  // Audit: "gate_graph.read", refused only.
  Result<wire::GateGraph> GetGateGraph(const Caller& caller, std::string_view repo);

  // Needs: admin of the repo. Replaces the repo's graph with `graph` (checked
  // by ValidateGateGraph) and returns it. Errors: kNotFound (missing or
  // hidden repo), kPermission (below admin), kInvalid (ValidateGateGraph's).
  // Audit: "gate_graph.set", target "gate graph"; ok detail "gates: ID, ..."
  // (cut after 1000 characters, ending "...").
  Result<wire::GateGraph> SetGateGraph(const Caller& caller, std::string_view repo,
                                       const wire::GateGraph& graph);

 private:
  DbPool& dbs_;
};

// kInvalid unless: 1 to 1000 gates, ids valid gate names and unique,
// descriptions valid text of at most 4096 bytes, upstreams known, not the
// gate itself, not listed twice, and no cycle (the message names a gate on it).
Status ValidateGateGraph(const wire::GateGraph& graph);

// For services that already hold an authorized repo, inside the caller's
// transaction on `db`; no authorization, no audit.

// The repo's graph; kCorrupt when the stored JSON does not parse as one,
// kInternal when the repo has none.
Result<wire::GateGraph> LoadGateGraph(Db& db, int64_t repo_id);
// Stores `graph` (already validated) as the repo's, by `user_id`, now.
Status StoreGateGraph(Db& db, int64_t repo_id, const wire::GateGraph& graph, int64_t user_id);

}  // namespace converge
