// The HTTP face of the authority: cpp-httplib with a thread pool and
// keep-alive, the routes of docs/api.md, JSON errors for everything
// (exceptions included), and one access-log line per request (method, path,
// status, bytes, ms, user; never a token).
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "server/authority.h"

namespace httplib {
class Server;
}

namespace converge {

class ConnTable;

class HttpServer {
 public:
  explicit HttpServer(Authority& authority);
  ~HttpServer();

  // Binds the listening socket; port 0 picks a free one (see port()).
  Status Bind(const std::string& host, int port);
  int port() const { return port_; }
  bool tls() const;
  // Serves until Stop(); returns once in-flight requests have finished.
  Status Run();
  // Stops accepting; safe from any thread (not from a signal handler).
  void Stop();

 private:
  void Setup();

  Authority& a_;
  std::shared_ptr<ConnTable> conns_;  // plain HTTP only; before svr_, which uses it
  std::unique_ptr<httplib::Server> svr_;
  int port_ = 0;
  int listen_fd_ = -1;  // the listening socket (httplib owns it)
};

}  // namespace converge
