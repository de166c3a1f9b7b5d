// The publication and audit routes of docs/api.md ("Routes",
// "Publications", "Audit").
//
//   POST /v1/repos/{repo}/publications        publisher and member of the lane
//   GET  /v1/repos/{repo}/publications        reader: ?scope=&lane=&gate=&limit=&before=
//   GET  /v1/repos/{repo}/publications/{id}   reader: a full ID or a unique prefix of 4+
//   GET  /v1/repos/{repo}/audit               repo admin, server admin
//   GET  /v1/audit                            server admin: the whole log
//   GET  /v1/audit/key                        any user: the key the head is signed with
//   GET  /v1/audit/head                       server admin: the newest row, signed
//
// Authz and the audit rows (publication.create, and each refusal) are the
// services' (server/publications.h, server/audit.h).
#pragma once

#include <httplib.h>

#include "server/authority.h"

namespace converge {

// Adds the routes above to `svr`; `a` must outlive it.
void RegisterPublicationRoutes(httplib::Server& svr, Authority& a);

}  // namespace converge
