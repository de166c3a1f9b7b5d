#include "server/http_io.h"

#include <charconv>

namespace converge {

void Serve(Authority& a, const httplib::Request& req, httplib::Response& res, const Handler& fn) {
  int64_t retry_after = 0;
  Result<Caller> caller = a.identity().Authenticate(req.get_header_value("Authorization"),
                                                    ClientAddress(req), &retry_after);
  if (!caller.ok() && retry_after > 0) {
    // Too many failed tokens from this address: 429, not a 401 to retry at once.
    res.set_header("Retry-After", std::to_string(retry_after));
    return SendError(res, Status(Code::kRateLimited, caller.status().message()));
  }
  if (!caller.ok()) return SendError(res, caller.status());
  CurrentRequestLog().user = caller->handle;
  Result<Reply> reply = fn(*caller);
  if (!reply.ok()) return SendError(res, reply.status());
  if (!reply->streamed) SendJson(res, reply->status, reply->body);
}

void ServeBody(Authority& a, const httplib::Request& req, httplib::Response& res,
               const httplib::ContentReader& reader, uint64_t limit, const BodyHandler& fn) {
  RequestBody body(req, reader, limit);
  Serve(a, req, res, [&](const Caller& caller) -> Result<Reply> {
    std::optional<uint64_t> len = ContentLength(req);
    if (len && *len > limit)
      return TooLarge("the request body is " + std::to_string(*len) +
                      " bytes; the limit for this request is " + std::to_string(limit));
    return fn(caller, body);
  });
  body.Finish(res);
}

Result<int> LimitParam(const httplib::Request& req) {
  std::optional<std::string> v = Param(req, "limit");
  if (!v) return 100;
  int n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < 1 || n > 1000)
    return Invalid("limit must be a whole number from 1 to 1000");
  return n;
}

Result<std::optional<int64_t>> BeforeParam(const httplib::Request& req) {
  std::optional<std::string> v = Param(req, "before");
  if (!v) return std::optional<int64_t>();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < 1)
    return Invalid("before must be a cursor from a previous answer's \"next\"");
  return std::optional<int64_t>(n);
}

std::optional<std::string> Param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  return req.get_param_value(name);
}

AuditFilter AuditFilterParams(const httplib::Request& req) {
  auto given = [&](const char* name) {
    std::optional<std::string> v = Param(req, name);
    return v && !v->empty() ? v : std::nullopt;
  };
  return AuditFilter{given("actor"),   given("action"), given("repo"),
                     given("outcome"), given("since"),  given("until")};
}

}  // namespace converge
