#include "net/http_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

#include "api/wire.h"
#include "net/http_io.h"
#include "net/http_log.h"
#include "net/http_server_pool.h"
#include "net/http_server_stream.h"

namespace converge {

using httplib::ContentReader;
using httplib::Request;
using httplib::Response;

namespace {

void AccessLog(const Request& req, const Response& res) {
  RequestLog& log = CurrentRequestLog();
  if (LogEnabled(LogLevel::kInfo)) {
    uint64_t bytes = res.body.empty() ? log.streamed : res.body.size();
    std::string ms = "-";
    if (log.active)
      ms = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - log.start)
                              .count());
    LogLine(LogLevel::kInfo, "access " + LogField(ClientAddress(req)) + " " + LogField(req.method) +
                                 " " + LogField(req.path) + " " + std::to_string(res.status) + " " +
                                 std::to_string(bytes) + " " + ms + "ms " + LogField(log.user));
  }
  log = RequestLog();
}

// The answer to a request LimitedStream stopped (see ConnFault).
void FaultBody(const HttpServerOptions& c, ConnFault fault, const std::string& detail,
               Response& res) {
  switch (fault) {
    case ConnFault::kHeadTooLarge:
      SendError(res, TooLarge("the request line and headers are larger than the limit of " +
                              std::to_string(c.max_header_bytes) + " bytes"));
      res.status = 431;
      return;
    case ConnFault::kHeadTimeout:
      SendError(res, Invalid("the request line and headers did not arrive within " +
                             std::to_string(c.read_timeout_seconds) + " s"));
      res.status = 408;
      return;
    case ConnFault::kShed:
      // Not SendError: this is load, not a server fault to log as an error.
      res.set_header("Retry-After", "1");
      SendJson(res, 503,
               wire::ToJson(wire::ApiError{
                   CodeName(Code::kUnavailable),
                   "the server is serving its limit of " + std::to_string(c.max_connections) +
                       " connections and closed this one, whose request head had not all "
                       "arrived; try again"}));
      return;
    case ConnFault::kBadHead:
    case ConnFault::kBadBody:
    case ConnFault::kNone:
      SendError(res, Invalid(detail));
      return;
  }
}

// JSON for errors httplib answers by itself (no route, malformed request),
// and for a request LimitedStream stopped.
void ErrorBody(const HttpServerOptions& c, const Request& req, Response& res) {
  ConnFault fault = CurrentConnFault();
  if (fault != ConnFault::kNone) {
    CurrentConnFault() = ConnFault::kNone;
    // The connection closes after this answer: say so.
    Request& r = const_cast<Request&>(req);
    r.headers.erase("Connection");
    r.set_header("Connection", "close");
    FaultBody(c, fault, CurrentConnFaultDetail(), res);
    return;
  }
  if (!res.body.empty() || res.content_length_ > 0 || res.is_chunked_content_provider_) return;
  Code code = Code::kInternal;
  std::string message = "the server failed";
  switch (res.status) {
    case 400:
      code = Code::kInvalid, message = "malformed HTTP request";
      break;
    case 404:
      code = Code::kNotFound, message = "no such route: " + req.method + " " + req.path;
      break;
    case 413:
      code = Code::kTooLarge, message = "the request is too large";
      break;
    case 414:
      code = Code::kInvalid, message = "the request URI is too long";
      break;
    default:
      if (res.status < 500) code = Code::kInvalid, message = "the request was refused";
  }
  int status = res.status;
  SendError(res, Status(code, message));
  res.status = status;
}

}  // namespace

namespace {
std::shared_ptr<ConnTable> NewConnTable(const HttpServerOptions& c) {
  if (!c.tls_cert_file.empty()) return nullptr;
  return std::make_shared<ConnTable>(c.max_connections_per_address);
}

std::unique_ptr<httplib::Server> NewServer(const HttpServerOptions& c,
                                           std::shared_ptr<ConnTable> conns) {
  if (conns) {
    ConnLimits limits;
    limits.max_header_bytes = static_cast<size_t>(c.max_header_bytes);
    limits.read_timeout_seconds = c.read_timeout_seconds;
    limits.write_timeout_seconds = c.write_timeout_seconds;
    return std::make_unique<LimitedServer>(limits, std::move(conns));
  }
  return std::make_unique<httplib::SSLServer>(c.tls_cert_file.c_str(), c.tls_key_file.c_str());
}
}  // namespace

HttpServer::HttpServer(const HttpServerOptions& options, HttpRoutes routes)
    : options_(options),
      routes_(std::move(routes)),
      conns_(NewConnTable(options_)),
      svr_(NewServer(options_, conns_)) {
  Setup();
}

bool HttpServer::tls() const {
  return !options_.tls_cert_file.empty();
}

HttpServer::~HttpServer() = default;

void HttpServer::Setup() {
  const HttpServerOptions& c = options_;
  httplib::Server& svr = *svr_;
  unsigned threads = c.threads;
  // httplib owns the queue it gets from this factory (its API takes a raw pointer).
  size_t max_threads = std::max<size_t>(threads, c.max_connections);
  std::shared_ptr<ConnTable> conns = conns_;
  svr.new_task_queue = [threads, max_threads, conns] {
    std::function<void(size_t)> backlog;
    if (conns) backlog = [conns](size_t waiting) { conns->SetBacklog(waiting); };
    return new ElasticPool(threads, max_threads, std::move(backlog));
  };
  // httplib's default adds SO_REUSEPORT, which lets a second server bind the
  // same port and silently take part of its connections: a port in use must
  // be an error at start instead.
  // TCP_NODELAY, inherited by accepted sockets: an answer's head and body are
  // written separately, and Nagle would hold the body for the client's
  // delayed ACK (40 ms an answer).
  svr.set_socket_options([this](int sock) {
    listen_fd_ = sock;  // the last one created is the one bound: see Bind
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  });
  svr.set_keep_alive_max_count(static_cast<size_t>(c.keep_alive_max_requests));
  svr.set_keep_alive_timeout(c.keep_alive_timeout_seconds);
  svr.set_read_timeout(c.read_timeout_seconds, 0);
  svr.set_write_timeout(c.write_timeout_seconds, 0);

  svr.set_pre_routing_handler([&c](const Request& req, Response&) {
    RequestLog& log = CurrentRequestLog();
    log = RequestLog();
    log.start = std::chrono::steady_clock::now();
    log.active = true;
    std::vector<std::string> forwarded;
    if (!c.trusted_proxies.empty())
      for (size_t i = 0, n = req.get_header_value_count("X-Forwarded-For"); i < n; i++)
        forwarded.push_back(req.get_header_value("X-Forwarded-For", i));
    log.client = PickClientAddress(req.remote_addr, forwarded, c.trusted_proxies);
    std::vector<std::string> proto;
    if (!c.trusted_proxies.empty())
      for (size_t i = 0, n = req.get_header_value_count("X-Forwarded-Proto"); i < n; i++)
        proto.push_back(req.get_header_value("X-Forwarded-Proto", i));
    log.https =
        !c.tls_cert_file.empty() || ForwardedHttps(req.remote_addr, proto, c.trusted_proxies);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  svr.set_logger(AccessLog);
  // Range is removed before routing (http_server_head.h); httplib would still
  // answer a HEAD with "Accept-Ranges: bytes".
  svr.set_post_routing_handler([](const Request&, Response& res) {
    res.headers.erase("Accept-Ranges");
    res.set_header("Accept-Ranges", "none");
  });
  svr.set_error_handler([&c](const Request& req, Response& res) { ErrorBody(c, req, res); });
  svr.set_exception_handler([](const Request& req, Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(
        res, Internal("internal error while serving " + req.method + " " + req.path + ": " + what));
    CloseAfter(req, res);  // the request body may be half read
  });
  svr.set_expect_100_continue_handler([this](const Request& req, Response& res) {
    uint64_t limit = routes_.body_limit ? routes_.body_limit(req) : UINT64_MAX;
    std::string len = req.get_header_value("Content-Length");
    if (!len.empty() && std::strtoull(len.c_str(), nullptr, 10) > limit) {
      SendError(res, TooLarge("the request body is " + len +
                              " bytes; the limit for this request is " + std::to_string(limit)));
      CloseAfter(req, res);
      return 413;
    }
    return 100;
  });

  if (routes_.add) routes_.add(svr);

  // Last, so they match only what nothing else did: answer 404 without
  // letting httplib buffer an unknown route's body in memory.
  auto no_route = [](const Request& req, Response& res, const ContentReader& reader) {
    RequestBody body(req, reader, 0);
    SendError(res, NotFound("no such route: " + req.method + " " + req.path));
    body.Finish(res);
  };
  svr.Post(".*", no_route);
  svr.Put(".*", no_route);
  svr.Patch(".*", no_route);
  svr.Delete(".*", no_route);
}

Status HttpServer::Bind(const std::string& host, int port) {
  const HttpServerOptions& c = options_;
  if (c.tls_cert_file.empty() != c.tls_key_file.empty())
    return Invalid("HTTPS needs both tls_cert_file and tls_key_file");
  if (!svr_->is_valid())
    return Invalid("cannot load the TLS certificate '" + c.tls_cert_file.string() + "' or key '" +
                   c.tls_key_file.string() + "' (PEM files, the key unencrypted)");
  if (port == 0) {
    port_ = svr_->bind_to_any_port(host);
    if (port_ < 0) return Unavailable("cannot listen on " + host + " (any port)");
  } else {
    if (!svr_->bind_to_port(host, port))
      return Unavailable("cannot listen on " + host + ":" + std::to_string(port) +
                         ": the address is in use or not this machine's");
    port_ = port;
  }
  // httplib 0.11 listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, fixed
  // when Debian compiled the library). A burst of new connections larger than
  // that while the accept thread is not running (a loaded machine) overflows
  // it: the kernel drops SYNs (a 1 s retry) and answers others with SYN
  // cookies, and a cookie connection whose first segments were dropped for
  // the full queue is reset when its next segment (the request body) arrives,
  // since only the first one can be checked against the cookie. The client
  // then sees its first request fail ("Read", nothing in the access log).
  // listen() again on the listening socket only resizes its queue.
  if (listen_fd_ < 0) return Internal("no listening socket after binding " + host);
  if (::listen(listen_fd_, SOMAXCONN) != 0)
    return ErrnoStatus("cannot widen the listen queue on " + host, errno);
  return Status::Ok();
}

Status HttpServer::Run() {
  svr_->listen_after_bind();
  return Status::Ok();
}

void HttpServer::Stop() {
  svr_->stop();
}

}  // namespace converge
