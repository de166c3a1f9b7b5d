// What the route files share on top of net/http_io.h: authentication of a
// request (Serve, ServeBody: 401 or 429 before anything else), a handler's
// reply, the domain result -> answer step, strict JSON request bodies, and
// the query parameters of paginated lists (docs/api.md "Conventions").
// Handlers call the authority and print; nothing here knows a route.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/wire.h"
#include "base/status.h"
#include "net/http_io.h"
#include "server/authority.h"

namespace converge {

// A handler's answer: JSON with a status, or a response it set up itself.
struct Reply {
  int status = 200;
  nlohmann::json body;
  bool streamed = false;
};
inline Reply JsonReply(int status, nlohmann::json body) {
  return Reply{status, std::move(body)};
}
inline Reply StreamedReply() {
  return Reply{200, nullptr, true};
}

// The reply for a domain result: its JSON with `status`, or its error.
template <class T>
Result<Reply> Answer(int status, const Result<T>& r) {
  if (!r.ok()) return r.status();
  return JsonReply(status, wire::ToJson(*r));
}

using Handler = std::function<Result<Reply>(const Caller&)>;
using BodyHandler = std::function<Result<Reply>(const Caller&, RequestBody&)>;

// Authenticates, runs `fn`, answers. 401 before anything else; 429 with
// Retry-After while the caller's address is refused for failed tokens
// (server/rate_limit.h). Names the caller in the access log.
void Serve(Authority& a, const httplib::Request& req, httplib::Response& res, const Handler& fn);
// The same for a request with a body of at most `limit` bytes: a declared
// length over it is 413 before a byte is read.
void ServeBody(Authority& a, const httplib::Request& req, httplib::Response& res,
               const httplib::ContentReader& reader, uint64_t limit, const BodyHandler& fn);

// Parses a JSON body into a wire type: kInvalid naming what is wrong,
// including a field the type does not have.
template <class T>
Result<T> Decode(RequestBody& body) {
  ASSIGN_OR_RETURN(nlohmann::json j, body.Json());
  T out;
  RETURN_IF_ERROR(wire::FromRequestJson(j, out));
  return out;
}

// ?limit=N (default 100, 1 to 1000) and ?before=CURSOR: kInvalid otherwise.
Result<int> LimitParam(const httplib::Request& req);
Result<std::optional<int64_t>> BeforeParam(const httplib::Request& req);
std::optional<std::string> Param(const httplib::Request& req, const char* name);
// The audit log's filters, ?actor= &action= &repo= &outcome= &since= &until=
// (server/audit.h checks them); an empty value is no filter, as a web form
// sends the fields left empty.
AuditFilter AuditFilterParams(const httplib::Request& req);

}  // namespace converge
