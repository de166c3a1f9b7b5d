#include "server/routes_identity.h"

#include "server/http_io.h"

namespace converge {

using httplib::ContentReader;
using httplib::Request;
using httplib::Response;

void RegisterIdentityRoutes(httplib::Server& svr, Authority& a) {
  const uint64_t json_limit = a.config().max_json_bytes;

  svr.Get("/v1/whoami", [&a](const Request& req, Response& res) {
    Serve(a, req, res, [&](const Caller& c) { return Answer(200, a.identity().Whoami(c)); });
  });

  svr.Post("/v1/users", [&a, json_limit](const Request& req, Response& res,
                                         const ContentReader& r) {
    ServeBody(a, req, res, r, json_limit, [&](const Caller& c, RequestBody& body) -> Result<Reply> {
      ASSIGN_OR_RETURN(wire::NewUserRequest in, Decode<wire::NewUserRequest>(body));
      return Answer(201, a.identity().CreateUser(c, in));
    });
  });

  svr.Get("/v1/users", [&a](const Request& req, Response& res) {
    Serve(a, req, res, [&](const Caller& c) { return Answer(200, a.identity().ListUsers(c)); });
  });

  svr.Post("/v1/tokens", [&a, json_limit](const Request& req, Response& res,
                                          const ContentReader& r) {
    ServeBody(a, req, res, r, json_limit, [&](const Caller& c, RequestBody& body) -> Result<Reply> {
      ASSIGN_OR_RETURN(wire::NewTokenRequest in, Decode<wire::NewTokenRequest>(body));
      return Answer(201, a.identity().CreateToken(c, in));
    });
  });

  svr.Get("/v1/tokens", [&a](const Request& req, Response& res) {
    Serve(a, req, res, [&](const Caller& c) {
      return Answer(200, a.identity().ListTokens(c, Param(req, "user")));
    });
  });

  svr.Delete(R"(/v1/tokens/([^/]+))",
             [&a, json_limit](const Request& req, Response& res, const ContentReader& r) {
               ServeBody(a, req, res, r, json_limit, [&](const Caller& c, RequestBody&) {
                 return Answer(200, a.identity().RevokeToken(c, req.matches[1].str()));
               });
             });
}

}  // namespace converge
