#include "net/http_io.h"

#include <charconv>

#include "api/wire.h"
#include "base/json.h"
#include "net/http_log.h"

namespace converge {

namespace {
// An unread body up to this size is read and dropped so the connection stays
// usable; a larger one is not worth the bandwidth: the connection closes.
constexpr uint64_t kDrainMax = 4u << 20;

// fs.cpp and db.cpp word every ENOSPC, EDQUOT and SQLITE_FULL this way.
bool IsDiskFull(const Status& st) {
  return st.code() == Code::kIo && st.message().find("the disk is full") != std::string::npos;
}

bool IsChunked(const httplib::Request& req) {
  return req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
}
}  // namespace

std::optional<uint64_t> ContentLength(const httplib::Request& req) {
  if (!req.has_header("Content-Length")) return std::nullopt;
  std::string v = req.get_header_value("Content-Length");
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return n;
}

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kInvalid:
      return 400;
    case Code::kUnauthenticated:
      return 401;
    case Code::kPermission:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kConflict:
      return 409;
    case Code::kTooLarge:
      return 413;
    case Code::kCorrupt:
      return 422;
    case Code::kUnavailable:
      return 503;
    case Code::kRateLimited:
      return 429;
    case Code::kIo:
    case Code::kInternal:
      return 500;
  }
  return 500;
}

RequestLog& CurrentRequestLog() {
  thread_local RequestLog log;
  return log;
}

std::string ClientAddress(const httplib::Request& req) {
  const RequestLog& log = CurrentRequestLog();
  return log.client.empty() ? req.remote_addr : log.client;
}

bool ClientUsesHttps() {
  return CurrentRequestLog().https;
}

void SendJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

void SendError(httplib::Response& res, const Status& st) {
  if (IsDiskFull(st)) {
    // The detail names server paths: it goes to the log, the client gets what to do.
    LogLine(LogLevel::kError, "insufficient_storage: " + st.message());
    return SendJson(res, 507,
                    wire::ToJson(wire::ApiError{
                        "insufficient_storage",
                        "the server's disk is full, so it could not store this; what it stored "
                        "before is intact: ask the server's operator to free some space, then "
                        "try again"}));
  }
  int status = HttpStatusFor(st.code());
  if (status >= 500)
    LogLine(LogLevel::kError, std::string(CodeName(st.code())) + ": " + st.message());
  if (st.code() == Code::kUnauthenticated)
    res.set_header("WWW-Authenticate", "Bearer realm=\"converge\"");
  SendJson(res, status, wire::ToJson(wire::ApiError{CodeName(st.code()), st.message()}));
}

void CloseAfter(const httplib::Request& req, httplib::Response& res) {
  // httplib answers "Connection: close" when the request asked for it; the
  // request object is the server's own, not a constant. (Replacing, not
  // adding: the first value is the one httplib looks at.)
  httplib::Request& r = const_cast<httplib::Request&>(req);
  r.headers.erase("Connection");
  r.set_header("Connection", "close");
  if (res.content_provider_) return;
  // It ends a connection only when a content provider fails: send the body
  // from one that reports failure once everything is written.
  std::string body = std::move(res.body);
  res.body.clear();
  std::string type = res.get_header_value("Content-Type");
  res.headers.erase("Content-Type");
  res.set_content_provider(body.size(), type.c_str(),
                           [body](size_t offset, size_t length, httplib::DataSink& sink) {
                             sink.write(body.data() + offset, length);
                             CurrentRequestLog().streamed += length;
                             return false;
                           });
}

Result<nlohmann::json> RequestBody::Json() {
  std::string text;
  Source body = Stream();
  RETURN_IF_ERROR(body([&](std::string_view piece) {
    text.append(piece);
    return Status::Ok();
  }));
  if (text.empty()) return Invalid("the request needs a JSON body");
  Result<nlohmann::json> j = ParseJson(text);
  if (!j.ok()) return Invalid("the request body is not valid JSON: " + j.status().message());
  return j;
}

RequestBody::Source RequestBody::Stream() {
  return [this](const Sink& sink) -> Status {
    if (state_ != State::kUnread) return Internal("a request body was read twice");
    state_ = State::kAbandoned;  // until the last byte is in
    Status st;
    uint64_t total = 0;
    bool whole = reader_([&](const char* data, size_t len) {
      total += len;
      // After a full disk the rest of the body is read and dropped (up to the
      // limit), so the client gets the 507 rather than a broken pipe.
      if (!st.ok()) return total <= limit_;
      if (total > limit_) {
        st = TooLarge("the request body is larger than the limit of " + std::to_string(limit_) +
                      " bytes");
        return false;
      }
      st = sink(std::string_view(data, len));
      return st.ok() || IsDiskFull(st);
    });
    if (!st.ok() && whole) state_ = State::kDone;  // drained: the connection stays usable
    RETURN_IF_ERROR(st);
    if (!whole)
      return Invalid("the request body ended before its declared length (truncated upload)");
    state_ = State::kDone;
    return Status::Ok();
  };
}

void RequestBody::Finish(httplib::Response& res) {
  if (state_ == State::kDone) return;
  if (state_ == State::kUnread && !IsChunked(req_)) {
    std::optional<uint64_t> len = ContentLength(req_);
    if (!len || *len == 0) return;
    if (*len <= kDrainMax) {
      state_ = State::kDone;
      if (reader_([](const char*, size_t) { return true; })) return;
    }
  }
  CloseAfter(req_, res);
}

}  // namespace converge
