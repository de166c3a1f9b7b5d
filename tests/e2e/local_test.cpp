// The local commands end to end: the built binary driven exactly as a user
// drives it (init, snap, snaps, show, diff, restore), with real files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/random.h"
#include "store/hash.h"
#include "support/process.h"
#include "support/store_helpers.h"
#include "support/tree_helpers.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;
using Changes = std::set<std::pair<std::string, std::string>>;

class LocalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    fs::create_directories(ws_);
  }

  RunResult C(const std::vector<std::string>& args, const fs::path& cwd = {}) {
    RunOptions o;
    o.cwd = cwd.empty() ? ws_ : cwd;
    return Converge(args, o);
  }

  // Runs with --json, expects success, and parses the one document printed.
  json J(std::vector<std::string> args, const fs::path& cwd = {}) {
    args.push_back("--json");
    RunResult r = C(args, cwd);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out;
    return j;
  }

  void Init(const fs::path& dir) {
    RunResult r = C({"init", dir.string()}, tmp_.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  Changes Diff(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"diff"};
    argv.insert(argv.end(), args.begin(), args.end());
    Changes out;
    json diff = J(argv);
    for (const json& c : diff["changes"])
      out.insert({c["path"].get<std::string>(), c["change"].get<std::string>()});
    return out;
  }

  // Expects exit 1 and exactly one "error: " line on stderr.
  static void ExpectError(const RunResult& r, const std::string& needle) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  }

  TempDir tmp_;
  fs::path ws_ = tmp_ / "ws";
};

// Every kind of entry: subdirectories, an executable, a symlink, an empty
// file, an empty directory and a file large enough to be chunked.
void MakeTree(const fs::path& root) {
  WriteFile(root / "src/main.c", "int main() { return 0; }\n");
  WriteFile(root / "src/lib/util.c", "int util;\n");
  WriteFile(root / "docs/readme.md", "# read me\n");
  WriteFile(root / "docs/guide.md", "# guide\n");
  WriteFile(root / "run.sh", "#!/bin/sh\necho run\n", true);
  WriteFile(root / "mode.sh", "#!/bin/sh\n");
  WriteFile(root / "empty.txt", "");
  fs::create_directories(root / "emptydir");
  fs::create_symlink("src/main.c", root / "link");
  WriteFile(root / "big.bin", PseudoRandomBytes((5 << 20) + 12345, 7));
}

TEST_F(LocalTest, SnapDiffAndRestoreRoundTrip) {
  Init(ws_);
  MakeTree(ws_);
  json first = J({"snap", "-m", "first"});
  auto tree1 = DescribeTree(ws_);

  WriteFile(ws_ / "src/main.c", "int main() { return 1; }\n");
  WriteFile(ws_ / "new.txt", "new\n");
  fs::remove(ws_ / "docs/readme.md");
  ::chmod((ws_ / "mode.sh").c_str(), 0755);
  fs::remove(ws_ / "link");
  fs::create_symlink("src/lib/util.c", ws_ / "link");
  std::string big = ReadFileOrDie(ws_ / "big.bin");
  big[big.size() / 2] ^= 0x55;
  WriteFile(ws_ / "big.bin", big);
  json second = J({"snap", "-m", "second"});
  auto tree2 = DescribeTree(ws_);
  EXPECT_EQ(second["parent"], first["id"]);

  Changes expected = {{"src/main.c", "M"}, {"new.txt", "A"}, {"docs/readme.md", "D"},
                      {"mode.sh", "M"},    {"link", "M"},    {"big.bin", "M"}};
  EXPECT_EQ(Diff({first["id"], second["id"]}), expected);
  EXPECT_EQ(Diff({}), Changes{});  // the tree matches the head

  fs::remove(ws_ / "new.txt");
  WriteFile(ws_ / "later.txt", "later\n");
  WriteFile(ws_ / "run.sh", "#!/bin/sh\necho changed\n", true);
  EXPECT_EQ(Diff({}), (Changes{{"new.txt", "D"}, {"later.txt", "A"}, {"run.sh", "M"}}));
  Changes from_first = {{"src/main.c", "M"}, {"later.txt", "A"}, {"docs/readme.md", "D"},
                        {"mode.sh", "M"},    {"link", "M"},      {"big.bin", "M"},
                        {"run.sh", "M"}};
  EXPECT_EQ(Diff({first["id"]}), from_first);

  RunResult r = C({"restore", first["id"], "--to", (tmp_ / "out1").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Restored snap"), std::string::npos) << r.out;
  EXPECT_EQ(DescribeTree(tmp_ / "out1"), tree1);
  json j = J({"restore", second["id"], "--to", (tmp_ / "out2").string()});
  EXPECT_EQ(DescribeTree(tmp_ / "out2"), tree2);
  EXPECT_EQ(j["snap"], second["id"]);
  EXPECT_EQ(j["files"], 8);
  EXPECT_EQ(j["symlinks"], 1);
  for (const char* key : {"target", "dirs", "bytes", "written", "removed"})
    EXPECT_TRUE(j.contains(key)) << key;
}

TEST_F(LocalTest, SameTreeInTwoWorkspacesHasTheSameRoot) {
  fs::path other = tmp_ / "other";
  Init(ws_);
  Init(other);
  MakeTree(ws_);
  MakeTree(other);
  json a = J({"snap"}), b = J({"snap"}, other);
  EXPECT_EQ(a["root"], b["root"]);
  EXPECT_NE(a["id"], b["id"]);  // different workspaces, different snaps
}

TEST_F(LocalTest, CorruptBlobMakesRestoreFailClearly) {
  Init(ws_);
  WriteFile(ws_ / "victim.txt", "the bytes that will rot\n");
  WriteFile(ws_ / "other.txt", "fine\n");
  json snap = J({"snap"});
  std::string blob = ObjectId::Of("the bytes that will rot\n").hex();
  DamageEveryCopy(ws_ / ".converge", *ObjectId::FromHex(blob), 4);
  RunResult r = C({"restore", snap["id"], "--to", (tmp_ / "out").string()});
  ExpectError(r, blob);
  EXPECT_NE(r.err.find("victim.txt"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp_ / "out"));
}

TEST_F(LocalTest, RestoreInPlaceRefusesUncapturedWorkUnlessForced) {
  Init(ws_);
  MakeTree(ws_);
  json first = J({"snap"});
  auto tree1 = DescribeTree(ws_);
  WriteFile(ws_ / "src/main.c", "uncaptured edit\n");
  WriteFile(ws_ / "scratch.txt", "uncaptured file\n");
  RunResult r = C({"restore", first["id"]});
  ExpectError(r, "changes that no snap holds");
  EXPECT_NE(r.err.find("src/main.c"), std::string::npos);
  EXPECT_EQ(ReadFileOrDie(ws_ / "src/main.c"), "uncaptured edit\n");

  json j = J({"restore", "--force", first["id"]});
  EXPECT_EQ(DescribeTree(ws_), tree1);
  EXPECT_EQ(j["written"], 1);
  EXPECT_EQ(j["removed"], 1);

  // Captured work may be left: restore moves between snaps freely.
  WriteFile(ws_ / "scratch.txt", "kept in a snap\n");
  json second = J({"snap"});
  ASSERT_EQ(C({"restore", first["id"]}).exit_code, 0);
  EXPECT_FALSE(fs::exists(ws_ / "scratch.txt"));
  ASSERT_EQ(C({"restore", second["id"]}).exit_code, 0);
  EXPECT_EQ(ReadFileOrDie(ws_ / "scratch.txt"), "kept in a snap\n");
}

TEST_F(LocalTest, ResnapOfAnUnchangedTreeReadsNoFile) {
  Init(ws_);
  for (int d = 0; d < 100; d++)
    for (int f = 0; f < 100; f++)
      WriteFile(ws_ / ("d" + std::to_string(d)) / ("f" + std::to_string(f) + ".txt"),
                "file " + std::to_string(d) + "/" + std::to_string(f) + "\n");
  WaitForFsClockPast(ws_);  // no file is "racy": the answer does not depend on timing
  json first = J({"snap"});
  EXPECT_EQ(first["files"], 10000);
  EXPECT_EQ(first["files_read"], 10000);
  json again = J({"snap"});
  EXPECT_EQ(again["files_read"], 0);
  EXPECT_EQ(again["root"], first["root"]);
  WriteFile(ws_ / "d42/f7.txt", "changed, and longer than before\n");
  json changed = J({"snap"});
  EXPECT_EQ(changed["files_read"], 1);
  EXPECT_NE(changed["root"], first["root"]);
}

TEST_F(LocalTest, SnapsNewestFirstAndShowByPrefix) {
  Init(ws_);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; i++) {
    WriteFile(ws_ / "n.txt", std::to_string(i));
    ids.push_back(J({"snap", "-m", "snap " + std::to_string(i)})["id"]);
  }
  json list = J({"snaps"});
  ASSERT_EQ(list.size(), 3u);
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(list[i]["id"], ids[2 - i]);
    EXPECT_EQ(list[i]["message"], "snap " + std::to_string(2 - i));
  }
  // The shortest prefix, at least 4 characters, that no other snap shares.
  size_t len = 4;
  while (ids[0].substr(0, len) == ids[1].substr(0, len) ||
         ids[0].substr(0, len) == ids[2].substr(0, len))
    len++;
  json shown = J({"show", ids[0].substr(0, len)});
  EXPECT_EQ(shown["id"], ids[0]);
  EXPECT_EQ(shown["message"], "snap 0");
  EXPECT_EQ(shown["files"], 1);
  EXPECT_EQ(shown["bytes"], 1);
  EXPECT_TRUE(shown["parent"].is_null());

  std::string none = "0000";
  while (std::any_of(ids.begin(), ids.end(), [&](auto& id) { return id.rfind(none, 0) == 0; }))
    none[3]++;
  ExpectError(C({"show", none}), "no snap matches");
  ExpectError(C({"show", "xyz!"}), "not a snap ID");
  ExpectError(C({"restore", none, "--to", (tmp_ / "out").string()}), "no snap matches");
}

TEST_F(LocalTest, NonUtf8NameIsAClearError) {
  Init(ws_);
  WriteFile(ws_ / "ok.txt", "ok");
  WriteFile(ws_ / "sub/bad\xff.txt", "latin-1 name");
  RunResult r = C({"snap"});
  ExpectError(r, "sub/bad\\xff.txt");
  EXPECT_NE(r.err.find("not valid UTF-8"), std::string::npos);
  EXPECT_EQ(J({"snaps"}).size(), 0u);
}

TEST_F(LocalTest, FifoIsSkippedWithAWarning) {
  Init(ws_);
  WriteFile(ws_ / "regular.txt", "data");
  ASSERT_EQ(::mkfifo((ws_ / "pipe").c_str(), 0644), 0);
  RunResult r = C({"snap"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: skipped 'pipe'"), std::string::npos) << r.err;
  std::string id = r.out.substr(0, 64);
  ASSERT_EQ(C({"restore", id, "--to", (tmp_ / "out").string()}).exit_code, 0);
  EXPECT_EQ(DescribeTree(tmp_ / "out"),
            (std::map<std::string, std::string>{{"regular.txt", "file x=0 data"}}));
  // In place, the FIFO is not converge's: it stays.
  WriteFile(ws_ / "extra.txt", "more");
  J({"snap"});
  ASSERT_EQ(C({"restore", id}).exit_code, 0);
  EXPECT_FALSE(fs::exists(ws_ / "extra.txt"));
  EXPECT_TRUE(fs::is_fifo(ws_ / "pipe"));
}

TEST_F(LocalTest, UsageErrorsExit2) {
  Init(ws_);
  EXPECT_EQ(C({}).exit_code, 2);
  EXPECT_EQ(C({"no-such-command"}).exit_code, 2);
  EXPECT_EQ(C({"restore"}).exit_code, 2);
  EXPECT_EQ(C({"snap", "--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(C({"show"}).exit_code, 2);
  EXPECT_EQ(C({"diff", "a", "b", "c"}).exit_code, 2);
  RunResult r = C({"restore", "abcd", "--to", "x", "--force"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
}

TEST_F(LocalTest, ErrorsExit1WithOneErrorLine) {
  ExpectError(C({"snaps"}), "not a converge workspace");  // no workspace yet
  Init(ws_);
  ExpectError(C({"init"}), "already a converge workspace");
  ExpectError(C({"diff"}), "no snaps yet");
  WriteFile(ws_ / "f", "x");
  json snap = J({"snap"});
  WriteFile(tmp_ / "full/x", "occupied");
  ExpectError(C({"restore", snap["id"], "--to", (tmp_ / "full").string()}), "not empty");
}

TEST_F(LocalTest, DashCRunsInAnotherDirectory) {
  Init(ws_);
  WriteFile(ws_ / "f", "x");
  json snap = J({"-C", "ws", "snap"}, tmp_.path());
  json list = J({"-C", ws_.string(), "snaps"}, tmp_.path());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], snap["id"]);
  // A relative --to is relative to the -C directory.
  ASSERT_EQ(C({"-C", "ws", "restore", snap["id"], "--to", "../out"}, tmp_.path()).exit_code, 0);
  EXPECT_EQ(ReadFileOrDie(tmp_ / "out/f"), "x");
  ExpectError(C({"-C", "no-such-dir", "snaps"}, tmp_.path()), "no-such-dir");
}

TEST_F(LocalTest, ConvergeignorePatternsAreHonoured) {
  Init(ws_);
  WriteFile(ws_ / ".convergeignore", "*.log\nbuild/\n!keep.log\n/top.tmp\n");
  WriteFile(ws_ / "src/a.c", "a");
  WriteFile(ws_ / "src/debug.log", "noise");
  WriteFile(ws_ / "keep.log", "kept");
  WriteFile(ws_ / "build/out.o", "binary");
  WriteFile(ws_ / "top.tmp", "ignored at the top");
  WriteFile(ws_ / "src/top.tmp", "kept below");
  json snap = J({"snap"});
  EXPECT_EQ(snap["files"], 4);  // .convergeignore, src/a.c, keep.log, src/top.tmp
  ASSERT_EQ(C({"restore", snap["id"], "--to", (tmp_ / "out").string()}).exit_code, 0);
  auto tree = DescribeTree(tmp_ / "out");
  EXPECT_TRUE(tree.count("keep.log"));
  EXPECT_TRUE(tree.count("src/top.tmp"));
  EXPECT_FALSE(tree.count("src/debug.log"));
  EXPECT_FALSE(tree.count("build"));
  EXPECT_FALSE(tree.count("top.tmp"));
  WriteFile(ws_ / "more.log", "still ignored");
  EXPECT_EQ(Diff({}), Changes{});
  // In place, ignored files stay where they are.
  WriteFile(ws_ / "src/b.c", "b");
  J({"snap"});
  ASSERT_EQ(C({"restore", snap["id"]}).exit_code, 0);
  EXPECT_FALSE(fs::exists(ws_ / "src/b.c"));
  EXPECT_EQ(ReadFileOrDie(ws_ / "build/out.o"), "binary");
  EXPECT_EQ(ReadFileOrDie(ws_ / "src/debug.log"), "noise");
}

TEST_F(LocalTest, LeftoversOfAKilledRestoreAreNeverCaptured) {
  Init(ws_);
  WriteFile(ws_ / "a.txt", "a");
  WriteFile(ws_ / ".converge-restore.0123456789abcdef.tmp", "half a file");
  WriteFile(ws_ / "sub/.converge-restore.fedcba9876543210.tmp/x", "half a dir");
  WriteFile(ws_ / ".converge-restore.notmine.tmp", "a user's file of a similar name");
  json snap = J({"snap"});
  EXPECT_EQ(snap["files"], 2);  // a.txt and the similar name
  ASSERT_EQ(C({"restore", snap["id"], "--to", (tmp_ / "out").string()}).exit_code, 0);
  auto tree = DescribeTree(tmp_ / "out");
  EXPECT_TRUE(tree.count(".converge-restore.notmine.tmp"));
  EXPECT_FALSE(tree.count(".converge-restore.0123456789abcdef.tmp"));
  EXPECT_FALSE(tree.count("sub/.converge-restore.fedcba9876543210.tmp"));
  EXPECT_EQ(Diff({}), Changes{});
  // An in-place restore clears them away where it changes the tree, and only
  // them (elsewhere `converge fsck --fix` removes them).
  WriteFile(ws_ / "sub/b.txt", "b");
  J({"snap"});
  ASSERT_EQ(C({"restore", snap["id"]}).exit_code, 0);
  EXPECT_FALSE(fs::exists(ws_ / "sub/b.txt"));
  EXPECT_FALSE(fs::exists(ws_ / ".converge-restore.0123456789abcdef.tmp"));
  EXPECT_FALSE(fs::exists(ws_ / "sub/.converge-restore.fedcba9876543210.tmp"));
  EXPECT_TRUE(fs::exists(ws_ / ".converge-restore.notmine.tmp"));
}

// A bug report can name the build: the version and the commit it was made from.
TEST_F(LocalTest, VersionNamesTheCommitItWasBuiltFrom) {
  RunResult r = Converge({"--version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string prefix = std::string("converge ") + CONVERGE_VERSION + " (commit ";
  ASSERT_EQ(r.out.rfind(prefix, 0), 0u) << r.out;
  std::string commit = r.out.substr(prefix.size(), r.out.find(')') - prefix.size());
  if (commit == "unknown") GTEST_SKIP() << "built outside a git checkout";
  if (commit.size() > 12 && commit.substr(12) == "-dirty") commit.resize(12);
  EXPECT_EQ(commit.size(), 12u) << r.out;
  EXPECT_EQ(commit.find_first_not_of("0123456789abcdef"), std::string::npos) << r.out;
}

// Only the command named on the line is built (cmd/command_table.cpp): each
// command the top-level help lists still answers its own --help; -C's value
// is never taken for the command; a name that is no command gets CLI11's
// usual answer.
TEST_F(LocalTest, EachCommandIsBuiltAloneAndAnswersItsHelp) {
  RunResult top = Converge({"--help"});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  std::vector<std::string> names;
  std::istringstream lines(top.out.substr(top.out.find("Subcommands:")));
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("  ", 0) == 0 && line.size() > 2 && line[2] != ' ')
      names.push_back(line.substr(2, line.find(' ', 2) - 2));
  ASSERT_GE(names.size(), 25u) << top.out;
  for (const std::string& name : names) {
    RunResult r = Converge({name, "--help"});
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_NE(r.out.find(" " + name + " [OPTIONS]"), std::string::npos) << name << ": " << r.out;
  }
  fs::create_directories(ws_ / "snap");
  RunResult init = Converge({"-C", (ws_ / "snap").string(), "init"});
  EXPECT_EQ(init.exit_code, 0) << init.err;
  EXPECT_TRUE(fs::is_directory(ws_ / "snap" / ".converge"));
  RunResult typo = Converge({"--json", "snpa"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("converge --help"), std::string::npos) << typo.err;
}

// libpq pulls in some twenty libraries; only serve on PostgreSQL needs it, so
// it is loaded then (store/libpq.h) and no other command pays for loading it.
TEST_F(LocalTest, CommandsStartWithoutLoadingLibpq) {
  RunOptions o;
  o.cwd = ws_;
  o.env["LD_DEBUG"] = "libs";  // the loader names every library it looks up, on stderr
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--version"}, std::vector<std::string>{"init"},
        std::vector<std::string>{"snap", "-m", "first"}, std::vector<std::string>{"snaps"}}) {
    RunResult r = Converge(args, o);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("libsodium"), std::string::npos) << "LD_DEBUG had no effect";
    EXPECT_EQ(r.err.find("libpq"), std::string::npos) << args[0] << " loaded libpq";
  }
}

}  // namespace
}  // namespace converge::testing
