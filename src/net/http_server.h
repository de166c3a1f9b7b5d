// The server side of HTTP, with no domain in it: cpp-httplib with a thread
// pool that grows to max_connections, keep-alive, TLS when given a
// certificate, and (plain HTTP) the connection plumbing of
// http_server_stream.h: per-address caps, request-head size and time limits,
// strict framing, shedding of slow heads under load. Every answer it gives
// by itself is JSON (http_io.h): no route (404), a malformed, oversized,
// slow or shed request, an exception in a handler. One access-log line per
// request (method, path, status, bytes, ms, user; never a token).
//
// It serves the routes it is given (HttpRoutes), and knows nothing of what
// they do: the authority's are in server/http_routes.h.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/fs.h"
#include "base/status.h"
#include "net/client_address.h"

namespace httplib {
class Server;
struct Request;
}  // namespace httplib

namespace converge {

class ConnTable;

// The settings it uses, named as in docs/server.md (the server's
// ServerConfig fills them in).
struct HttpServerOptions {
  // HTTPS when both are set: a PEM certificate (chain) and its private key.
  fs::path tls_cert_file;
  fs::path tls_key_file;
  unsigned threads = 8;                       // kept running
  unsigned max_connections = 256;             // served at once (threads grow to it)
  unsigned max_connections_per_address = 64;  // of those, from one address (0: no cap)
  uint64_t max_header_bytes = 64u << 10;      // request line + headers (HTTP only)
  int read_timeout_seconds = 60;
  int write_timeout_seconds = 60;
  int keep_alive_timeout_seconds = 5;
  int keep_alive_max_requests = 100;
  // Peers whose X-Forwarded-For names the client (ClientAddress). The
  // per-address connection cap still counts TCP peers.
  TrustedProxies trusted_proxies;
};

// What it serves.
struct HttpRoutes {
  // Registers the handlers, once, before the catch-all 404s (which are
  // registered last so they match only what nothing else did).
  std::function<void(httplib::Server&)> add;
  // The body limit of a request, known from its method and path alone, so
  // that a client sending "Expect: 100-continue" learns of a 413 before
  // sending a byte. Unset: no limit at that point.
  std::function<uint64_t(const httplib::Request&)> body_limit;
};

class HttpServer {
 public:
  HttpServer(const HttpServerOptions& options, HttpRoutes routes);
  ~HttpServer();

  // Binds the listening socket; port 0 picks a free one (see port()).
  // kInvalid when only one of the certificate and the key is set or they
  // cannot be loaded; kUnavailable when the address is taken or not ours.
  Status Bind(const std::string& host, int port);
  int port() const { return port_; }
  bool tls() const;
  // Serves until Stop(); returns once in-flight requests have finished.
  Status Run();
  // Stops accepting; safe from any thread (not from a signal handler).
  void Stop();

 private:
  void Setup();

  HttpServerOptions options_;
  HttpRoutes routes_;
  std::shared_ptr<ConnTable> conns_;  // plain HTTP only; before svr_, which uses it
  std::unique_ptr<httplib::Server> svr_;
  int port_ = 0;
  int listen_fd_ = -1;  // the listening socket (httplib owns it)
};

}  // namespace converge
