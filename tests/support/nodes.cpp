#include "support/nodes.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

namespace converge::testing {

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
  pid_ = StartLogged(argv, ChildEnv(o_.env), o_.log);
}

void ServerNode::WaitHealthy() {
  for (int attempt = 0; attempt < 5; attempt++) {
    if (WaitServing(pid_, o_.log, log_from_, port_, false, 6000)) {
      started_once_ = true;
      return;
    }
    if (pid_ > 0) {
      Kill();
      throw std::runtime_error("converge serve (node) did not become healthy:\n" + Log());
    }
    // A port free a moment ago may have been taken by the time it bound it.
    if (started_once_ || !PortTakenAtStart(o_.log, log_from_)) break;
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
