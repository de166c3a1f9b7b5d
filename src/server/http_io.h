// Shared by the route files: authentication of a request, bodies read with a
// limit, JSON answers, the Status -> HTTP mapping, query parameters and the
// per-request access-log record. Handlers call the authority and print.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/status.h"
#include "api/wire.h"
#include "server/authority.h"

namespace converge {

// kInvalid 400, kUnauthenticated 401, kPermission 403, kNotFound 404,
// kConflict 409, kTooLarge 413, kCorrupt 422, kUnavailable 503, else 500.
int HttpStatusFor(Code code);

// What the access-log line of the request running on this thread will say.
struct RequestLog {
  std::chrono::steady_clock::time_point start;
  std::string user;       // handle, once authenticated
  uint64_t streamed = 0;  // bytes sent by a content provider
  bool active = false;
};
RequestLog& CurrentRequestLog();

void SendJson(httplib::Response& res, int status, const nlohmann::json& body);
// {"error": {"code", "message"}} with the mapped status; 5xx are also logged.
void SendError(httplib::Response& res, const Status& st);
// Ends the connection right after this response (its request body was not
// read, or not all of it): the client is told so, and the server does not
// wait for another request on it.
void CloseAfter(const httplib::Request& req, httplib::Response& res);

// The body of a POST/PUT, read at most once and never past `limit` bytes.
class RequestBody {
 public:
  RequestBody(const httplib::Request& req, const httplib::ContentReader& reader, uint64_t limit)
      : req_(req), reader_(reader), limit_(limit) {}

  // The whole body as JSON: kInvalid when malformed or empty, kTooLarge past the limit.
  Result<nlohmann::json> Json();
  // The body streamed piece by piece, for object intake.
  ObjectIntake::Body Stream();
  // After the answer is set: drains a small unread body so the connection can
  // carry the next request, or closes the connection.
  void Finish(httplib::Response& res);

 private:
  enum class State { kUnread, kDone, kAbandoned };
  const httplib::Request& req_;
  const httplib::ContentReader& reader_;
  uint64_t limit_;
  State state_ = State::kUnread;
};

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

// Authenticates, runs `fn`, answers. 401 before anything else.
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

// ?limit=N (default 100, 1 to 1000) and ?before=CURSOR.
Result<int> LimitParam(const httplib::Request& req);
Result<std::optional<int64_t>> BeforeParam(const httplib::Request& req);
std::optional<std::string> Param(const httplib::Request& req, const char* name);

}  // namespace converge
