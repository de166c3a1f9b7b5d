// The node lock on PostgreSQL (server/node_lock.h): nodes hold it shared,
// a repair alone, each refusing the other with a message that says what to
// do; a node's hold comes back after its connection was cut (the upkeep's
// Refresh), or says that a repair took it meanwhile. Authorities in
// separate schemas of one database have separate locks. Needs
// CONVERGE_TEST_PG (scripts/test.sh sets it).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "server/node_lock.h"
#include "store/records/node_lock.h"
#include "support/server_db.h"

namespace converge {
namespace {

// Each test's own authority ID: ctest runs the tests of this file at once,
// in separate processes on one database, and an advisory lock is the
// database's (keyed by the ID's first 4 bytes), not a schema's.
uint32_t FreshKey() {
  std::random_device rd;
  return 0x10000000u + rd() % 0x60000000u;
}
std::string HexKey(uint32_t key) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", key);
  return buf;
}

class NodeLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::TestPgUrl().empty()) GTEST_SKIP() << testing::kNoTestPg;
    Result<std::unique_ptr<testing::PgTestSchema>> schema = testing::PgTestSchema::Make();
    ASSERT_TRUE(schema.ok()) << schema.status().message();
    schema_ = std::move(*schema);
    Result<Db> admin = Db::Connect(schema_->url(), DbRole::kServer);
    ASSERT_TRUE(admin.ok()) << admin.status().message();
    admin_.emplace(std::move(*admin));
  }
  int64_t Holders() {
    Result<int64_t> n = NodeLockRecords(*admin_, id_).Holders();
    EXPECT_TRUE(n.ok()) << n.status().message();
    return n.ok() ? *n : -1;
  }
  // Ends every session holding this test's node lock, as a database restart would,
  // waiting for each to be gone.
  void CutHolders() {
    Result<Stmt> q = admin_->Prepare(
        "SELECT pg_terminate_backend(pid, 10000) FROM pg_locks WHERE locktype = 'advisory' AND "
        "classid = CAST(? AS OID) AND objid = CAST(? AS OID) AND objsubid = 2");
    ASSERT_TRUE(q.ok()) << q.status().message();
    q->Bind(1, int64_t{kPgNodeLockClass}).Bind(2, int64_t{key_});
    for (;;) {
      Result<bool> row = q->Step();
      ASSERT_TRUE(row.ok()) << row.status().message();
      if (!*row) break;
    }
  }
  std::unique_ptr<testing::PgTestSchema> schema_;
  std::optional<Db> admin_;
  const uint32_t key_ = FreshKey();
  const std::string id_ = HexKey(key_) + std::string(24, 'f');
};

TEST_F(NodeLockTest, NodesShareItARepairTakesItAloneAndEachRefusesTheOther) {
  std::string url = schema_->url();
  auto a = NodeLock::ForNode(url, id_, "DB");
  auto b = NodeLock::ForNode(url, id_, "DB");
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().message() << b.status().message();
  EXPECT_EQ(Holders(), 2);
  auto repair = NodeLock::ForRepair(url, id_, "DB");
  ASSERT_FALSE(repair.ok());
  EXPECT_EQ(repair.status().code(), Code::kConflict);
  const std::string& m = repair.status().message();
  EXPECT_NE(m.find("2 converge serve nodes are running on database DB"), std::string::npos) << m;
  EXPECT_NE(m.find("stop every node"), std::string::npos) << m;

  // Another authority in the same database is not held up by these nodes.
  EXPECT_TRUE(
      NodeLock::ForRepair(url, HexKey(key_ ^ 0x0f000000u) + std::string(24, 'a'), "DB").ok());

  a->reset();
  b->reset();  // their sessions end on the server a moment after
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Holders() > 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Holders(), 0);
  auto alone = NodeLock::ForRepair(url, id_, "DB");
  ASSERT_TRUE(alone.ok()) << alone.status().message();
  auto late = NodeLock::ForNode(url, id_, "DB");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), Code::kConflict);
  EXPECT_NE(late.status().message().find("a repair ('converge serve --fsck --repair') is running"),
            std::string::npos)
      << late.status().message();
}

TEST_F(NodeLockTest, ANodesHoldComesBackAfterItsConnectionWasCut) {
  auto node = NodeLock::ForNode(schema_->url(), id_, "DB");
  ASSERT_TRUE(node.ok()) << node.status().message();
  EXPECT_TRUE((*node)->Refresh().ok());  // nothing to do
  CutHolders();
  EXPECT_EQ(Holders(), 0);
  Status st = (*node)->Refresh();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(Holders(), 1);

  // Cut again, and a repair takes it before the node's upkeep comes round.
  CutHolders();
  auto repair = NodeLock::ForRepair(schema_->url(), id_, "DB");
  ASSERT_TRUE(repair.ok()) << repair.status().message();
  st = (*node)->Refresh();
  EXPECT_EQ(st.code(), Code::kConflict) << st.message();
  EXPECT_NE(st.message().find("must not serve while it runs"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace converge
