#include "load_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "base/text.h"

extern char** environ;

namespace converge::load {

namespace {

// A port free right now (the server binds it a moment later; loopback only).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

Result<pid_t> Spawn(const std::vector<std::string>& args, const fs::path& out_file) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return IoError("cannot run " + args[0] + ": " + std::strerror(rc));
  return pid;
}

int WaitExit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

ServerChild::~ServerChild() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    WaitExit(pid_);
  }
}

Status ServerChild::Start(const std::string& server_json) {
  fs::create_directories(data_);
  RETURN_IF_ERROR(WriteFileAtomic(data_ / "server.json", server_json, 0600));
  port_ = FreePort();
  ASSIGN_OR_RETURN(pid_, Spawn({bin_.string(), "serve", "--data-dir", data_.string(), "--listen",
                                "127.0.0.1:" + std::to_string(port_), "--log-level", "warn"},
                               data_.parent_path() / "server.log"));
  httplib::Client cli("127.0.0.1", port_);
  cli.set_connection_timeout(1, 0);
  for (int i = 0; i < 300; i++) {
    auto r = cli.Get("/healthz");
    if (r && r->status == 200) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Unavailable("the server did not answer /healthz within 30 s: see " +
                     (data_.parent_path() / "server.log").string());
}

Status ServerChild::Stop() {
  if (pid_ <= 0) return Status::Ok();
  ::kill(pid_, SIGTERM);
  int code = WaitExit(pid_);
  pid_ = -1;
  if (code != 0) return Internal("converge serve exited with " + std::to_string(code));
  return Status::Ok();
}

Status ServerChild::Fsck(std::string* output) const {
  fs::path out = data_.parent_path() / "fsck.log";
  ASSIGN_OR_RETURN(pid_t pid,
                   Spawn({bin_.string(), "serve", "--fsck", "--data-dir", data_.string()}, out));
  int code = WaitExit(pid);
  Result<std::string> text = ReadFile(out);
  if (text.ok()) *output = *text;
  if (code != 0) return Corrupt("serve --fsck exited with " + std::to_string(code));
  return Status::Ok();
}

Result<std::string> ServerChild::AdminToken() const {
  ASSIGN_OR_RETURN(std::string token, ReadFile(data_ / "initial-admin-token"));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  return token;
}

}  // namespace converge::load
