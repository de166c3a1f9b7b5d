// The route groups of the HTTP API (docs/api.md), one file each. Every
// handler authenticates through Serve/ServeBody and calls the authority.
#pragma once

#include <httplib.h>

#include "server/authority.h"

namespace converge {

void RegisterIdentityRoutes(httplib::Server& svr, Authority& a);  // whoami, users, tokens
void RegisterRepoRoutes(httplib::Server& svr,
                        Authority& a);  // repos, members, lanes, scopes, gates
void RegisterObjectRoutes(httplib::Server& svr, Authority& a);       // objects, packs
void RegisterPublicationRoutes(httplib::Server& svr, Authority& a);  // publications, audit

}  // namespace converge
