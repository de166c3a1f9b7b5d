#include "server/http_routes.h"

#include <httplib.h>

#include "api/wire.h"
#include "net/http_io.h"
#include "server/routes_identity.h"
#include "server/routes_objects.h"
#include "server/routes_publications.h"
#include "server/routes_repos.h"
#include "server/routes_web.h"

namespace converge {

namespace {

// The body limit of a route, known from its method and path alone, so that a
// client sending "Expect: 100-continue" learns of a 413 before sending a byte.
uint64_t BodyLimitFor(const ServerConfig& c, const httplib::Request& req) {
  const std::string& p = req.path;
  if (req.method == "PUT" && p.find("/blobs/") != std::string::npos) return c.max_object_bytes;
  if (req.method == "PUT" &&
      (p.find("/manifests/") != std::string::npos || p.find("/snaps/") != std::string::npos ||
       p.find("/chunklists/") != std::string::npos))
    return c.max_metadata_bytes;
  if (req.method == "POST" && p.size() >= 13 && p.compare(p.size() - 13, 13, "/objects/pack") == 0)
    return UINT64_MAX;
  return c.max_json_bytes;
}

}  // namespace

HttpServerOptions HttpOptionsFor(const ServerConfig& c) {
  HttpServerOptions o;
  o.tls_cert_file = c.tls_cert_file;
  o.tls_key_file = c.tls_key_file;
  o.threads = c.EffectiveThreads();
  o.max_connections = c.max_connections;
  o.max_connections_per_address = c.max_connections_per_address;
  o.max_header_bytes = c.max_header_bytes;
  o.read_timeout_seconds = c.read_timeout_seconds;
  o.write_timeout_seconds = c.write_timeout_seconds;
  o.keep_alive_timeout_seconds = c.keep_alive_timeout_seconds;
  o.keep_alive_max_requests = c.keep_alive_max_requests;
  o.trusted_proxies = c.trusted_proxies;
  return o;
}

HttpRoutes AuthorityRoutes(Authority& a) {
  HttpRoutes routes;
  routes.add = [&a](httplib::Server& svr) {
    svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      SendJson(res, 200, wire::ToJson(wire::Health{"ok", CONVERGE_VERSION}));
    });
    RegisterIdentityRoutes(svr, a);
    RegisterRepoRoutes(svr, a);
    RegisterObjectRoutes(svr, a);
    RegisterPublicationRoutes(svr, a);
    if (a.config().web) RegisterWebRoutes(svr, a);
  };
  const ServerConfig* config = &a.config();
  routes.body_limit = [config](const httplib::Request& req) { return BodyLimitFor(*config, req); };
  return routes;
}

}  // namespace converge
