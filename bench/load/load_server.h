// The server side of converge_load: a `converge serve` child process on a
// free loopback port with its own data dir, and `serve --fsck` afterwards.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/fs.h"
#include "base/status.h"

namespace converge::load {

class ServerChild {
 public:
  ServerChild(fs::path bin, fs::path data_dir) : bin_(std::move(bin)), data_(std::move(data_dir)) {}
  ~ServerChild();  // SIGKILL if still running

  // Starts the server and waits (up to 30 s) until /healthz answers.
  Status Start(const std::string& server_json);
  // SIGTERM and wait; the exit status.
  Status Stop();
  // `converge serve --fsck` on the data dir: ok when it exits 0.
  Status Fsck(std::string* output) const;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  Result<std::string> AdminToken() const;

 private:
  fs::path bin_, data_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace converge::load
