// `converge clone`: init, remote set, fetch and restore in one step, through
// the built binary and a real server; and what a clone that fails leaves.
#include <gtest/gtest.h>

#include "support/team.h"
#include "support/tree_helpers.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

class CloneTest : public TeamTest {
 protected:
  void SetUp() override {
    StartTeam();
    alice_ = NewUser("alice");
    bob_ = NewUser("bob");
    ASSERT_NO_FATAL_FAILURE(CreateRepo("web", alice_, bob_));
    alice_ws_ = alice_.home->path() / "ws";
    WriteFile(alice_ws_ / "README", "first\n");
    WriteFile(alice_ws_ / "src/main.c", "int main() { return 0; }\n");
    WriteFile(alice_ws_ / "run.sh", "#!/bin/sh\n", /*executable=*/true);
    ASSERT_EQ(alice_.Run({"init", alice_ws_.string()}).exit_code, 0);
    ASSERT_EQ(alice_.Run({"remote", "set", "--url", url_, "--repo", "web"}, alice_ws_).exit_code,
              0);
  }

  // Snaps and publishes alice's tree; the publication's ID.
  std::string Publish(const std::string& note) {
    EXPECT_EQ(alice_.Run({"snap", "-m", note}, alice_ws_).exit_code, 0);
    return alice_.Json({"publish", "-m", note}, alice_ws_)["publication"].value("id", "");
  }

  Person alice_, bob_;
  fs::path alice_ws_;
};

TEST_F(CloneTest, RestoresTheNewestPublicationIntoAWorkspaceWithTheRemoteSet) {
  std::string first = Publish("first");
  auto first_tree = DescribeTree(alice_ws_);
  WriteFile(alice_ws_ / "README", "second\n");
  std::string second = Publish("second");

  fs::path dir = bob_.home->path() / "web-copy";
  json out = bob_.Json({"clone", "--url", url_, "--repo", "web", dir.string()});
  ASSERT_TRUE(out.contains("restored")) << out;
  EXPECT_EQ(out["restored"]["publication"], second);
  EXPECT_EQ(out["publications"].size(), 2u);
  EXPECT_EQ(DescribeTree(dir), DescribeTree(alice_ws_));
  // A workspace like any other: its remote set, the snap its head, clean.
  json status = bob_.Json({"status"}, dir);
  EXPECT_EQ(status["remote"]["repo"], "web") << status;
  EXPECT_EQ(status["dirty"], false) << status;
  ASSERT_EQ(bob_.Run({"fetch"}, dir).exit_code, 0);

  // One publication asked for by prefix; the directory defaults to the repo's name.
  fs::path elsewhere = bob_.home->path() / "elsewhere";
  fs::create_directories(elsewhere);
  RunResult r = bob_.Run(
      {"clone", "--url", url_, "--repo", "web", "--publication", first.substr(0, 10)}, elsewhere);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("publication " + first.substr(0, 12)), std::string::npos) << r.out;
  EXPECT_EQ(DescribeTree(elsewhere / "web"), first_tree);
}

// The files written as they arrive (client/clone_writer.h) and the ones the
// restore after it writes (repeats, a subtree met again deeper, a chunked
// file, a symlink) come out as the snap holds them, and the next snap
// trusts every one of them without reading it.
TEST_F(CloneTest, ATreeOfRepeatsLinksAndLargeFilesComesOutWholeAndTrusted) {
  for (const char* at : {"copy1/x", "copy2/x", "deep/er/copy3/x"}) {
    WriteFile(alice_ws_ / at / "y.txt", "the same subtree\n");
    WriteFile(alice_ws_ / at / "z/empty", "");
  }
  WriteFile(alice_ws_ / "twin1", "twins\n");
  WriteFile(alice_ws_ / "twin2", "twins\n");
  std::string big;
  for (int i = 0; big.size() < (6u << 20); i++) big += "line " + std::to_string(i * 7919) + "\n";
  WriteFile(alice_ws_ / "big/log.txt", big);
  fs::create_directories(alice_ws_ / "hollow/inside");
  fs::create_symlink("twin1", alice_ws_ / "link");
  Publish("first");

  fs::path dir = bob_.home->path() / "web";
  json out = bob_.Json({"clone", "--url", url_, "--repo", "web", dir.string()});
  ASSERT_TRUE(out.contains("restored")) << out;
  EXPECT_EQ(DescribeTree(dir), DescribeTree(alice_ws_));
  json snap = bob_.Json({"snap", "-m", "again"}, dir);
  EXPECT_EQ(snap["files_read"], 0) << snap;
  EXPECT_EQ(bob_.Json({"status"}, dir)["dirty"], false);
}

TEST_F(CloneTest, RefusesADirectoryThatIsNotEmptyAndLeavesItAsItWas) {
  Publish("first");
  fs::path dir = bob_.home->path() / "busy";
  WriteFile(dir / "mine.txt", "keep me\n");
  ExpectError(bob_.Run({"clone", "--url", url_, "--repo", "web", dir.string()}),
              "already exists and is not an empty directory");
  EXPECT_EQ(ReadFileOrDie(dir / "mine.txt"), "keep me\n");
  EXPECT_FALSE(fs::exists(dir / ".converge"));
  // An empty directory, the current one here, is taken as it is.
  fs::path here = bob_.home->path() / "here";
  fs::create_directories(here);
  RunResult r = bob_.Run({"clone", "--url", url_, "--repo", "web", "."}, here);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DescribeTree(here), DescribeTree(alice_ws_));
}

TEST_F(CloneTest, AFailedCloneTakesAwayWhatItMade) {
  Publish("first");
  Person carol = NewUser("carol");  // may not read "web"
  fs::path made = carol.home->path() / "new";
  ExpectError(carol.Run({"clone", "--url", url_, "--repo", "web", made.string()}),
              "not found (or you have no access to it)");
  EXPECT_FALSE(fs::exists(made));
  // An empty directory that was there stays, empty.
  fs::path empty = carol.home->path() / "empty";
  fs::create_directories(empty);
  ExpectError(carol.Run({"clone", "--url", url_, "--repo", "web", empty.string()}),
              "not found (or you have no access to it)");
  ASSERT_TRUE(fs::is_directory(empty));
  EXPECT_TRUE(fs::is_empty(empty));
}

TEST_F(CloneTest, ARepoWithNothingToReadMakesAnEmptyWorkspace) {
  fs::path dir = bob_.home->path() / "web";
  RunResult r = bob_.Run({"clone", "--url", url_, "--repo", "web", dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no publication you may read yet"), std::string::npos) << r.out;
  EXPECT_EQ(bob_.Json({"status"}, dir)["remote"]["repo"], "web");
  // Later publications arrive with a plain fetch.
  std::string first = Publish("first");
  ASSERT_EQ(bob_.Json({"fetch"}, dir)["publications"].size(), 1u);
  ASSERT_EQ(bob_.Run({"restore", first}, dir).exit_code, 0);
  EXPECT_EQ(DescribeTree(dir), DescribeTree(alice_ws_));
}

}  // namespace
}  // namespace converge::testing
