#include "support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>

#include "base/fs.h"

extern char** environ;

namespace converge::testing {

namespace {
// A test that writes to a socket the server has closed (a refused upload)
// must see EPIPE, not die: ignore SIGPIPE before any test runs.
[[maybe_unused]] const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

void Drain(int fd, std::string& into, bool& open) {
  char buf[65536];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n > 0)
    into.append(buf, static_cast<size_t>(n));
  else if (n == 0 || (errno != EINTR && errno != EAGAIN))
    open = false;
}

// Waits for `pid`, killing it once `deadline` passes (when there is one): a
// child may close its outputs and run on. Sets `killed` when it had to.
int Reap(pid_t pid, std::optional<std::chrono::steady_clock::time_point> deadline, bool& killed) {
  Fd pidfd(deadline ? static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)) : -1);
  while (pidfd.valid() && !killed) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        *deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    pollfd exited{pidfd.get(), POLLIN, 0};
    int n = ::poll(&exited, 1, static_cast<int>(std::min<int64_t>(left.count(), 60'000)));
    if (n > 0 || (n < 0 && errno != EINTR)) break;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace

std::vector<std::string> ChildEnv(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; e++) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) {
    if (v.empty())
      env.erase(k);
    else
      env[k] = v;
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

RunResult Run(const std::vector<std::string>& argv, const RunOptions& opts) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
    throw std::runtime_error("pipe failed");
  pid_t pid = -1;
  try {
    pid = StartProcess(argv, ChildEnv(opts.env), opts.cwd, in[0], out[1], err[1]);
  } catch (const std::exception& e) {
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) ::close(fd);
    return RunResult{127, "", e.what()};  // what a shell says of a missing program
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  size_t written = 0;
  if (opts.input.empty()) ::close(in[1]);
  RunResult r;
  bool out_open = true, err_open = true, in_open = !opts.input.empty(), killed = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(opts.timeout_seconds);
  while (out_open || err_open) {
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    int nfds = in_open ? 3 : 2;
    int wait_ms = -1;
    if (opts.timeout_seconds > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ::kill(pid, SIGKILL);  // its children may hold the pipes: stop reading them
        killed = true;
        break;
      }
      wait_ms = static_cast<int>(std::min<int64_t>(left.count(), 60'000));
    }
    if (::poll(fds, nfds, wait_ms) < 0 && errno != EINTR) break;
    if (out_open && fds[0].revents) Drain(out[0], r.out, out_open);
    if (err_open && fds[1].revents) Drain(err[0], r.err, err_open);
    if (in_open && fds[2].revents) {
      ssize_t n = ::write(in[1], opts.input.data() + written, opts.input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 || written == opts.input.size()) {
        ::close(in[1]);
        in_open = false;
      }
    }
  }
  if (in_open) ::close(in[1]);
  ::close(out[0]);
  ::close(err[0]);
  std::optional<std::chrono::steady_clock::time_point> reap_by;
  if (opts.timeout_seconds > 0) reap_by = deadline;
  int status = Reap(pid, reap_by, killed);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (killed)
    r.err += "\n[tests/support: " + argv[0] + " killed after " +
             std::to_string(opts.timeout_seconds) + " s (RunOptions::timeout_seconds)]\n";
  return r;
}

int Spawn(const std::vector<std::string>& argv, const RunOptions& opts) {
  return StartProcess(argv, ChildEnv(opts.env), opts.cwd, -1, -1, -1);
}

int StartProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                 const fs::path& cwd, int in_fd, int out_fd, int err_fd) {
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  const int fds[3] = {in_fd, out_fd, err_fd};
  for (int target = 0; target < 3; target++) {
    if (fds[target] >= 0)
      ::posix_spawn_file_actions_adddup2(&actions, fds[target], target);
    else
      ::posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_RDWR, 0);
  }
  if (!cwd.empty()) ::posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(),
                         env.empty() ? environ : cenv.data());
  ::posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

int StartLogged(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                const fs::path& log) {
  Fd fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd.valid())
    throw std::runtime_error("cannot open " + log.string() + ": " + std::strerror(errno));
  return StartProcess(argv, env, {}, -1, fd.get(), fd.get());
}

std::string ConvergeBin() {
  const char* env = std::getenv("CONVERGE_BIN");
  return env && *env ? env : CONVERGE_BIN;
}

RunResult Converge(const std::vector<std::string>& args, const RunOptions& opts) {
  std::vector<std::string> argv = {ConvergeBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, opts);
}

RunResult ConvergeRefused(const std::vector<std::string>& args) {
  RunOptions opts;
  opts.timeout_seconds = 60;
  return Converge(args, opts);
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/converge-test-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  // Tests make read-only files and directories; open them up so removal works.
  for (auto it = fs::recursive_directory_iterator(path_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec))
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  }
  fs::remove_all(path_, ec);
}

void WriteFile(const fs::path& p, const std::string& content, bool executable) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << content;
  f.close();
  ::chmod(p.c_str(), executable ? 0755 : 0644);
}

std::string ReadFileOrDie(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + p.string());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

uintmax_t LogSize(const fs::path& log) {
  std::error_code ec;
  uintmax_t n = fs::file_size(log, ec);
  return ec ? 0 : n;
}

namespace {

std::string LogFrom(const fs::path& log, uintmax_t from) {
  std::ifstream in(log, std::ios::binary);
  if (!in) return "";
  in.seekg(static_cast<std::streamoff>(from));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

bool PortTakenAtStart(const fs::path& log, uintmax_t from) {
  return LogFrom(log, from).find("cannot listen on") != std::string::npos;
}

bool ListeningLogged(const fs::path& log, uintmax_t from, int port) {
  std::string text = LogFrom(log, from);
  std::string where = "://127.0.0.1:" + std::to_string(port) + " ";
  return text.find("listening on http" + where) != std::string::npos ||
         text.find("listening on https" + where) != std::string::npos;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::map<std::string, std::string> ClientEnv(const fs::path& home, const std::string& url,
                                             const std::string& token) {
  return {{"HOME", home.string()},
          {"XDG_CONFIG_HOME", (home / ".config").string()},
          {"CONVERGE_TOKEN", url.empty() ? "" : token},
          {"CONVERGE_URL", url},
          {"CONVERGE_CA_FILE", ""}};
}

}  // namespace converge::testing
