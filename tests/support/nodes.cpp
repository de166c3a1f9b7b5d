#include "support/nodes.h"

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace converge::testing {

namespace {

bool NodeHealthy(int port) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(1, 0);
  auto r = cli.Get("/healthz");
  return r && r->status == 200;
}

// The test's environment with `extra` set over it.
std::vector<std::string> NodeEnv(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; e++) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

}  // namespace

ServerNode::~ServerNode() {
  Kill();
}

void ServerNode::Launch() {
  if (port_ == 0) port_ = FreePort();
  std::vector<std::string> argv = {ConvergeBin(), "serve",
                                   "--listen",    "127.0.0.1:" + std::to_string(port_),
                                   "--data-dir",  o_.data_dir.string()};
  argv.insert(argv.end(), o_.args.begin(), o_.args.end());
  log_from_ = LogSize(o_.log);
  pid_ = StartLogged(argv, NodeEnv(o_.env), o_.log);
}

void ServerNode::WaitHealthy() {
  for (int attempt = 0; attempt < 5; attempt++) {
    // Readiness, not timing: poll until it answers or the process is gone.
    for (int i = 0; i < 6000 && pid_ > 0; i++) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      // Ours, not another test's server that took the port first.
      if (ListeningLogged(o_.log, log_from_, port_) && NodeHealthy(port_)) {
        started_once_ = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (pid_ > 0) {
      Kill();
      throw std::runtime_error("converge serve (node) did not become healthy:\n" + Log());
    }
    // A port free a moment ago may have been taken by the time it bound it.
    if (started_once_ || Log().find("cannot listen on") == std::string::npos) break;
    port_ = FreePort();
    Launch();
  }
  throw std::runtime_error("converge serve (node) exited at start:\n" + Log());
}

void ServerNode::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int ServerNode::Stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string ServerNode::Log() const {
  try {
    return ReadFileOrDie(o_.log);
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace converge::testing
