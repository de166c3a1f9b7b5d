// The authority's HTTP face: everything net/http_server.h serves for it.
// The routes are those of docs/api.md ("Routes"), one file per group
// (routes_identity.h, routes_repos.h, routes_objects.h,
// routes_publications.h), plus GET /healthz (anyone: status and version).
#pragma once

#include "net/http_server.h"
#include "server/authority.h"
#include "server/config.h"

namespace converge {

// The HTTP settings of `c` (threads: EffectiveThreads()).
HttpServerOptions HttpOptionsFor(const ServerConfig& c);

// The authority's routes, and each one's body limit (max_object_bytes for a
// blob, max_metadata_bytes for another object, none for a pack, else
// max_json_bytes). `a` must outlive the server they are given to.
HttpRoutes AuthorityRoutes(Authority& a);

}  // namespace converge
