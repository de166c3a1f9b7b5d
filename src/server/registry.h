// The registries of a repo as the one service Authority hands out
// (Authority::registry()): the repo and its members (server/repos.h), its
// lanes and scopes (server/lanes.h) and its gate graph (server/gate_graph.h).
// Each method's contract (the role it needs, its errors, what it audits) is
// in the header of the part that declares it.
#pragma once

#include "server/gate_graph.h"
#include "server/lanes.h"
#include "server/repos.h"

namespace converge {

class Registry : public RepoRegistry, public LaneRegistry, public GateGraphRegistry {
 public:
  explicit Registry(DbPool& dbs) : RepoRegistry(dbs), LaneRegistry(dbs), GateGraphRegistry(dbs) {}
};

}  // namespace converge
