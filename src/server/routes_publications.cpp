#include "server/routes_publications.h"

#include "server/http_io.h"

namespace converge {

using httplib::ContentReader;
using httplib::Request;
using httplib::Response;

void RegisterPublicationRoutes(httplib::Server& svr, Authority& a) {
  const uint64_t limit = a.config().max_json_bytes;
  Publications& pubs = a.publications();

  const char* list = R"(/v1/repos/([^/]+)/publications)";
  svr.Post(list, [&a, &pubs, limit](const Request& req, Response& res, const ContentReader& r) {
    ServeBody(a, req, res, r, limit, [&](const Caller& c, RequestBody& body) -> Result<Reply> {
      ASSIGN_OR_RETURN(wire::PublishRequest in, Decode<wire::PublishRequest>(body));
      return Answer(201, pubs.Create(c, req.matches[1].str(), in));
    });
  });

  svr.Get(list, [&a, &pubs](const Request& req, Response& res) {
    Serve(a, req, res, [&](const Caller& c) -> Result<Reply> {
      PublicationQuery f;
      f.scope = Param(req, "scope");
      f.lane = Param(req, "lane");
      f.gate = Param(req, "gate");
      ASSIGN_OR_RETURN(f.limit, LimitParam(req));
      ASSIGN_OR_RETURN(f.before, BeforeParam(req));
      return Answer(200, pubs.List(c, req.matches[1].str(), f));
    });
  });

  svr.Get(R"(/v1/repos/([^/]+)/publications/([^/]+))",
          [&a, &pubs](const Request& req, Response& res) {
            Serve(a, req, res, [&](const Caller& c) {
              return Answer(200, pubs.Get(c, req.matches[1].str(), req.matches[2].str()));
            });
          });

  svr.Get(R"(/v1/repos/([^/]+)/audit)", [&a](const Request& req, Response& res) {
    Serve(a, req, res, [&](const Caller& c) -> Result<Reply> {
      ASSIGN_OR_RETURN(int n, LimitParam(req));
      ASSIGN_OR_RETURN(std::optional<int64_t> before, BeforeParam(req));
      return Answer(200,
                    a.audit().ListRepo(c, req.matches[1].str(), n, before, AuditFilterParams(req)));
    });
  });

  svr.Get("/v1/audit/key", [&a](const Request& req, Response& res) {
    Serve(a, req, res, [&](const Caller&) { return Answer(200, a.audit().Key()); });
  });

  svr.Get("/v1/audit/head", [&a](const Request& req, Response& res) {
    Serve(a, req, res, [&](const Caller& c) { return Answer(200, a.audit().Head(c)); });
  });

  svr.Get("/v1/audit", [&a](const Request& req, Response& res) {
    Serve(a, req, res, [&](const Caller& c) -> Result<Reply> {
      ASSIGN_OR_RETURN(int n, LimitParam(req));
      ASSIGN_OR_RETURN(std::optional<int64_t> before, BeforeParam(req));
      return Answer(200, a.audit().ListAll(c, n, before, AuditFilterParams(req)));
    });
  });
}

}  // namespace converge
