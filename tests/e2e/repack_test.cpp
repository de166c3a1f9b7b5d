// `converge repack` through the built binary: a workspace's packs and loose
// objects folded into one (fsck clean, every snap restores byte for byte),
// and a server's data dir repacked while the server runs (it keeps serving:
// a fresh workspace fetches and restores everything; serve --fsck is clean).
#include <gtest/gtest.h>

#include "support/team.h"
#include "support/tree_helpers.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

size_t FilesEndingIn(const fs::path& dir, const std::string& suffix) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().string().ends_with(suffix)) n++;
  return n;
}

class RepackTest : public TeamTest {
 protected:
  void SetUp() override {
    StartTeam();
    ASSERT_EQ(admin_.Run({"repo", "create", "proj"}).exit_code, 0);
    ws_ = admin_.home->path() / "ws";
    ASSERT_EQ(admin_.Run({"init", ws_.string()}).exit_code, 0);
    ASSERT_EQ(admin_.Run({"remote", "set", "--url", url_, "--repo", "proj"}, ws_).exit_code, 0);
    // Three snaps, each published: three packs and three loose snap objects.
    for (int round = 0; round < 3; round++) {
      for (int k = 0; k < 10; k++)
        WriteFile(ws_ / ("d" + std::to_string(k % 3)) / ("f" + std::to_string(k) + ".txt"),
                  "round " + std::to_string(round) + " file " + std::to_string(k) + "\n" +
                      std::string(2000, static_cast<char>('a' + k)));
      WriteFile(ws_ / "bin" / ("r" + std::to_string(round)), PseudoRandomBytes(300 << 10, round));
      json snap = admin_.Json({"snap", "-m", "round " + std::to_string(round)}, ws_);
      snaps_.push_back(snap.value("id", ""));
      trees_.push_back(DescribeTree(ws_));
      json pub = admin_.Json({"publish"}, ws_);
      ASSERT_TRUE(pub.contains("publication")) << pub;
      pubs_.push_back(pub["publication"].value("id", ""));
    }
  }

  fs::path ws_;
  std::vector<std::string> snaps_, pubs_;
  std::vector<std::map<std::string, std::string>> trees_;
};

TEST_F(RepackTest, AWorkspaceRepackKeepsEverySnap) {
  fs::path packs = ws_ / ".converge" / "packs";
  ASSERT_EQ(FilesEndingIn(packs, ".idx"), 3u);
  json r = admin_.Json({"repack"}, ws_);
  EXPECT_EQ(r.value("indexes_folded", 0), 3) << r;
  EXPECT_EQ(r.value("loose_folded", 0), 3) << r;
  EXPECT_EQ(FilesEndingIn(packs, ".idx"), 1u);
  RunResult fsck = admin_.Run({"fsck"}, ws_);
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  for (size_t i = 0; i < snaps_.size(); i++) {
    fs::path out = admin_.home->path() / ("out" + std::to_string(i));
    RunResult restored = admin_.Run({"restore", snaps_[i], "--to", out.string()}, ws_);
    ASSERT_EQ(restored.exit_code, 0) << restored.err;
    std::map<std::string, std::string> want = trees_[i];
    EXPECT_EQ(DescribeTree(out), want) << "snap " << i;
  }
  RunResult text = admin_.Run({"repack"}, ws_);
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("nothing to repack"), std::string::npos) << text.out;
}

TEST_F(RepackTest, AServerRepackedWhileItRunsKeepsServing) {
  fs::path data = server_->data_dir();
  ASSERT_GE(FilesEndingIn(data / "packs", ".idx"), 3u);
  RunResult r = Converge({"repack", "--data-dir", data.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(FilesEndingIn(data / "packs", ".idx"), 1u) << r.out;

  fs::path reader = admin_.home->path() / "reader";
  ASSERT_EQ(admin_.Run({"init", reader.string()}).exit_code, 0);
  ASSERT_EQ(admin_.Run({"remote", "set", "--url", url_, "--repo", "proj"}, reader).exit_code, 0);
  RunResult fetch = admin_.Run({"fetch"}, reader);
  ASSERT_EQ(fetch.exit_code, 0) << fetch.err;
  fs::path out = admin_.home->path() / "copy";
  ASSERT_EQ(admin_.Run({"restore", pubs_.back(), "--to", out.string()}, reader).exit_code, 0);
  std::map<std::string, std::string> want = trees_.back();
  EXPECT_EQ(DescribeTree(out), want);
  RunResult fsck = Converge(server_->ServeArgs({"--fsck"}));
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;

  RunResult not_data = Converge({"repack", "--data-dir", (admin_.home->path() / "nope").string()});
  EXPECT_EQ(not_data.exit_code, 1);
  EXPECT_NE(not_data.err.find("not a converge data dir"), std::string::npos) << not_data.err;
}

}  // namespace
}  // namespace converge::testing
