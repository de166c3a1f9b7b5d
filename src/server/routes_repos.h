// The repo routes of docs/api.md ("Routes"): repos, their members, lanes,
// scopes and gate graph.
//
//   POST   /v1/repos                                  server admin (anyone else: the
//                                                     same 403 whatever the name)
//   GET    /v1/repos                                  any user: only the repos they may read
//   GET    /v1/repos/{repo}                           reader
//   PUT    /v1/repos/{repo}/members/{handle}          repo admin
//   DELETE /v1/repos/{repo}/members/{handle}          repo admin
//   GET    /v1/repos/{repo}/lanes                     reader
//   POST   /v1/repos/{repo}/lanes                     repo admin
//   PUT    /v1/repos/{repo}/lanes/{lane}/members/{h}  repo admin
//   DELETE /v1/repos/{repo}/lanes/{lane}/members/{h}  repo admin
//   GET    /v1/repos/{repo}/scopes                    reader
//   POST   /v1/repos/{repo}/scopes                    repo admin
//   GET    /v1/repos/{repo}/gate-graph                reader
//   PUT    /v1/repos/{repo}/gate-graph                repo admin
//
// A repo the caller may not read is 404, the same as one that does not
// exist. Authz, validation and the audit rows (repo.create, member.set,
// member.remove, lane.*, scope.create, gate_graph.set, and each refusal) are
// the registry's (server/registry.h); the handlers authenticate, decode the
// body strictly and answer.
#pragma once

#include <httplib.h>

#include "server/authority.h"

namespace converge {

// Adds the routes above to `svr`; `a` must outlive it.
void RegisterRepoRoutes(httplib::Server& svr, Authority& a);

}  // namespace converge
