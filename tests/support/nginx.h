// Test support: a real nginx (Debian's nginx-light, scripts/deps.sh) as a
// reverse proxy in front of one or more `converge serve` processes, the way
// docs/server.md tells operators to run it: request bodies streamed
// (proxy_request_buffering off), HTTP/1.1 upstream, X-Forwarded-For appended,
// X-Forwarded-Proto set to its own scheme (http), round-robin over the upstreams. Its config, logs, pid and temp files live in
// a temp dir; it runs as the current user (one process, master_process off,
// so nothing is left behind) on a free loopback port, and is stopped on
// destruction.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "support/process.h"

namespace converge::testing {

class NginxProxy {
 public:
  // Starts nginx in front of the servers on these loopback ports and waits
  // until GET /healthz answers 200 through it. Throws (with its error log)
  // when nginx is missing or does not start.
  explicit NginxProxy(const std::vector<int>& upstream_ports);
  ~NginxProxy();  // SIGTERM, then SIGKILL if it does not go
  NginxProxy(const NginxProxy&) = delete;
  NginxProxy& operator=(const NginxProxy&) = delete;

  int port() const { return port_; }
  std::string ErrorLog() const;

  // The nginx binary (NGINX_BIN, else /usr/sbin/nginx).
  static std::string Binary();

 private:
  void Start(const std::vector<int>& upstream_ports);
  void Stop();

  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Sends the whole HTTP request `raw` on a new connection from the loopback
// address `source` (e.g. "127.0.0.2": another client to whoever answers) to
// `port`, and returns everything sent back until the connection closes.
std::string RequestFromAddress(const std::string& source, int port, const std::string& raw);
// The status code of a raw answer (-1 when there is none).
int StatusOf(const std::string& answer);

}  // namespace converge::testing
