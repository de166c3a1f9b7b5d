// Test support: the nodes of one authority (docs/server.md, "Running several
// nodes"): `converge serve` processes sharing one data dir and one PostgreSQL
// database, each on a loopback port and with a log of its own. A node keeps
// its port across restarts, so a proxy in front of it (support/nginx.h) finds
// it again.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "support/process.h"

namespace converge::testing {

struct NodeOptions {
  fs::path data_dir;                       // shared by the nodes
  std::vector<std::string> args;           // after --listen and --data-dir (e.g. --db URL)
  std::map<std::string, std::string> env;  // added to the test's (e.g. CONVERGE_DB)
  fs::path log;                            // stdout and stderr, appended
};

class ServerNode {
 public:
  explicit ServerNode(NodeOptions options) : o_(std::move(options)) {}
  ~ServerNode();  // SIGKILL if running
  ServerNode(const ServerNode&) = delete;
  ServerNode& operator=(const ServerNode&) = delete;

  // Starts the process without waiting for it (on a free port the first
  // time, on the same port after). Launch several, then WaitHealthy each, to
  // start them at once.
  void Launch();
  // Waits until GET /healthz answers 200; throws, with the log, when the
  // process ends first (relaunching on another port, first start only, when
  // it could not listen on the one picked).
  void WaitHealthy();
  void Start() {
    Launch();
    WaitHealthy();
  }
  void Kill();  // SIGKILL and reap
  int Stop();   // SIGTERM and reap: the exit code (128+N for signal N)
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string Log() const;

 private:
  NodeOptions o_;
  int port_ = 0;
  bool started_once_ = false;
  uintmax_t log_from_ = 0;  // the log's size at the last launch
  pid_t pid_ = -1;
};

}  // namespace converge::testing
