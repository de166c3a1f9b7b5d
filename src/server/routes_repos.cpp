#include "server/routes_repos.h"

#include "base/text.h"
#include "server/http_io.h"

namespace converge {

using httplib::ContentReader;
using httplib::Request;
using httplib::Response;

namespace {

// The one string field of a small JSON body such as {"name": "x"}; any other
// field is refused, naming it, like every request body's.
Result<std::string> StringField(RequestBody& body, const char* key) {
  ASSIGN_OR_RETURN(nlohmann::json j, body.Json());
  if (!j.is_object() || !j.contains(key) || !j[key].is_string())
    return Invalid(std::string("the request body needs a string field \"") + key + "\"");
  for (const auto& [k, v] : j.items())
    if (k != key)
      return Invalid("request has an unknown field " + Quote(std::string_view(k).substr(0, 80)) +
                     " (known fields: \"" + key + "\")");
  return j[key].get<std::string>();
}

std::string Match(const Request& req, size_t i) {
  return req.matches[i].str();
}

}  // namespace

void RegisterRepoRoutes(httplib::Server& svr, Authority& a) {
  const uint64_t limit = a.config().max_json_bytes;
  Registry& reg = a.registry();

  svr.Post(
      "/v1/repos", [&a, &reg, limit](const Request& req, Response& res, const ContentReader& r) {
        ServeBody(a, req, res, r, limit, [&](const Caller& c, RequestBody& body) -> Result<Reply> {
          ASSIGN_OR_RETURN(wire::NewRepoRequest in, Decode<wire::NewRepoRequest>(body));
          return Answer(201, reg.CreateRepo(c, in));
        });
      });

  svr.Get("/v1/repos", [&a, &reg](const Request& req, Response& res) {
    Serve(a, req, res, [&](const Caller& c) { return Answer(200, reg.ListRepos(c)); });
  });

  svr.Get(R"(/v1/repos/([^/]+))", [&a, &reg](const Request& req, Response& res) {
    Serve(a, req, res, [&](const Caller& c) { return Answer(200, reg.GetRepo(c, Match(req, 1))); });
  });

  const char* member = R"(/v1/repos/([^/]+)/members/([^/]+))";
  svr.Put(member, [&a, &reg, limit](const Request& req, Response& res, const ContentReader& r) {
    ServeBody(a, req, res, r, limit, [&](const Caller& c, RequestBody& body) -> Result<Reply> {
      ASSIGN_OR_RETURN(std::string role, StringField(body, "role"));
      return Answer(200, reg.SetMember(c, Match(req, 1), Match(req, 2), role));
    });
  });
  svr.Delete(member, [&a, &reg, limit](const Request& req, Response& res, const ContentReader& r) {
    ServeBody(a, req, res, r, limit, [&](const Caller& c, RequestBody&) {
      return Answer(200, reg.RemoveMember(c, Match(req, 1), Match(req, 2)));
    });
  });

  const char* lanes = R"(/v1/repos/([^/]+)/lanes)";
  svr.Get(lanes, [&a, &reg](const Request& req, Response& res) {
    Serve(a, req, res,
          [&](const Caller& c) { return Answer(200, reg.ListLanes(c, Match(req, 1))); });
  });
  svr.Post(lanes, [&a, &reg, limit](const Request& req, Response& res, const ContentReader& r) {
    ServeBody(a, req, res, r, limit, [&](const Caller& c, RequestBody& body) -> Result<Reply> {
      ASSIGN_OR_RETURN(std::string name, StringField(body, "name"));
      return Answer(201, reg.CreateLane(c, Match(req, 1), name));
    });
  });

  // Lane names may hold '/', handles never do: the lane is everything between.
  const char* lane_member = R"(/v1/repos/([^/]+)/lanes/(.+)/members/([^/]+))";
  svr.Put(lane_member,
          [&a, &reg, limit](const Request& req, Response& res, const ContentReader& r) {
            ServeBody(a, req, res, r, limit, [&](const Caller& c, RequestBody&) {
              return Answer(200, reg.AddLaneMember(c, Match(req, 1), Match(req, 2), Match(req, 3)));
            });
          });
  svr.Delete(
      lane_member, [&a, &reg, limit](const Request& req, Response& res, const ContentReader& r) {
        ServeBody(a, req, res, r, limit, [&](const Caller& c, RequestBody&) {
          return Answer(200, reg.RemoveLaneMember(c, Match(req, 1), Match(req, 2), Match(req, 3)));
        });
      });

  const char* scopes = R"(/v1/repos/([^/]+)/scopes)";
  svr.Get(scopes, [&a, &reg](const Request& req, Response& res) {
    Serve(a, req, res,
          [&](const Caller& c) { return Answer(200, reg.ListScopes(c, Match(req, 1))); });
  });
  svr.Post(scopes, [&a, &reg, limit](const Request& req, Response& res, const ContentReader& r) {
    ServeBody(a, req, res, r, limit, [&](const Caller& c, RequestBody& body) -> Result<Reply> {
      ASSIGN_OR_RETURN(std::string name, StringField(body, "name"));
      return Answer(201, reg.CreateScope(c, Match(req, 1), name));
    });
  });

  const char* gates = R"(/v1/repos/([^/]+)/gate-graph)";
  svr.Get(gates, [&a, &reg](const Request& req, Response& res) {
    Serve(a, req, res,
          [&](const Caller& c) { return Answer(200, reg.GetGateGraph(c, Match(req, 1))); });
  });
  svr.Put(gates, [&a, &reg, limit](const Request& req, Response& res, const ContentReader& r) {
    ServeBody(a, req, res, r, limit, [&](const Caller& c, RequestBody& body) -> Result<Reply> {
      ASSIGN_OR_RETURN(wire::GateGraph graph, Decode<wire::GateGraph>(body));
      return Answer(200, reg.SetGateGraph(c, Match(req, 1), graph));
    });
  });
}

}  // namespace converge
