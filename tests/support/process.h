// Test support: run the built converge binary (or any program) as a user
// would, with its own cwd, environment and stdin, and collect what it printed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace converge::testing {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out, err;
};

struct RunOptions {
  fs::path cwd;                               // default: the test's cwd
  std::map<std::string, std::string> env;     // set (or, with an empty value, unset) these
  std::string input;                          // written to stdin, then closed
  // Then the process is killed (SIGKILL; even one that closed its outputs
  // and runs on) and the run fails with what it printed, saying so: a hung
  // command fails its test before ctest's 300 s limit kills the whole test
  // without a word. 0: no limit.
  int timeout_seconds = 240;
};

RunResult Run(const std::vector<std::string>& argv, const RunOptions& opts = {});

// Starts `argv` without waiting, its output discarded; returns its pid.
int Spawn(const std::vector<std::string>& argv, const RunOptions& opts = {});

// Starts argv[0] (a path) with `env` ("K=V" each; empty: this process's own)
// in `cwd` (empty: ours), stdin, stdout and stderr from the given descriptors
// (-1: /dev/null); returns its pid, or throws when it cannot start.
// posix_spawn, not fork: forking a test process copies its page tables, which
// under ASan (terabytes of shadow mapped) made every start slow.
int StartProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                 const fs::path& cwd, int in_fd, int out_fd, int err_fd);

// StartProcess with stdout and stderr appended to `log` and stdin from /dev/null.
int StartLogged(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                const fs::path& log);

// The converge binary under test.
std::string ConvergeBin();

// Runs `converge ARGS...` with the given options.
RunResult Converge(const std::vector<std::string>& args, const RunOptions& opts = {});

// `converge ARGS` for a `serve` the test expects to refuse to start: bounded
// at a minute (a refusal takes well under a second even under ASan), so a
// regression that lets the server start and serve fails its test in a minute
// instead of at Run's default four.
RunResult ConvergeRefused(const std::vector<std::string>& args);

// The environment of a converge client whose home is `home` (config, stored
// logins and key pins under it; no CA file), sending `token` to the server at
// `url` only (CONVERGE_TOKEN goes only to CONVERGE_URL). With no url, neither
// variable is set, whatever the test's own environment holds.
std::map<std::string, std::string> ClientEnv(const fs::path& home, const std::string& url = "",
                                             const std::string& token = "");

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  fs::path path_;
};

// Small file helpers for building trees in tests.
void WriteFile(const fs::path& p, const std::string& content, bool executable = false);
std::string ReadFileOrDie(const fs::path& p);

// The test's environment with `extra` set over it ("K=V" each; an empty
// value unsets K).
std::vector<std::string> ChildEnv(const std::map<std::string, std::string>& extra);

// A loopback TCP port that was free a moment ago.
int FreePort();

// The size of a log file (0 when it does not exist yet).
uintmax_t LogSize(const fs::path& log);

// Whether the log, past its first `from` bytes, has `converge serve`'s line
// saying it listens on 127.0.0.1:port. Readiness must rest on this and not on
// the port answering alone: a port free a moment ago may be taken by another
// test's server, which would answer for ours (and refuse our tokens).
bool ListeningLogged(const fs::path& log, uintmax_t from, int port);

// Whether a `converge serve` that exited at start logged (past the first
// `from` bytes) that it could not listen: its port, free a moment ago, was
// taken meanwhile, and a new port is worth a try. Any other exit at start is
// a failure to report at once, not to retry.
bool PortTakenAtStart(const fs::path& log, uintmax_t from);

}  // namespace converge::testing
