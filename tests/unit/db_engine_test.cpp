// The metadata engines behind store/db.h: SQLite and PostgreSQL
// (store/pg_db.h) run the same SQL the same way. Placeholders, transactions,
// the write lock that keeps the audit chain whole with two connections
// appending at once, and the server schema migrated once however many
// connections start on an empty database together. The PostgreSQL cases need
// CONVERGE_TEST_PG (scripts/test.sh sets it).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "server/audit.h"
#include "server/audit_verify.h"
#include "store/db.h"
#include "store/pg_db.h"
#include "store/records/audit.h"
#include "store/schema.h"
#include "support/server_db.h"

namespace converge {
namespace {

TEST(PgPlaceholders, NumberedOutsideQuotesAndComments) {
  int n = 0;
  std::string sql = PgNumberPlaceholders(
      "SELECT '?', 'it''s ?', \"odd?name\" FROM t -- why?\nWHERE a = ? AND b IN (?, ?)", &n);
  EXPECT_EQ(sql,
            "SELECT '?', 'it''s ?', \"odd?name\" FROM t -- why?\nWHERE a = $1 AND b IN ($2, $3)");
  EXPECT_EQ(n, 3);
  EXPECT_EQ(PgNumberPlaceholders("SELECT 1", &n), "SELECT 1");
  EXPECT_EQ(n, 0);
}

TEST(PgUrl, PasswordsAreNeverShown) {
  std::string shown =
      PgRedactUrl("postgresql://alice:s3cret@db.example:5432/converge?sslmode=require&password=x2");
  EXPECT_EQ(shown.find("s3cret"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("x2"), std::string::npos) << shown;
  EXPECT_NE(shown.find("alice:***@db.example:5432/converge"), std::string::npos) << shown;
  EXPECT_EQ(PgRedactUrl("host=/run/pg dbname=c password=hunter2 user=u").find("hunter2"),
            std::string::npos);
  // And a failed connection's error names the server, not the password.
  Result<Db> db =
      Db::Connect("postgresql://alice:s3cret@/nodb?host=/nonexistent-dir&port=1", DbRole::kServer);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().message().find("s3cret"), std::string::npos) << db.status().message();
  EXPECT_NE(db.status().message().find("connect to PostgreSQL"), std::string::npos);
}

TEST(PgSchema, EveryServerMigrationHasItsTwin) {
  int pg = 0;
  PgMigrations(&pg);
  EXPECT_EQ(pg, SchemaVersion(DbRole::kServer))
      << "a server migration was added to store/schema.cpp: append its PostgreSQL twin to "
         "store/schema_pg.cpp";
}

TEST(PgSchema, AWorkspaceIsSqliteOnly) {
  EXPECT_EQ(Db::Connect("postgresql:///x", DbRole::kWorkspace).status().code(), Code::kInvalid);
}

class DbEngineTest : public testing::ServerDbTest {
 protected:
  // A second connection to the same database.
  Db Another() {
    Result<Db> db = GetParam() == DbEngine::kSqlite
                        ? Db::Open(dir_ / "converge.db", DbRole::kServer)
                        : Db::Connect(schema_->url(), DbRole::kServer);
    EXPECT_TRUE(db.ok()) << db.status().message();
    return std::move(*db);
  }
  int64_t CountUsers(Db& db) {
    Result<Stmt> q = db.Prepare("SELECT COUNT(*) FROM users");
    EXPECT_TRUE(q.ok() && *q->Step());
    return q->Int(0);
  }
};
CONVERGE_ON_BOTH_ENGINES(DbEngineTest);

TEST_P(DbEngineTest, PlaceholdersBindInOrderAndQuotedMarksStay) {
  Result<Stmt> ins = db_->Prepare(
      "INSERT INTO users (handle, admin, created_at) "
      "VALUES (?, ?, '?') RETURNING id, created_at");
  ASSERT_TRUE(ins.ok()) << ins.status().message();
  ins->Bind(1, "alice").Bind(2, int64_t{1});
  ASSERT_TRUE(*ins->Step());
  EXPECT_EQ(ins->Text(1), "?");
  ins->Reset();
  ins->Bind(1, "bob").Bind(2, int64_t{0});  // the same statement, again
  ASSERT_TRUE(*ins->Step());
  Result<Stmt> q = db_->Prepare(
      "SELECT handle, admin FROM users WHERE admin = ? AND handle <> ? "
      "ORDER BY handle");
  ASSERT_TRUE(q.ok());
  q->Bind(1, int64_t{0}).Bind(2, "carol");
  ASSERT_TRUE(*q->Step());
  EXPECT_EQ(q->Text(0), "bob");
  EXPECT_EQ(q->Int(1), 0);
  EXPECT_FALSE(*q->Step());
}

TEST_P(DbEngineTest, AnUncommittedWriteIsRolledBackAndACommittedOneSeenByOthers) {
  Db other = Another();
  {
    Result<Db::Tx> tx = db_->BeginWrite();
    ASSERT_TRUE(tx.ok()) << tx.status().message();
    ASSERT_TRUE(
        db_->Exec("INSERT INTO users (handle, admin, created_at) VALUES ('x', 0, 't')").ok());
    EXPECT_EQ(CountUsers(*db_), 1);
  }  // not committed
  EXPECT_EQ(CountUsers(*db_), 0);
  {
    Result<Db::Tx> tx = db_->BeginWrite();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(
        db_->Exec("INSERT INTO users (handle, admin, created_at) VALUES ('y', 0, 't')").ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  EXPECT_EQ(CountUsers(other), 1);
}

// What only PostgreSQL does: the cases of DbEngineTest that SQLite has no
// counterpart of.
class PgEngineTest : public DbEngineTest {};
INSTANTIATE_TEST_SUITE_P(Engines, PgEngineTest, ::testing::Values(DbEngine::kPostgres),
                         testing::EngineName);

// PostgreSQL aborts a transaction at its first error (SQLite does not): the
// commit then fails instead of keeping what came before (store/pg_db.h).
TEST_P(PgEngineTest, ACommitAfterAFailedStatementFails) {
  Result<Db::Tx> tx = db_->BeginWrite();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(db_->Exec("INSERT INTO users (handle, admin, created_at) VALUES ('x', 0, 't')").ok());
  EXPECT_EQ(db_->Exec("INSERT INTO users (handle, admin, created_at) VALUES ('x', 0, 't')").code(),
            Code::kConflict);
  EXPECT_FALSE(tx->Commit().ok());
  EXPECT_EQ(CountUsers(*db_), 0);
}

// A connection the server cut (a restart, a failover) is remade at the next
// transaction, with its statements prepared anew; a transaction it was in
// fails as a whole instead of going on outside it.
TEST_P(PgEngineTest, ALostConnectionIsRemadeOutsideATransaction) {
  Db admin = Another();
  auto cut = [&] {
    Result<Stmt> pid = db_->Prepare("SELECT pg_backend_pid()");
    ASSERT_TRUE(pid.ok() && *pid->Step());
    Result<Stmt> kill = admin.Prepare("SELECT pg_terminate_backend(?)");
    ASSERT_TRUE(kill.ok());
    kill->Bind(1, pid->Int(0));
    ASSERT_TRUE(*kill->Step());
  };
  EXPECT_EQ(CountUsers(*db_), 0);  // prepared on the first connection
  cut();
  {
    Result<Db::Tx> tx = db_->BeginWrite();  // BEGIN finds it lost and retries
    ASSERT_TRUE(tx.ok()) << tx.status().message();
    ASSERT_TRUE(
        db_->Exec("INSERT INTO users (handle, admin, created_at) VALUES ('x', 0, 't')").ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  EXPECT_EQ(CountUsers(*db_), 1);  // prepared again on the new one

  Result<Db::Tx> tx = db_->BeginWrite();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(db_->Exec("INSERT INTO users (handle, admin, created_at) VALUES ('y', 0, 't')").ok());
  cut();
  EXPECT_FALSE(
      db_->Exec("INSERT INTO users (handle, admin, created_at) VALUES ('z', 0, 't')").ok());
  Result<Stmt> q = db_->Prepare("SELECT COUNT(*) FROM users");  // not outside the transaction
  EXPECT_FALSE(q.ok());
  EXPECT_FALSE(tx->Commit().ok());
  EXPECT_EQ(CountUsers(*db_), 1);  // 'y' went with the transaction
}

// Two connections (two nodes, as far as the database can tell) append to the
// audit log at once, each append read-the-head-then-write: the write lock
// serializes them, so the chain has one row per append and no fork.
TEST_P(DbEngineTest, TwoConnectionsAppendingAtOnceKeepOneChain) {
  std::shared_ptr<const AuditKey> shared = RegisterNewAuditSigner();
  ASSERT_TRUE(shared);
  constexpr int kEach = 25;
  std::atomic<int> failures{0};
  std::vector<Db> dbs;
  dbs.push_back(Another());
  dbs.push_back(Another());
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; t++)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; i++) {
        Result<Db::Tx> tx = dbs[t].BeginWrite();
        AuditRecord r;
        r.actor = "node" + std::to_string(t);
        r.action = "test.append";
        r.detail = std::to_string(i);
        Status st = tx.ok() ? AppendAudit(dbs[t], r) : tx.status();
        if (st.ok()) st = tx->Commit();
        if (!st.ok()) {
          ADD_FAILURE() << st.message();  // without the write lock: "Key (seq)=(2) already exists"
          failures++;
        }
      }
    });
  for (auto& th : threads) th.join();
  UnregisterAuditSigner(db_->source());
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*AuditRecords(*db_).Count(), 2 * kEach);
  Result<AuditVerdict> verdict = VerifyAuditLog(*db_, shared->public_key());
  ASSERT_TRUE(verdict.ok()) << verdict.status().message();
  EXPECT_TRUE(verdict->ok());
  EXPECT_EQ(verdict->rows_checked, 2 * kEach);
}

// Connections starting on an empty database at once: one creates the
// schema, the others wait for it and find it made.
TEST_P(PgEngineTest, ManyStartingAtOnceMigrateOnce) {
  Result<std::unique_ptr<testing::PgTestSchema>> fresh = testing::PgTestSchema::Make();
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  std::string url = (*fresh)->url();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++)
    threads.emplace_back([&] {
      Result<Db> db = Db::Connect(url, DbRole::kServer);
      if (!db.ok()) {
        ADD_FAILURE() << db.status().message();
        failures++;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  Result<Db> again = Db::Connect(url, DbRole::kServer);  // and once more, later
  ASSERT_TRUE(again.ok()) << again.status().message();
  Result<Stmt> q = again->Prepare("SELECT version FROM converge_schema WHERE role = 'server'");
  ASSERT_TRUE(q.ok() && *q->Step());
  EXPECT_EQ(q->Int(0), SchemaVersion(DbRole::kServer));
  EXPECT_FALSE(*q->Step());
}

}  // namespace
}  // namespace converge
