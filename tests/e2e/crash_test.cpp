// Crash safety through the built binary: the server SIGKILLed amid concurrent
// publishes, a client SIGKILLed mid-fetch and mid-restore, and full disks on
// both sides. Afterwards fsck is clean, nothing acknowledged is lost, nothing
// half-made is visible, and re-running the interrupted command completes.
// Kills happen at states observed on disk, or after a few fixed delays:
// whatever state that catches, the assertions are the same.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <set>
#include <thread>

#include "store/cas.h"
#include "support/team.h"
#include "support/tree_helpers.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;
using Tree = std::map<std::string, std::string>;
using Clock = std::chrono::steady_clock;

// Regular files under `dir`, counted without throwing while it changes.
size_t CountFiles(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code fec;
    if (it->is_regular_file(fec)) n++;
  }
  return n;
}

// Bytes of the regular files under `dir`, counted without throwing while it changes.
uint64_t BytesUnder(const fs::path& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code fec;
    uint64_t size = it->is_regular_file(fec) ? it->file_size(fec) : 0;
    if (!fec) n += size;
  }
  return n;
}

// Files of a working tree, not counting .converge.
size_t CountTreeFiles(const fs::path& ws) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(ws, ec)) {
    std::error_code fec;
    if (e.path().filename() == ".converge") continue;
    if (e.is_directory(fec))
      n += CountFiles(e.path());
    else
      n++;
  }
  return n;
}

// SIGKILLs `pid` once `ready()` holds (polled), unless it exits first; reaps it.
void KillWhen(pid_t pid, const std::function<bool()>& ready) {
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return;  // finished before the moment came
    if (ready()) break;
    std::this_thread::sleep_for(std::chrono::microseconds(300));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

// Staging dirs of `restore --to` in `dir`.
std::vector<fs::path> StagingDirs(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(".converge-restore", 0) == 0) out.push_back(e.path());
  return out;
}

// Sets the modification time of `p` and everything under it (symlinks
// themselves, not their targets) `by` into the past.
void Backdate(const fs::path& p, std::chrono::seconds by) {
  struct timespec times[2];
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = ::time(nullptr) - by.count();
  times[1].tv_nsec = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(p, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    ::utimensat(AT_FDCWD, it->path().c_str(), times, AT_SYMLINK_NOFOLLOW);
  ::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

std::function<bool()> After(int ms) {
  auto at = Clock::now() + std::chrono::milliseconds(ms);
  return [at] { return Clock::now() >= at; };
}

// A tmpfs mounted for the life of the object (lazily unmounted, so a process
// still using it cannot keep it mounted).
class Tmpfs {
 public:
  Tmpfs(const fs::path& dir, const std::string& size) : dir_(dir) {
    fs::create_directories(dir);
    std::string opts = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0)
      mounted_ = true;
    else
      error_ = std::string("mount -t tmpfs -o ") + opts + " failed: " + std::strerror(errno);
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  fs::path dir_;
  bool mounted_ = false;
  std::string error_;
};

#define SKIP_UNLESS_MOUNTED(disk)                               \
  if (!(disk).mounted())                                        \
  GTEST_SKIP() << "cannot test a full disk: " << (disk).error() \
               << " (needs root or CAP_SYS_ADMIN to mount a small tmpfs)"

class CrashTest : public TeamTest {
 protected:
  void SetUp() override {
    StartTeam();
    ASSERT_EQ(admin_.Run({"repo", "create", "proj"}).exit_code, 0);
  }

  // A user who may publish to proj, in lane default.
  Person NewPublisher(const std::string& handle) {
    Person p = NewUser(handle);
    EXPECT_EQ(admin_.Run({"repo", "grant", "proj", handle, "--role", "publish"}).exit_code, 0);
    EXPECT_EQ(admin_.Run({"lane", "add", "default", handle, "--repo", "proj"}).exit_code, 0);
    return p;
  }

  fs::path NewWorkspace(const Person& p, const std::string& name) {
    fs::path ws = p.home->path() / name;
    EXPECT_EQ(p.Run({"init", ws.string()}).exit_code, 0);
    EXPECT_EQ(p.Run({"remote", "set", "--url", url_, "--repo", "proj"}, ws).exit_code, 0);
    return ws;
  }

  void ExpectFsckClean(const Person& p, const fs::path& ws, const std::string& when) {
    RunResult r = p.Run({"fsck", "--json"}, ws);
    EXPECT_EQ(r.exit_code, 0) << when << ": " << r.out << r.err;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.value("ok", false)) << when << ": " << r.out;
  }

  void ExpectServerFsckClean(const std::string& when) {
    RunResult r = Converge(server_->ServeArgs({"--fsck", "--json"}));
    EXPECT_EQ(r.exit_code, 0) << when << ": " << r.out << r.err;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.value("ok", false)) << when << ": " << r.out;
    // Every object stored, however many the kill let in (none, when it came
    // before the first upload).
    size_t stored = 0;
    Status listed = ObjectStore::Open(server_->data_dir())->ForEach([&](const ObjectId&) {
      stored++;
      return Status::Ok();
    });
    EXPECT_TRUE(listed.ok()) << listed.message();
    EXPECT_EQ(j.value("objects_checked", size_t{0}), stored) << when << ": " << r.out;
  }

  std::set<std::string> ListedPublications() {
    Reply r = Api(server_->port(), server_->admin_token()).Get("/v1/repos/proj/publications");
    EXPECT_EQ(r.status, 200) << r.body;
    std::set<std::string> ids;
    if (r.json().is_object() && r.json()["publications"].is_array())
      for (const json& p : r.json()["publications"]) ids.insert(p.value("id", ""));
    return ids;
  }

  // Restores publication `id` into a new directory beside `ws`.
  Tree RestoreTo(const Person& p, const fs::path& ws, const std::string& id,
                 const std::string& dir) {
    fs::path out = ws.parent_path() / dir;
    RunResult r = p.Run({"restore", id, "--to", out.string()}, ws);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return fs::exists(out) ? DescribeTree(out) : Tree();
  }
};

// 30 small files and, in some rounds, a new 4.5 MB file (a chunk list).
void WriteRound(const fs::path& ws, uint32_t seed, bool new_big_file) {
  for (int k = 0; k < 30; k++)
    WriteFile(ws / "data" / ("f" + std::to_string(k) + ".bin"),
              PseudoRandomBytes(40 << 10, seed * 100 + k));
  WriteFile(ws / "round.txt", "round " + std::to_string(seed) + "\n");
  if (new_big_file) WriteFile(ws / "big.bin", PseudoRandomBytes((9 << 20) / 2, seed));
}

TEST_F(CrashTest, ServerKilledDuringConcurrentPublishes) {
  std::vector<Person> people;
  std::vector<fs::path> spaces;
  for (const char* handle : {"ann", "ben", "cat"}) {
    people.push_back(NewPublisher(handle));
    spaces.push_back(NewWorkspace(people.back(), "ws"));
  }
  std::map<std::string, Tree> tree_of_snap;
  std::set<std::string> acknowledged, last_round;
  const int delays_ms[] = {10, 80, 250, 700};
  for (int round = 0; round < 4; round++) {
    for (size_t i = 0; i < people.size(); i++) {
      WriteRound(spaces[i], round * 10 + static_cast<uint32_t>(i), round % 2 == 0);
      std::string snap = people[i].Json({"snap", "-m", "round"}, spaces[i]).value("id", "");
      tree_of_snap[snap] = DescribeTree(spaces[i]);
      if (round == 3) last_round.insert(snap);
    }
    std::vector<RunResult> results(people.size());
    std::vector<std::thread> clients;
    for (size_t i = 0; i < people.size(); i++)
      clients.emplace_back([&, i] {
        results[i] = people[i].Run({"publish", "--json"}, spaces[i]);
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(delays_ms[round]));
    server_->Kill();
    for (std::thread& t : clients) t.join();
    server_->Start();

    std::string when = "after the kill at " + std::to_string(delays_ms[round]) + " ms";
    ExpectServerFsckClean(when);
    std::set<std::string> listed = ListedPublications();
    for (size_t i = 0; i < people.size(); i++) {
      if (results[i].exit_code == 0) {
        std::string id = json::parse(results[i].out)["publication"].value("id", "");
        EXPECT_TRUE(listed.count(id)) << when << ": acknowledged publication " << id << " is gone";
        acknowledged.insert(id);
        continue;
      }
      // Interrupted: a clear error, and a re-run completes.
      EXPECT_EQ(results[i].exit_code, 1) << results[i].err;
      EXPECT_EQ(results[i].err.rfind("error: ", 0), 0u) << results[i].err;
      json again = people[i].Json({"publish"}, spaces[i]);
      ASSERT_TRUE(again.contains("publication")) << when << ": " << again;
      acknowledged.insert(again["publication"].value("id", ""));
    }
  }

  // Every publication the server lists (acknowledged or not) is whole: a
  // fresh workspace fetches them all (fetch verifies every object and fsck
  // every snap's closure); those of the last round restore byte for byte.
  fs::path reader = NewWorkspace(admin_, "reader");
  json fetched = admin_.Json({"fetch", "--all-lanes"}, reader);
  std::set<std::string> got;
  int n = 0;
  for (const json& p : fetched["publications"]) {
    std::string id = p.value("id", "");
    got.insert(id);
    ASSERT_TRUE(tree_of_snap.count(p.value("snap", ""))) << p;
    if (!last_round.count(p.value("snap", ""))) continue;
    EXPECT_EQ(RestoreTo(admin_, reader, id, "out" + std::to_string(n++)),
              tree_of_snap[p.value("snap", "")])
        << "publication " << id;
  }
  EXPECT_EQ(n, 3);
  for (const std::string& id : acknowledged) EXPECT_TRUE(got.count(id)) << id;
  ExpectFsckClean(admin_, reader, "after fetching everything");
}

// A published tree large enough that fetching and restoring it take a while.
class ClientCrashTest : public CrashTest {
 protected:
  void SetUp() override {
    CrashTest::SetUp();
    alice_ = NewPublisher("alice");
    fs::path ws = NewWorkspace(alice_, "ws");
    for (int k = 0; k < 120; k++)
      WriteFile(ws / ("dir" + std::to_string(k % 6)) / ("f" + std::to_string(k)),
                PseudoRandomBytes(64 << 10, k), k % 7 == 0);
    WriteFile(ws / "big.bin", PseudoRandomBytes(6 << 20, 99));
    fs::create_symlink("big.bin", ws / "link");
    ASSERT_EQ(alice_.Run({"snap"}, ws).exit_code, 0);
    pub_ = alice_.Json({"publish"}, ws)["publication"].value("id", "");
    ASSERT_FALSE(pub_.empty());
    tree_ = DescribeTree(ws);
    bob_ = NewPublisher("bob");
  }

  pid_t Start(const Person& p, const fs::path& ws, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {ConvergeBin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return Spawn(argv, p.Env(ws));
  }

  Person alice_, bob_;
  std::string pub_;
  Tree tree_;
};

TEST_F(ClientCrashTest, KilledMidFetch) {
  fs::path ws = NewWorkspace(bob_, "ws");
  fs::path meta = ws / ".converge";
  // While objects stream into a pack in tmp/; once its pack files land in
  // packs/ (before or after the index that makes them visible); after a
  // fixed delay.
  KillWhen(Start(bob_, ws, {"fetch"}), [&] { return BytesUnder(meta / "tmp") >= (2u << 20); });
  ExpectFsckClean(bob_, ws, "fetch killed while objects arrive");
  KillWhen(Start(bob_, ws, {"fetch"}), [&] { return CountFiles(meta / "packs") > 0; });
  ExpectFsckClean(bob_, ws, "fetch killed as objects land");
  KillWhen(Start(bob_, ws, {"fetch"}), After(40));
  ExpectFsckClean(bob_, ws, "fetch killed 40 ms in");
  json fetched = bob_.Json({"fetch"}, ws);
  ASSERT_EQ(fetched["publications"].size(), 1u) << fetched;
  ExpectFsckClean(bob_, ws, "after the re-run");
  EXPECT_EQ(RestoreTo(bob_, ws, pub_, "out"), tree_);
}

TEST_F(ClientCrashTest, KilledMidRestoreTo) {
  fs::path ws = NewWorkspace(bob_, "ws");
  ASSERT_EQ(bob_.Run({"fetch"}, ws).exit_code, 0);
  fs::path out = ws.parent_path() / "out";
  auto staged_files = [&] {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(ws.parent_path(), ec))
      if (e.path().filename().string().rfind(".converge-restore", 0) == 0 &&
          CountFiles(e.path()) >= 30)
        return true;
    return false;
  };
  KillWhen(Start(bob_, ws, {"restore", pub_, "--to", out.string()}), staged_files);
  // No DIR, or a complete one.
  if (fs::exists(out)) {
    EXPECT_EQ(DescribeTree(out), tree_);
  }
  ExpectFsckClean(bob_, ws, "restore --to killed");
  // A staging dir left behind is a warning, and --fix removes it once old.
  std::vector<fs::path> staging = StagingDirs(ws.parent_path());
  if (!staging.empty()) {
    json report = bob_.Json({"fsck"}, ws);
    EXPECT_NE(report.dump().find(staging[0].filename().string()), std::string::npos) << report;
    EXPECT_GE(report.value("warnings", 0), 1) << report;
    Backdate(staging[0], std::chrono::hours(2));
    report = bob_.Json({"fsck", "--fix"}, ws);
    EXPECT_FALSE(fs::exists(staging[0])) << report;
    EXPECT_EQ(report["fixed"].size(), 1u) << report;
  }
  KillWhen(Start(bob_, ws, {"restore", pub_, "--to", out.string()}), After(30));
  if (fs::exists(out)) {
    EXPECT_EQ(DescribeTree(out), tree_);
  }
  if (!fs::exists(out)) {
    ASSERT_EQ(bob_.Run({"restore", pub_, "--to", out.string()}, ws).exit_code, 0);
  }
  EXPECT_EQ(DescribeTree(out), tree_);
  ExpectFsckClean(bob_, ws, "after the re-run");
}

TEST_F(ClientCrashTest, LeftoverStagingDoesNotBlockRestoreTo) {
  fs::path ws = NewWorkspace(bob_, "ws");
  ASSERT_EQ(bob_.Run({"fetch"}, ws).exit_code, 0);
  // What a killed restore leaves: a staging dir beside DIR (--to), and temp
  // entries inside the working tree (in place, or --to a dir inside it).
  fs::path beside = ws.parent_path() / ".converge-restore.0123456789abcdef.tmp";
  fs::path inside = ws / "sub" / ".converge-restore.fedcba9876543210.tmp";
  WriteFile(beside / "dir0" / "f0", "partial");
  WriteFile(inside / "big.bin", "partial");
  json report = bob_.Json({"fsck"}, ws);
  EXPECT_TRUE(report.value("ok", false)) << report;
  EXPECT_EQ(report.value("warnings", 0), 2) << report;
  EXPECT_EQ(RestoreTo(bob_, ws, pub_, "out"), tree_);
  // Young leftovers may belong to a running restore: --fix keeps them.
  report = bob_.Json({"fsck", "--fix"}, ws);
  EXPECT_TRUE(fs::exists(beside) && fs::exists(inside)) << report;
  Backdate(beside, std::chrono::hours(2));
  Backdate(inside, std::chrono::hours(2));
  report = bob_.Json({"fsck", "--fix"}, ws);
  EXPECT_FALSE(fs::exists(beside)) << report;
  EXPECT_FALSE(fs::exists(inside)) << report;
  EXPECT_EQ(report.value("warnings", 0), 0) << report;
}

TEST_F(ClientCrashTest, KilledMidRestoreInPlace) {
  fs::path ws = NewWorkspace(bob_, "ws");
  ASSERT_EQ(bob_.Run({"fetch"}, ws).exit_code, 0);
  WriteFile(ws / "local.txt", "mine\n");
  ASSERT_EQ(bob_.Run({"snap", "-m", "local"}, ws).exit_code, 0);
  KillWhen(Start(bob_, ws, {"restore", pub_, "--force"}), [&] { return CountTreeFiles(ws) >= 60; });
  ExpectFsckClean(bob_, ws, "restore in place killed");
  KillWhen(Start(bob_, ws, {"restore", pub_, "--force"}), After(30));
  ExpectFsckClean(bob_, ws, "restore in place killed again");
  RunResult r = bob_.Run({"restore", pub_, "--force"}, ws);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DescribeTree(ws), tree_);
  ExpectFsckClean(bob_, ws, "after the re-run");
}

TEST_F(CrashTest, FullDiskUnderAWorkspace) {
  TempDir base;
  Tmpfs disk(base / "disk", "8m");
  SKIP_UNLESS_MOUNTED(disk);
  fs::path ws = base / "disk" / "ws";
  ASSERT_EQ(admin_.Run({"init", ws.string()}).exit_code, 0);
  WriteFile(ws / "a.bin", PseudoRandomBytes(1 << 20, 1));
  WriteFile(ws / "notes.txt", "kept\n");
  std::string first = admin_.Json({"snap", "-m", "fits"}, ws).value("id", "");
  ASSERT_FALSE(first.empty());
  Tree fits = DescribeTree(ws);

  WriteFile(ws / "big.bin", PseudoRandomBytes(4 << 20, 2));
  ASSERT_EQ(fs::file_size(ws / "big.bin"), 4u << 20) << "the test's own write did not fit";
  RunResult r = admin_.Run({"snap", "-m", "too much"}, ws);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("disk is full"), std::string::npos) << r.err;

  json snaps = admin_.Json({"snaps"}, ws);
  ASSERT_EQ(snaps.size(), 1u) << snaps;
  EXPECT_EQ(snaps[0].value("id", ""), first);
  ExpectFsckClean(admin_, ws, "after the failed snap");
  RunResult restored = admin_.Run({"restore", first, "--to", (base / "out").string()}, ws);
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_EQ(DescribeTree(base / "out"), fits);

  // The failed snap removed its temp files: they would hold the space.
  EXPECT_EQ(CountFiles(ws / ".converge" / "tmp"), 0u);

  // Space freed (big.bin goes; a.bin's blob stays stored whatever the tree
  // holds), the next snap with a new small file works.
  fs::remove(ws / "big.bin");
  WriteFile(ws / "new.txt", "new\n");
  json again = admin_.Json({"snap", "-m", "fits again"}, ws);
  EXPECT_FALSE(again.value("id", "").empty()) << again;
  EXPECT_EQ(admin_.Json({"snaps"}, ws).size(), 2u);
  ExpectFsckClean(admin_, ws, "after freeing space");
}

TEST_F(CrashTest, FullDiskUnderTheServer) {
  // Move the data dir onto a small tmpfs.
  TempDir backup;
  server_->Stop();
  fs::copy(server_->data_dir(), backup.path() / "data", fs::copy_options::recursive);
  Tmpfs disk(server_->data_dir(), "8m");
  SKIP_UNLESS_MOUNTED(disk);
  fs::copy(backup.path() / "data", server_->data_dir(),
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  server_->Start();

  Person alice = NewPublisher("alice");
  fs::path ws = NewWorkspace(alice, "ws");
  WriteFile(ws / "small.txt", "small\n");
  WriteFile(ws / "some.bin", PseudoRandomBytes(300 << 10, 3));
  ASSERT_EQ(alice.Run({"snap"}, ws).exit_code, 0);
  std::string first = alice.Json({"publish"}, ws)["publication"].value("id", "");
  ASSERT_FALSE(first.empty());
  Tree fits = DescribeTree(ws);

  WriteFile(ws / "big.bin", PseudoRandomBytes(10 << 20, 4));
  ASSERT_EQ(alice.Run({"snap"}, ws).exit_code, 0);
  RunResult r = alice.Run({"publish"}, ws);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("the server's disk is full"), std::string::npos) << r.err;

  // The server stays up and answers; what it had is intact.
  EXPECT_EQ(Api(server_->port()).Get("/healthz").status, 200) << server_->Log();
  EXPECT_EQ(ListedPublications(), std::set<std::string>{first});
  ExpectServerFsckClean("with the server running on a full disk");
  fs::path reader = NewWorkspace(admin_, "reader");
  ASSERT_EQ(admin_.Run({"fetch", "--all-lanes"}, reader).exit_code, 0);
  EXPECT_EQ(RestoreTo(admin_, reader, first, "out"), fits);
  server_->Kill();  // before the tmpfs goes
}

}  // namespace
}  // namespace converge::testing
