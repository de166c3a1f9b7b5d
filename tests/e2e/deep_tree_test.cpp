// Very deep trees end to end (issue 11, item 5): `converge snap` refuses a
// working tree past the depth limit with an error naming the directory and
// the limit, and `converge fetch` refuses a tree past it from a hostile
// server, without following it level by level to the bottom.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/random.h"
#include "store/tree_depth.h"
#include "support/fake_server.h"
#include "support/process.h"
#include "support/tree_helpers.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

// "d/d/.../d" with `levels` names.
std::string DeepChainPath(size_t levels) {
  std::string p;
  for (size_t i = 0; i < levels; i++) p += i ? "/d" : "d";
  return p;
}

void ExpectOneErrorLine(const RunResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

class DeepTreeE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    fs::create_directories(home_);
    ASSERT_EQ(Run({"init", ws_.string()}, home_).exit_code, 0);
  }

  RunResult Run(const std::vector<std::string>& args, const fs::path& cwd = {}) {
    RunOptions o;
    o.cwd = cwd.empty() ? ws_ : cwd;
    o.env = ClientEnv(home_, server_url_, "anything");
    return Converge(args, o);
  }

  json Snaps() { return json::parse(Run({"snaps", "--all", "--json"}).out, nullptr, false); }

  std::string server_url_;  // the fake server's, in tests that have one

  TempDir top_;
  fs::path home_ = top_ / "home";
  fs::path ws_ = top_ / "ws";
};

TEST_F(DeepTreeE2eTest, SnapRefusesATreePastTheLimitNamingIt) {
  WriteFile(ws_ / "top.txt", "top\n");
  WriteFile(ws_ / "deep" / DeepChainPath(kMaxTreeDepth) / "bottom.txt", "too deep\n");
  RunResult r = Run({"snap", "-m", "deep"});
  ExpectOneErrorLine(r, "limit of 256");
  EXPECT_NE(r.err.find("257 levels deep"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'deep/d/d/"), std::string::npos) << "names the directory: " << r.err;
  EXPECT_NE(r.err.find(".convergeignore"), std::string::npos) << r.err;
  EXPECT_EQ(Snaps(), json::array()) << "nothing was snapped";

  // Left out, or at the limit, it is fine.
  WriteFile(ws_ / ".convergeignore", "deep/\n");
  EXPECT_EQ(Run({"snap"}).exit_code, 0);
  fs::rename(ws_ / "deep" / "d", ws_ / "at-limit");
  RunResult ok = Run({"snap", "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  RunResult restored = Run({"restore", json::parse(ok.out)["id"], "--to", (top_ / "out").string()});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_EQ(ReadFileOrDie(top_ / "out/at-limit" / DeepChainPath(kMaxTreeDepth - 1) / "bottom.txt"),
            "too deep\n");
}

class HostileDepthTest : public DeepTreeE2eTest {
 protected:
  void SetUp() override {
    server_url_ = server_.url();
    DeepTreeE2eTest::SetUp();
    ASSERT_EQ(Run({"remote", "set", "--url", server_.url(), "--repo", FakeServer::kRepo}).exit_code,
              0);
  }

  ObjectId Manifest1(const std::string& name, const ObjectId& sub) {
    Entry e;
    e.name = name;
    e.type = EntryType::kDir;
    e.id = sub;
    return server_.Put(ObjectKind::kManifest, EncodeManifest(Manifest{{e}}));
  }
  // A served chain of `levels` directories named "d" over `bottom`.
  ObjectId ServedChain(size_t levels, ObjectId bottom) {
    for (size_t i = 0; i < levels; i++) bottom = Manifest1("d", bottom);
    return bottom;
  }
  ObjectId Published(const ObjectId& root) {
    Snap s;
    s.root = root;
    s.created_at = "2026-01-02T03:04:05Z";
    s.message = "deep";
    s.workspace_id = "evil-workspace";
    ObjectId snap = server_.Put(ObjectKind::kSnap, EncodeSnap(s));
    server_.Publish(snap);
    return snap;
  }
  ObjectId Empty() { return server_.Put(ObjectKind::kManifest, EncodeManifest(Manifest{})); }

  FakeServer server_;
};

TEST_F(HostileDepthTest, FetchRefusesAHostileDepthWithoutWalkingItAll) {
  ObjectId snap = Published(ServedChain(30000, Empty()));
  RunResult r = Run({"fetch"});
  ExpectOneErrorLine(r, "limit of 256");
  EXPECT_NE(r.err.find(snap.hex()), std::string::npos) << r.err;
  EXPECT_LE(server_.fetches(), static_cast<int>(kMaxTreeDepth) + 3)
      << "the client stops asking once the tree is past the limit";
  EXPECT_EQ(Snaps(), json::array());
  RunResult restore = Run({"restore", snap.hex(), "--to", (top_ / "out").string()});
  EXPECT_EQ(restore.exit_code, 1) << restore.err;
  EXPECT_FALSE(fs::exists(top_ / "out"));
}

TEST_F(HostileDepthTest, FetchMeasuresSharedSubtreesAtTheirDeepestPlace) {
  // Met first one level down, the 100-deep subtree is also 201 levels down:
  // the tree is 301 deep though no manifest is more than 202 requests away.
  ObjectId shared = ServedChain(100, Empty());
  ObjectId root = server_.Put(
      ObjectKind::kManifest,
      EncodeManifest(Manifest{{Entry{"a", EntryType::kDir, shared, false, 0, false, ""},
                               Entry{"b", EntryType::kDir, ServedChain(200, shared), false, 0,
                                     false, ""}}}));
  ObjectId snap = Published(root);
  RunResult r = Run({"fetch"});
  ExpectOneErrorLine(r, "301 levels deep");
  EXPECT_NE(r.err.find(snap.hex()), std::string::npos) << r.err;
  EXPECT_EQ(Snaps(), json::array());
}

TEST_F(HostileDepthTest, ATreeAtTheLimitIsFetchedAndRestored) {
  ObjectId blob = server_.Put(ObjectKind::kBlob, "bottom\n");
  Entry file;
  file.name = "bottom.txt";
  file.id = blob;
  file.size = 7;
  ObjectId bottom = server_.Put(ObjectKind::kManifest, EncodeManifest(Manifest{{file}}));
  ObjectId snap = Published(ServedChain(kMaxTreeDepth, bottom));
  RunResult f = Run({"fetch"});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  RunResult r = Run({"restore", snap.hex(), "--to", (top_ / "out").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFileOrDie(top_ / "out" / DeepChainPath(kMaxTreeDepth) / "bottom.txt"), "bottom\n");
}

}  // namespace
}  // namespace converge::testing
