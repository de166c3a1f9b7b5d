// The identity routes of docs/api.md ("Routes", "Tokens"): who the caller
// is, the server's users, and tokens.
//
//   GET    /v1/whoami        any user
//   POST   /v1/users         server admin: a user and its first token
//   GET    /v1/users         server admin
//   POST   /v1/tokens        any user for themself; a server admin for anyone
//   GET    /v1/tokens        own tokens; a server admin: ?user=H, or all
//   DELETE /v1/tokens/{id}   the token's owner, a server admin
//
// Every handler authenticates first (server/http_io.h: 401, or 429 while the
// address is refused) and leaves authz and the audit row (user.create,
// token.create, token.revoke, and each refusal) to the authority's identity
// service (server/auth.h).
#pragma once

#include <httplib.h>

#include "server/authority.h"

namespace converge {

// Adds the routes above to `svr`; `a` must outlive it.
void RegisterIdentityRoutes(httplib::Server& svr, Authority& a);

}  // namespace converge
