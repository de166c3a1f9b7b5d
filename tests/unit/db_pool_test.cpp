// DbPool (server/db_pool.h) on SQLite: the WAL is checkpointed by the
// pool's own thread, not in the connection that commits. Also in
// threaded_tests (TSan).
#include "server/db_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/process.h"

namespace converge {
namespace {

using testing::TempDir;

uint64_t FileSize(const fs::path& p) {
  std::error_code ec;
  uint64_t n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

// Inserts `rows` rows of 1 KiB in one transaction: about `rows` / 3 pages.
void Insert(Db& db, int first, int rows) {
  Result<Db::Tx> tx = db.BeginWrite();
  ASSERT_TRUE(tx.ok()) << tx.status().message();
  Result<Stmt> st = db.Prepare(
      "WITH RECURSIVE c(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM c WHERE n < ?) "
      "INSERT INTO filler (n, pad) SELECT n, zeroblob(1024) FROM c");
  ASSERT_TRUE(st.ok()) << st.status().message();
  st->Bind(1, static_cast<int64_t>(first)).Bind(2, static_cast<int64_t>(first + rows - 1));
  ASSERT_TRUE(st->Run().ok());
  ASSERT_TRUE(tx->Commit().ok());
}

// The same, a statement a row: a transaction that lasts (a pack's Link).
void InsertRowByRow(Db& db, int first, int rows) {
  Result<Db::Tx> tx = db.BeginWrite();
  ASSERT_TRUE(tx.ok()) << tx.status().message();
  std::string pad(1024, 'p');
  for (int i = first; i < first + rows; i++) {
    Result<Stmt> st = db.Prepare("INSERT INTO filler (n, pad) VALUES (?, ?)");
    ASSERT_TRUE(st.ok()) << st.status().message();
    st->Bind(1, static_cast<int64_t>(i)).BindBlob(2, pad);
    ASSERT_TRUE(st->Run().ok());
  }
  ASSERT_TRUE(tx->Commit().ok());
}

// Waits until the database file holds at least `bytes`.
bool FileReaches(const fs::path& file, uint64_t bytes) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (FileSize(file) < bytes && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return FileSize(file) >= bytes;
}

TEST(DbPoolTest, ACommitPastTheLimitIsCopiedIntoTheFileByThePool) {
  TempDir dir;
  DbPool pool(ServerDb::For(dir.path(), "sqlite"), 0);
  fs::path file = dir.path() / "converge.db";
  Result<DbPool::Lease> db = pool.Acquire();
  ASSERT_TRUE(db.ok()) << db.status().message();
  ASSERT_TRUE((*db)->Exec("CREATE TABLE filler (n INTEGER PRIMARY KEY, pad BLOB)").ok());
  // Below the limit nothing is copied: the new pages stay in the WAL.
  uint64_t before = FileSize(file);
  Insert(**db, 0, 300);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(FileSize(file), before);
  // Past it (4,000 rows: some 1,400 pages) the pool's thread copies them.
  Insert(**db, 300, 4000);
  EXPECT_TRUE(FileReaches(file, 5u << 20));
}

TEST(DbPoolTest, CommitsThatKeepMeetingTheThreadsCheckpointLeaveTheWalBounded) {
  // Six commits of ~1,400 pages, each begun while the thread is copying the
  // one before into the file: such a writer cannot rewind the WAL, so
  // without the committer's own checkpoint past 4,000 frames it would hold
  // all ~8,000 (33 MB); with it, about 4,000 plus a commit's (the file
  // keeps its largest size).
  TempDir dir;
  DbPool pool(ServerDb::For(dir.path(), "sqlite"), 0);
  fs::path file = dir.path() / "converge.db";
  Result<DbPool::Lease> db = pool.Acquire();
  ASSERT_TRUE(db.ok()) << db.status().message();
  ASSERT_TRUE((*db)->Exec("CREATE TABLE filler (n INTEGER PRIMARY KEY, pad BLOB)").ok());
  for (int round = 1; round <= 6; round++) {
    InsertRowByRow(**db, 4000 * round, 4000);
    ASSERT_TRUE(FileReaches(file, round * (5u << 20))) << "round " << round;
  }
  uint64_t frame = 4096 + 24;
  EXPECT_LT(FileSize(dir.path() / "converge.db-wal"),
            (DbPool::kCheckpointFramesInline + 1500) * frame);
  pool.Close();  // stops the thread; the destructor's second Close is harmless
}

}  // namespace
}  // namespace converge
