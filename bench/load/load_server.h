// The server side of converge_load: `converge serve` child processes on free
// loopback ports (one node, or several sharing one data dir and one
// PostgreSQL database), `serve --fsck` afterwards, and a throwaway PostgreSQL
// cluster when asked for one (scripts/pg-cluster.sh).
#pragma once

#include <sys/types.h>

#include <string>

#include "base/fs.h"
#include "base/status.h"

namespace converge::load {

class ServerChild {
 public:
  // A node on `data_dir`, logging to `log`; `db` is serve's --db ("" for the
  // data dir's SQLite file).
  ServerChild(fs::path bin, fs::path data_dir, fs::path log, std::string db)
      : bin_(std::move(bin)), data_(std::move(data_dir)), log_(std::move(log)), db_(std::move(db)) {}
  ~ServerChild();  // SIGKILL if still running
  ServerChild(const ServerChild&) = delete;
  ServerChild& operator=(const ServerChild&) = delete;

  // Starts the server and waits (up to 30 s) until /healthz answers.
  Status Start(const std::string& server_json);
  // SIGTERM and wait; the exit status.
  Status Stop();
  // `converge serve --fsck` on the data dir (and --db): ok when it exits 0.
  Status Fsck(std::string* output) const;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  Result<std::string> AdminToken() const;

 private:
  fs::path bin_, data_, log_;
  std::string db_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A PostgreSQL cluster of its own in `dir` (scripts/pg-cluster.sh start),
// stopped on destruction.
class PgCluster {
 public:
  explicit PgCluster(fs::path script) : script_(std::move(script)) {}
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // Starts it; the libpq URL of its empty database.
  Result<std::string> Start(const fs::path& dir);
  // The postmaster's process ID (0 when not running).
  pid_t postmaster() const;

 private:
  fs::path script_, dir_;
};

// CPU seconds (user + system) process `pid` has used, with those of its
// children it has waited for and (with `live_children`) of the ones still
// running: 0 when it is gone.
double CpuSeconds(pid_t pid, bool live_children = false);

}  // namespace converge::load
