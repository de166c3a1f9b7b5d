// SQLite's statement journals stay in memory (store/db.cpp): a statement
// that changes many existing pages opens no temp file in /var/tmp.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>

#include "store/db.h"
#include "support/process.h"

namespace converge {
namespace {

// A VFS over the default one that counts the statement journals opened
// through it (SQLITE_OPEN_SUBJOURNAL: each would be a temp file).
std::atomic<int> statement_journals{0};
sqlite3_vfs* base_vfs = nullptr;

int CountingOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out) {
  if (flags & SQLITE_OPEN_SUBJOURNAL) statement_journals++;
  return base_vfs->xOpen(base_vfs, name, file, flags, out);
}

class CountingVfs {
 public:
  CountingVfs() {
    base_vfs = sqlite3_vfs_find(nullptr);
    vfs_ = *base_vfs;
    vfs_.zName = "converge-test-counting";
    vfs_.pNext = nullptr;
    vfs_.xOpen = CountingOpen;
    registered_ = sqlite3_vfs_register(&vfs_, 1) == SQLITE_OK;
  }
  ~CountingVfs() {
    if (registered_) sqlite3_vfs_unregister(&vfs_);
  }
  bool registered() const { return registered_; }

 private:
  sqlite3_vfs vfs_;
  bool registered_ = false;
};

// A statement that may abort half-way (a constraint to check) keeps the
// original of every page it changes in a statement journal, so that it can
// be undone alone. The server's upsert of a pack's object rows is one (it
// spilled to /var/tmp on every 1 % publish of the bench's small corpus, as
// `strace` showed); this test changes a few hundred KiB of existing pages in
// one such statement, as a pack's rows landing among a big table's do.
TEST(SqliteJournal, AStatementChangingManyPagesKeepsItsJournalInMemory) {
  CountingVfs counting;
  ASSERT_TRUE(counting.registered());
  testing::TempDir dir;
  Result<Db> db = Db::Open(dir.path() / "converge.db", DbRole::kServer);
  ASSERT_TRUE(db.ok()) << db.status().message();
  ASSERT_TRUE(db->Exec("CREATE TABLE scratch (id INTEGER PRIMARY KEY, v TEXT UNIQUE)").ok());
  ASSERT_TRUE(db->Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                       "WHERE i < 20000) INSERT INTO scratch SELECT i, printf('%040d', i) FROM n")
                  .ok());
  int before = statement_journals;
  Result<Db::Tx> tx = db->BeginWrite();
  ASSERT_TRUE(tx.ok()) << tx.status().message();
  ASSERT_TRUE(db->Exec("UPDATE scratch SET v = 'x' || v WHERE id % 2 = 0").ok());
  ASSERT_TRUE(db->Exec("UPDATE scratch SET v = 'y' || v WHERE id % 2 = 1").ok());
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_EQ(statement_journals - before, 0)
      << "a statement journal went to a temp file (SQLITE_CONFIG_STMTJRNL_SPILL not in effect)";
}

// SQLite spills a statement journal in chunks of the spill threshold's size,
// and its unix VFS writes at most 128 KiB a call: with a threshold of 8 MiB,
// a statement changing more than 8 MiB of pages failed with SQLITE_FULL
// (a big database's migration did). A 16 MB table changed by one statement.
TEST(SqliteJournal, AStatementChangingMoreThanEightMiBOfPagesCommits) {
  testing::TempDir dir;
  Result<Db> db = Db::Open(dir.path() / "converge.db", DbRole::kServer);
  ASSERT_TRUE(db.ok()) << db.status().message();
  ASSERT_TRUE(db->Exec("CREATE TABLE scratch (id INTEGER PRIMARY KEY, v TEXT UNIQUE)").ok());
  ASSERT_TRUE(db->Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                       "WHERE i < 40000) INSERT INTO scratch SELECT i, printf('%0200d', i) FROM n")
                  .ok());
  Result<Db::Tx> tx = db->BeginWrite();
  ASSERT_TRUE(tx.ok()) << tx.status().message();
  Status st = db->Exec("UPDATE scratch SET v = 'x' || v");
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_TRUE(tx->Commit().ok());
}

}  // namespace
}  // namespace converge
