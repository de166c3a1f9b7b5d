// Publish's packs one after another, the next streaming while the server
// still commits the one before (client/pack_uploads.h), against a real
// server whose packs hold at most 10 objects: the publication is whole and
// fetches back byte for byte; a pack the server refuses stops the publish
// with the server's reason, at most the pack streaming beside it is sent
// after it, and what the server answered for before it stays. A fetch's
// first request, naming more snaps than the server takes, is split.
#include <gtest/gtest.h>

#include "store/hash.h"
#include "support/server.h"
#include "support/team.h"
#include "support/tree_helpers.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

constexpr int kPackObjects = 10;  // the server's max_ids_per_request

class PackPipelineTest : public TeamTest {
 protected:
  void Start(json config) {
    config["max_ids_per_request"] = kPackObjects;
    StartTeam(ServerOptions{config, {}});
    alice_ = NewUser("alice");
    bob_ = NewUser("bob");
    ASSERT_NO_FATAL_FAILURE(CreateRepo("web", alice_, bob_));
    ws_ = alice_.home->path() / "ws";
    fs::create_directories(ws_);
    ASSERT_EQ(alice_.Run({"init", ws_.string()}).exit_code, 0);
    ASSERT_EQ(alice_.Run({"remote", "set", "--url", url_, "--repo", "web"}, ws_).exit_code, 0);
  }

  // `n` small files of distinct content named PREFIXnn.EXT in `dir`.
  void Files(const std::string& dir, const std::string& prefix, const std::string& ext, int n) {
    for (int i = 0; i < n; i++) {
      std::string name = prefix + (i < 10 ? "0" : "") + std::to_string(i) + ext;
      WriteFile(ws_ / dir / name, dir + "/" + name + ": line " + std::to_string(i) + "\n");
    }
  }

  json Snap() {
    RunResult r = alice_.Run({"snap", "-m", "many packs"}, ws_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return alice_.Json({"publish"}, ws_);
  }

  Person alice_, bob_;
  fs::path ws_;
};

TEST_F(PackPipelineTest, APublishOfManyPacksIsWholeAndFetchesBack) {
  Start(json::object());
  // 75 blobs (8 blob packs, streamed back to back), then 4 manifests and
  // the snap (a pack that waits for every answer before it).
  Files("a", "f", ".txt", 25);
  Files("b", "g", ".c", 25);
  Files("b/c", "h", ".h", 25);
  json out = Snap();
  ASSERT_TRUE(out.contains("publication")) << out;
  EXPECT_EQ(out["objects_uploaded"], 75 + 3 + 1 + 1) << out;
  EXPECT_GT(out["bytes_sent"].get<uint64_t>(), out["pack_bytes"].get<uint64_t>()) << out;
  std::string pub = out["publication"]["id"];

  // Unchanged: nothing more to send.
  json again = alice_.Json({"publish"}, ws_);
  EXPECT_EQ(again["objects_uploaded"], 0) << again;

  fs::path bob_ws = bob_.home->path() / "ws";
  ASSERT_EQ(bob_.Run({"init", bob_ws.string()}).exit_code, 0);
  ASSERT_EQ(bob_.Run({"remote", "set", "--url", url_, "--repo", "web"}, bob_ws).exit_code, 0);
  json fetched = bob_.Json({"fetch"}, bob_ws);
  EXPECT_EQ(fetched["objects_fetched"], 75 + 3 + 1 + 1) << fetched;
  fs::path restored = bob_.home->path() / "restored";
  RunResult r = bob_.Run({"restore", pub.substr(0, 8), "--to", restored.string()}, bob_ws);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DescribeTree(restored), DescribeTree(ws_));
}

TEST_F(PackPipelineTest, ARefusedPackStopsThePublishAndWhatCameBeforeStays) {
  Start(json{{"max_object_bytes", 8000}});  // above the manifests' sizes
  // Blobs go by extension: ten .a files (the first pack), the too-large
  // .b file first in the second, then .c files (the third pack on).
  std::vector<std::string> first, later;
  for (int i = 0; i < 10; i++) first.push_back("a" + std::to_string(i) + "\n");
  for (int i = 0; i < 25; i++) later.push_back("c" + std::to_string(i) + "\n");
  for (size_t i = 0; i < first.size(); i++)
    WriteFile(ws_ / "d" / ("x" + std::to_string(i) + ".a"), first[i]);
  WriteFile(ws_ / "d" / "big.b", std::string(9000, 'b'));
  for (size_t i = 0; i < later.size(); i++)
    WriteFile(ws_ / "d" / ("y" + std::to_string(i) + ".c"), later[i]);
  ASSERT_EQ(alice_.Run({"snap", "-m", "too big"}, ws_).exit_code, 0);
  ExpectError(alice_.Run({"publish"}, ws_), "is 9000 bytes, over the limit of 8000");

  // The first pack was answered, so its blobs are the repo's; of the packs
  // after the refused one, at most the one streaming beside it was sent.
  auto missing = [&](const std::vector<std::string>& contents) {
    size_t lacked = 0;
    for (size_t at = 0; at < contents.size(); at += kPackObjects) {
      json ids = json::array();
      for (size_t i = at; i < std::min(contents.size(), at + kPackObjects); i++)
        ids.push_back(ObjectId::Of(contents[i]).hex());
      Reply r = Api(server_->port(), alice_.token)
                    .Post("/v1/repos/web/objects/missing", {{"blobs", ids}});
      EXPECT_EQ(r.status, 200) << r.body;
      lacked += r.json().value("blobs", json::array()).size();
    }
    return lacked;
  };
  EXPECT_EQ(missing(first), 0u);
  EXPECT_GE(missing(later), later.size() - kPackObjects);

  // Without the big file the publish goes through.
  fs::remove(ws_ / "d" / "big.b");
  json out = Snap();
  ASSERT_TRUE(out.contains("publication")) << out;
  EXPECT_EQ(missing(later), 0u);
}

// A fetch's first request names the new publications' snaps, before any
// answer said how many the server takes: refused (413, naming its limit),
// it goes again in pieces.
TEST_F(PackPipelineTest, AFetchOfMoreNewSnapsThanARequestMayNameSplitsItsFirstRequest) {
  Start(json::object());
  for (int i = 0; i <= kPackObjects; i++) {
    WriteFile(ws_ / "f.txt", "version " + std::to_string(i) + "\n");
    json out = Snap();
    ASSERT_TRUE(out.contains("publication")) << out;
  }
  fs::path bob_ws = bob_.home->path() / "ws";
  ASSERT_EQ(bob_.Run({"init", bob_ws.string()}).exit_code, 0);
  ASSERT_EQ(bob_.Run({"remote", "set", "--url", url_, "--repo", "web"}, bob_ws).exit_code, 0);
  json fetched = bob_.Json({"fetch"}, bob_ws);
  // Each snap, its root manifest and its file: the snaps have distinct files.
  EXPECT_EQ(fetched["objects_fetched"], 3 * (kPackObjects + 1)) << fetched;
}

}  // namespace
}  // namespace converge::testing
