// `converge gc --data-dir --db` beside two running nodes (the fixture is
// tests/nodes/fixture.h): while alice publishes through A and bob fetches
// everything through B in fresh workspaces, gc rewrites the old packs the
// nodes read from and removes what no row names. Nothing acknowledged is
// lost, no client sees an error, and the data dir checks clean. Without
// --db, gc refuses: the nodes' metadata is not in the data dir.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "fixture.h"
#include "store/cas.h"
#include "support/store_helpers.h"
#include "support/tree_helpers.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

TEST_F(TwoNodesTest, AGcBesideTwoBusyNodesLosesNothing) {
  StartBoth();
  MakeRepo(a_->port(), "proj");
  Person alice = UserAt(a_->url(), "alice");
  Person bob = UserAt(b_->url(), "bob");
  MakePublisher(a_->port(), "proj", "alice");
  MakePublisher(b_->port(), "proj", "bob");
  fs::path alice_ws = NewWorkspace(alice, "ws", a_->url(), "proj");
  std::set<std::string> acked;
  for (int round = 0; round < 3; round++) {
    WriteFile(alice_ws / ("old" + std::to_string(round)), PseudoRandomBytes(200000, round));
    ASSERT_EQ(alice.Run({"snap"}, alice_ws).exit_code, 0);
    acked.insert(PublicationField(alice.Json({"publish"}, alice_ws), "id"));
  }
  // Objects no row names (an upload killed between storing and recording).
  std::vector<std::string> garbage;
  {
    ObjectStore store = *ObjectStore::Open(data_);
    WriteBatch batch(store);
    for (int k = 0; k < 10; k++) {
      garbage.push_back("unrecorded " + std::to_string(k) + PseudoRandomBytes(3000, k));
      ASSERT_TRUE(batch.Put(garbage.back()).ok());
    }
    ASSERT_TRUE(batch.Commit().ok());
  }
  BackdateFiles(data_ / "packs", 7200);
  BackdateFiles(data_ / "objects", 7200);

  RunResult no_db =
      Converge({"gc", "--data-dir", data_.string()}, RunOptions{{}, {{"CONVERGE_DB", ""}}, ""});
  ExpectError(no_db, "pass the --db they use");

  std::atomic<bool> stop{false};
  std::atomic<int> alice_rounds{0}, bob_rounds{0};
  std::mutex mu;
  std::vector<std::string> errors;
  std::thread alice_loop([&] {
    for (int round = 0; !stop || alice_rounds < 2; round++) {
      WriteFile(alice_ws / "new" / ("r" + std::to_string(round)),
                PseudoRandomBytes(50000, 1000 + static_cast<uint32_t>(round)));
      RunResult r = alice.Run({"snap"}, alice_ws);
      if (r.exit_code == 0) r = alice.Run({"publish", "--json"}, alice_ws);
      std::lock_guard<std::mutex> lock(mu);
      if (r.exit_code != 0) {
        errors.push_back("alice: " + r.err);
        return;
      }
      acked.insert(PublicationField(json::parse(r.out, nullptr, false), "id"));
      alice_rounds++;
    }
  });
  std::thread bob_loop([&] {
    for (int round = 0; !stop || bob_rounds < 2; round++) {
      fs::path ws = NewWorkspace(bob, "fresh" + std::to_string(round), b_->url(), "proj");
      RunResult r = bob.Run({"fetch"}, ws);
      std::lock_guard<std::mutex> lock(mu);
      if (r.exit_code != 0) {
        errors.push_back("bob: " + r.err);
        return;
      }
      bob_rounds++;
    }
  });
  std::vector<std::string> gc = {"gc",   "--data-dir",   data_.string(),
                                 "--db", schema_->url(), "--json"};
  RunResult first = Converge(gc);
  RunResult second = Converge(gc);
  stop = true;
  alice_loop.join();
  bob_loop.join();
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors) << a_->Log() << b_->Log();
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  json r = json::parse(first.out);
  EXPECT_EQ(r["removed"].value("objects", -1), static_cast<int>(garbage.size())) << r;
  for (const std::string& g : garbage) EXPECT_FALSE(StoreHas(data_, ObjectId::Of(g)));

  std::set<std::string> via_b = ListedPublications(b_->port(), admin_token_, "proj");
  for (const std::string& id : acked) EXPECT_EQ(via_b.count(id), 1u) << id;
  // Alice's newest work, byte for byte, through B.
  json last = alice.Json({"publish"}, alice_ws);
  fs::path reader = NewWorkspace(bob, "reader", b_->url(), "proj");
  ASSERT_EQ(bob.Run({"fetch"}, reader).exit_code, 0);
  fs::path out = bob.home->path() / "alices";
  RunResult restored =
      bob.Run({"restore", PublicationField(last, "snap"), "--to", out.string()}, reader);
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_EQ(DescribeTree(out), DescribeTree(alice_ws));
  ExpectDataDirClean("after gc beside the nodes");
}

}  // namespace
}  // namespace converge::testing
