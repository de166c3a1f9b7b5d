#include "load_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
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
  std::vector<std::string> args = {bin_.string(), "serve", "--data-dir", data_.string(),
                                   "--listen", "127.0.0.1:" + std::to_string(port_),
                                   "--log-level", "warn"};
  if (!db_.empty()) args.insert(args.end(), {"--db", db_});
  ASSIGN_OR_RETURN(pid_, Spawn(args, log_));
  httplib::Client cli("127.0.0.1", port_);
  cli.set_connection_timeout(1, 0);
  for (int i = 0; i < 300; i++) {
    auto r = cli.Get("/healthz");
    if (r && r->status == 200) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Unavailable("the server did not answer /healthz within 30 s: see " + log_.string());
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
  std::vector<std::string> args = {bin_.string(), "serve", "--fsck", "--data-dir", data_.string()};
  if (!db_.empty()) args.insert(args.end(), {"--db", db_});
  ASSIGN_OR_RETURN(pid_t pid, Spawn(args, out));
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

PgCluster::~PgCluster() {
  if (dir_.empty()) return;
  Result<pid_t> stop = Spawn({script_.string(), "stop", dir_.string()}, dir_ / "stop.log");
  if (stop.ok()) WaitExit(*stop);
}

Result<std::string> PgCluster::Start(const fs::path& dir) {
  fs::create_directories(dir);
  // As root the cluster runs as `postgres`, which must reach the directory.
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  fs::path out = dir.parent_path() / (dir.filename().string() + "-start.log");
  ASSIGN_OR_RETURN(pid_t pid, Spawn({script_.string(), "start", dir.string()}, out));
  int code = WaitExit(pid);
  dir_ = dir;  // stopped on destruction even when the start half failed
  Result<std::string> text = ReadFile(out);
  if (code != 0 || !text.ok())
    return Unavailable(script_.string() + " start " + dir.string() + " failed: " +
                       (text.ok() ? *text : text.status().message()));
  // The URL is the last line it prints.
  std::string url = *text;
  while (!url.empty() && url.back() == '\n') url.pop_back();
  size_t nl = url.rfind('\n');
  if (nl != std::string::npos) url = url.substr(nl + 1);
  if (url.rfind("postgresql://", 0) != 0)
    return Unavailable(script_.string() + " printed no URL: " + *text);
  return url;
}

pid_t PgCluster::postmaster() const {
  if (dir_.empty()) return 0;
  std::ifstream in(dir_ / "data" / "postmaster.pid");
  pid_t pid = 0;
  in >> pid;
  return pid;
}

namespace {

// utime, stime, cutime, cstime and the parent of /proc/PID/stat, in ticks.
struct ProcTimes {
  pid_t ppid = 0;
  long long self = 0, children = 0;
};

bool ReadProcTimes(pid_t pid, ProcTimes* t) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  size_t close = line.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return false;
  std::istringstream fields(line.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; fields >> x;) f.push_back(x);
  // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
  if (f.size() < 15) return false;
  t->ppid = static_cast<pid_t>(std::stol(f[1]));
  t->self = std::stoll(f[11]) + std::stoll(f[12]);
  t->children = std::stoll(f[13]) + std::stoll(f[14]);
  return true;
}

}  // namespace

double CpuSeconds(pid_t pid, bool live_children) {
  if (pid <= 0) return 0;
  ProcTimes t;
  if (!ReadProcTimes(pid, &t)) return 0;
  long long ticks = t.self + t.children;
  if (live_children) {
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator("/proc", ec)) {
      const std::string name = e.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      ProcTimes c;
      if (ReadProcTimes(static_cast<pid_t>(std::stol(name)), &c) && c.ppid == pid)
        ticks += c.self;
    }
  }
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace converge::load
