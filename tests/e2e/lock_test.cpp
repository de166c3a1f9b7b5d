// The workspace lock (README, "Commands"): commands that change a workspace
// take .converge/lock exclusively; a second one waits, saying so on stderr,
// or with --no-wait fails at once naming the holder; commands that only read
// never wait. The test holds the lock itself, as another converge would.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/process.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

class WorkspaceLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(C({"init", ws_.string()}, tmp_.path()).exit_code, 0);
    WriteFile(ws_ / "a.txt", "one\n");
    RunResult first = C({"snap", "-m", "first", "--json"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    first_ = json::parse(first.out)["id"];
  }
  void TearDown() override { Release(); }

  RunResult C(const std::vector<std::string>& args, const fs::path& cwd = {}) {
    RunOptions o;
    o.cwd = cwd.empty() ? ws_ : cwd;
    return Converge(args, o);
  }

  // Holds the lock the way a converge command does: flock, then "PID COMMAND".
  void Hold() {
    fd_ = ::open((ws_ / ".converge/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd_, 0);
    ASSERT_EQ(::flock(fd_, LOCK_EX | LOCK_NB), 0);
    std::string line = std::to_string(::getpid()) + " converge snap\n";
    ASSERT_EQ(::ftruncate(fd_, 0), 0);
    ASSERT_EQ(::write(fd_, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  }
  void Release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Starts `converge ARGS` in the workspace, its stderr going to `err`.
  pid_t Start(const std::vector<std::string>& args, const fs::path& err) {
    std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>\"$LOCK_TEST_ERR\"",
                                     ConvergeBin()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions o;
    o.cwd = ws_;
    o.env = {{"LOCK_TEST_ERR", err.string()}};
    return Spawn(argv, o);
  }

  // Waits until `err` holds `needle`, or the process ends (a bounded wait
  // for a mechanism, not a timing assertion). True when it holds it and the
  // process is still running.
  static bool WaitsSaying(pid_t pid, const fs::path& err, const std::string& needle) {
    for (auto start = std::chrono::steady_clock::now();
         std::chrono::steady_clock::now() - start < std::chrono::seconds(120);) {
      std::error_code ec;
      if (fs::exists(err, ec) && ReadFileOrDie(err).find(needle) != std::string::npos)
        return ::waitpid(pid, nullptr, WNOHANG) == 0;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        ADD_FAILURE() << "it ended (status " << status << ") without waiting: "
                      << (fs::exists(err, ec) ? ReadFileOrDie(err) : "");
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  static int Finish(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  size_t SnapCount() { return json::parse(C({"snaps", "--json"}).out).size(); }

  std::string Waiting() const {
    return "waiting for another converge process (pid " + std::to_string(::getpid()) +
           ") in this workspace";
  }

  TempDir tmp_;
  fs::path ws_ = tmp_ / "ws";
  std::string first_;
  int fd_ = -1;
};

TEST_F(WorkspaceLockTest, ASecondSnapWaitsForTheFirstAndSaysSo) {
  Hold();
  WriteFile(ws_ / "a.txt", "two\n");
  fs::path err = tmp_ / "snap.err";
  pid_t snap = Start({"snap", "-m", "second"}, err);
  ASSERT_TRUE(WaitsSaying(snap, err, Waiting()));
  EXPECT_NE(ReadFileOrDie(err).find("'converge snap'"), std::string::npos) << ReadFileOrDie(err);
  EXPECT_EQ(SnapCount(), 1u) << "nothing was snapped while it waited";
  Release();
  EXPECT_EQ(Finish(snap), 0) << ReadFileOrDie(err);
  EXPECT_EQ(SnapCount(), 2u);
}

TEST_F(WorkspaceLockTest, RestoreInPlaceWaitsToo) {
  WriteFile(ws_ / "a.txt", "two\n");
  ASSERT_EQ(C({"snap"}).exit_code, 0);
  Hold();
  fs::path err = tmp_ / "restore.err";
  pid_t restore = Start({"restore", first_}, err);
  ASSERT_TRUE(WaitsSaying(restore, err, Waiting()));
  EXPECT_EQ(ReadFileOrDie(ws_ / "a.txt"), "two\n") << "the tree is untouched while it waits";
  Release();
  EXPECT_EQ(Finish(restore), 0) << ReadFileOrDie(err);
  EXPECT_EQ(ReadFileOrDie(ws_ / "a.txt"), "one\n");
}

TEST_F(WorkspaceLockTest, NoWaitFailsAtOnceNamingTheHolder) {
  Hold();
  WriteFile(ws_ / "a.txt", "two\n");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--no-wait", "snap"}, {"restore", "--no-wait", "--force", first_},
        {"fsck", "--fix", "--no-wait"},
        {"remote", "set", "--url", "http://127.0.0.1:1", "--repo", "r", "--no-wait"}}) {
    SCOPED_TRACE(args[0]);
    RunResult r = C(args);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err.rfind("error: another converge process (pid " + std::to_string(::getpid()) +
                              ")",
                          0),
              0u)
        << r.err;
    EXPECT_NE(r.err.find("--no-wait"), std::string::npos) << r.err;
  }
  EXPECT_EQ(SnapCount(), 1u);
  EXPECT_EQ(ReadFileOrDie(ws_ / "a.txt"), "two\n");
}

TEST_F(WorkspaceLockTest, ReadersNeverWait) {
  Hold();
  WriteFile(ws_ / "a.txt", "two\n");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"snaps"}, {"show", first_}, {"diff"}, {"status"}, {"fsck"},
        {"restore", first_, "--to", (tmp_ / "copy").string()}}) {
    SCOPED_TRACE(args[0]);
    RunResult r = C(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("waiting"), std::string::npos) << r.err;
  }
  EXPECT_EQ(ReadFileOrDie(tmp_ / "copy/a.txt"), "one\n");
}

}  // namespace
}  // namespace converge::testing
