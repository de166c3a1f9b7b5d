// What every HTTP answer of the server is made of, with no domain in it: the
// Status -> HTTP mapping, JSON answers and errors ({"error": {"code",
// "message"}}, docs/api.md "Conventions"), bodies read with a limit, closing
// a connection after an answer, and the per-request access-log record.
// Used by net/http_server.cpp for the answers it gives itself (no route,
// malformed or shed requests) and by the server's route files.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace converge {

// kInvalid 400, kUnauthenticated 401, kPermission 403, kNotFound 404,
// kConflict 409, kTooLarge 413, kCorrupt 422, kRateLimited 429,
// kUnavailable 503, else 500.
int HttpStatusFor(Code code);

// What the access-log line of the request running on this thread will say.
struct RequestLog {
  std::chrono::steady_clock::time_point start;
  std::string user;       // handle, once authenticated
  uint64_t streamed = 0;  // bytes sent by a content provider
  bool active = false;
  std::string client;  // the client address, when routed (ClientAddress)
  bool https = false;  // the client's connection is HTTPS (ClientUsesHttps)
};
RequestLog& CurrentRequestLog();
// Who the request running on this thread came from: the TCP peer, or behind
// a trusted proxy the client it names in X-Forwarded-For
// (net/client_address.h; the server resolves it before routing). The
// access log, the audit and the bad-token backoff all use this address.
std::string ClientAddress(const httplib::Request& req);
// Whether the client of the request running on this thread reached us over
// HTTPS: the server speaks it itself, or a trusted proxy says so in
// X-Forwarded-Proto (net/client_address.h: ForwardedHttps). The web view
// marks its cookies Secure by it.
bool ClientUsesHttps();

void SendJson(httplib::Response& res, int status, const nlohmann::json& body);
// {"error": {"code", "message"}} with the mapped status; 5xx are also logged.
// A full disk (a kIo status that says so) is 507 "insufficient_storage",
// its detail (server paths) logged and not sent.
void SendError(httplib::Response& res, const Status& st);
// Ends the connection right after this response (its request body was not
// read, or not all of it): the client is told so, and the server does not
// wait for another request on it.
void CloseAfter(const httplib::Request& req, httplib::Response& res);

// The request's Content-Length when it has exactly a number there.
std::optional<uint64_t> ContentLength(const httplib::Request& req);

// The body of a POST/PUT, read at most once and never past `limit` bytes.
class RequestBody {
 public:
  // Receives the body piece by piece; an error stops the reading.
  using Sink = std::function<Status(std::string_view)>;
  // Streams the whole body into a sink: kTooLarge past the limit, kInvalid
  // when it ends before its declared length, else what the sink returned.
  using Source = std::function<Status(const Sink&)>;

  RequestBody(const httplib::Request& req, const httplib::ContentReader& reader, uint64_t limit)
      : req_(req), reader_(reader), limit_(limit) {}

  // The whole body as JSON: kInvalid when malformed or empty, kTooLarge past the limit.
  Result<nlohmann::json> Json();
  // The body streamed piece by piece, for object intake.
  Source Stream();
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

}  // namespace converge
