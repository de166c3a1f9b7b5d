// `converge serve --import-sqlite OLD --db URL` (issue 13): a single-node
// data dir's users, tokens, repos, publications and audit log move into an
// empty PostgreSQL database; a node started on the old data dir with --db
// then serves them all (the old tokens log in, a fetch restores the old
// publication), and both audit checks accept the one chain. The import
// refuses a non-empty target, a data dir a server holds, and a source whose
// audit chain was tampered with, copying nothing.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store/db_copy.h"
#include "support/nodes.h"
#include "support/people.h"
#include "support/server.h"
#include "support/server_db.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

class ImportSqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (TestPgUrl().empty()) GTEST_SKIP() << kNoTestPg;
    Result<std::unique_ptr<PgTestSchema>> schema = PgTestSchema::Make();
    ASSERT_TRUE(schema.ok()) << schema.status().message();
    schema_ = std::move(*schema);
  }

  RunResult Import(const fs::path& dir) {
    return Converge({"serve", "--import-sqlite", dir.string(), "--db", schema_->url()});
  }

  // Its users the admin and carol, then stopped: a data dir to import.
  static void AddCarolAndStop(ServerProcess& old) {
    Person admin{"admin", old.admin_token(), "http://127.0.0.1:" + std::to_string(old.port())};
    admin.Login();
    ASSERT_EQ(admin.Run({"user", "create", "carol"}).exit_code, 0);
    ASSERT_EQ(old.Stop(), 0);
  }

  std::unique_ptr<PgTestSchema> schema_;
};

TEST_F(ImportSqliteTest, ANodeOnTheImportedDatabaseServesEverythingTheOldServerHeld) {
  ServerProcess old;
  std::string url = "http://127.0.0.1:" + std::to_string(old.port());
  Person admin{"admin", old.admin_token(), url};
  admin.Login();
  Person alice{"alice", admin.Json({"user", "create", "alice"}).value("token", ""), url};
  alice.Login();
  ASSERT_EQ(admin.Run({"repo", "create", "web", "--admin", "alice"}).exit_code, 0);
  fs::path ws = alice.home->path() / "ws";
  WriteFile(ws / "README", "hello from before the move\n");
  WriteFile(ws / "src/main.c", "int main() { return 0; }\n");
  ASSERT_EQ(alice.Run({"init", ws.string()}).exit_code, 0);
  ASSERT_EQ(alice.Run({"remote", "set", "--url", url, "--repo", "web"}, ws).exit_code, 0);
  ASSERT_EQ(alice.Run({"snap", "-m", "first"}, ws).exit_code, 0);
  json pub = alice.Json({"publish", "-m", "before the move"}, ws);
  ASSERT_TRUE(pub.is_object());
  std::string id = pub["publication"].value("id", "");

  RunResult busy = Import(old.data_dir());
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_NE(busy.err.find("another converge serve is using"), std::string::npos) << busy.err;

  ASSERT_EQ(old.Stop(), 0);
  RunResult done = Import(old.data_dir());
  ASSERT_EQ(done.exit_code, 0) << done.err;
  EXPECT_NE(done.err.find("verifies on both sides"), std::string::npos) << done.err;

  RunResult again = Import(old.data_dir());
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("is not empty"), std::string::npos) << again.err;

  TempDir logs;
  ServerNode node({old.data_dir(), {"--db", schema_->url()}, {}, logs / "node.log"});
  node.Start();
  alice.url = node.url();
  alice.Login();  // the token issued by the SQLite server
  TempDir other;
  fs::path ws2 = other.path() / "ws2";
  ASSERT_EQ(alice.Run({"init", ws2.string()}).exit_code, 0);
  ASSERT_EQ(alice.Run({"remote", "set", "--url", node.url(), "--repo", "web"}, ws2).exit_code, 0);
  RunResult fetch = alice.Run({"fetch"}, ws2);
  ASSERT_EQ(fetch.exit_code, 0) << fetch.err;
  fs::path copy = other.path() / "copy";
  RunResult restore = alice.Run({"restore", id, "--to", copy.string()}, ws2);
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(ReadFileOrDie(copy / "README"), "hello from before the move\n");

  // New rows continue the imported chain and the identity sequences.
  ASSERT_EQ(alice.Run({"snap", "-m", "second"}, ws).exit_code, 0);
  ASSERT_EQ(alice.Run({"remote", "set", "--url", node.url(), "--repo", "web"}, ws).exit_code, 0);
  RunResult second = alice.Run({"publish", "-m", "after the move"}, ws);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  admin.url = node.url();
  admin.Login();
  EXPECT_EQ(admin.Run({"user", "create", "bob"}).exit_code, 0);
  RunResult verify = admin.Run({"audit", "--verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  RunResult offline = Converge(
      {"serve", "--verify-audit", "--data-dir", old.data_dir().string(), "--db", schema_->url()});
  EXPECT_EQ(offline.exit_code, 0) << offline.out << offline.err;
  RunResult fsck =
      Converge({"serve", "--fsck", "--data-dir", old.data_dir().string(), "--db", schema_->url()});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;

  // The old converge.db knows nothing of what came since the move: a gc
  // without --db beside the node refuses; with it, it keeps everything.
  RunOptions no_db;
  no_db.env["CONVERGE_DB"] = "";
  RunResult stale = Converge({"gc", "--data-dir", old.data_dir().string()}, no_db);
  EXPECT_EQ(stale.exit_code, 1) << stale.out << stale.err;
  EXPECT_NE(stale.err.find("pass the --db its nodes use"), std::string::npos) << stale.err;
  RunResult gc = Converge({"gc", "--data-dir", old.data_dir().string(), "--db", schema_->url(),
                           "--grace", "0", "--json"});
  EXPECT_NE(gc.exit_code, 0) << "a grace of 0 beside a running node: " << gc.out;
  gc = Converge({"gc", "--data-dir", old.data_dir().string(), "--db", schema_->url(), "--json"});
  ASSERT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  RunResult after =
      Converge({"serve", "--fsck", "--data-dir", old.data_dir().string(), "--db", schema_->url()});
  EXPECT_EQ(after.exit_code, 0) << after.out << after.err;

  // With every node stopped, nothing takes the old converge.db for the
  // metadata again: not a server, a gc or a check (each would act on the
  // authority as it was before the move; a gc would remove what came since).
  ASSERT_EQ(node.Stop(), 0);
  std::string dir = old.data_dir().string();
  no_db.timeout_seconds = 60;  // a server that does start would serve until stopped
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"serve", "--listen", "127.0.0.1:0", "--data-dir", dir},
           {"gc", "--data-dir", dir},
           {"serve", "--fsck", "--data-dir", dir},
           {"serve", "--fsck", "--repair", "--data-dir", dir}}) {
    RunResult r = Converge(args, no_db);
    EXPECT_NE(r.exit_code, 0) << args[1] << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("moved to PostgreSQL by 'converge serve --import-sqlite'"),
              std::string::npos)
        << r.err;
  }
  // The way back to SQLite (losing what the nodes recorded) is removing the marker.
  fs::remove(old.data_dir() / "metadata-moved");
  RunResult back = Converge({"serve", "--fsck", "--data-dir", dir}, no_db);
  EXPECT_EQ(back.err.find("moved to PostgreSQL"), std::string::npos) << back.err;
}

TEST_F(ImportSqliteTest, ATamperedAuditChainIsRefusedAndNothingIsCopied) {
  ServerProcess old;
  ASSERT_NO_FATAL_FAILURE(AddCarolAndStop(old));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((old.data_dir() / "converge.db").c_str(), &db), SQLITE_OK);
  // What someone with the file could do: the append-only triggers go first.
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TRIGGER audit_no_update; UPDATE audit SET target = 'mallory' "
                         "WHERE action = 'user.create' AND target = 'carol'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  RunResult r = Import(old.data_dir());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("does not verify"), std::string::npos) << r.err;
  // The target stays empty: a later import of a good source is not refused.
  Result<Db> target = Db::Connect(schema_->url(), DbRole::kServer);
  ASSERT_TRUE(target.ok()) << target.status().message();
  Result<int64_t> users = CountRows(*target, "users");
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(*users, 0);
  // Nor is the old data dir marked as moved: its server still starts.
  EXPECT_FALSE(fs::exists(old.data_dir() / "metadata-moved"));
}

// The import marks the data dir just before it commits: a crash between the
// two leaves the mark over an empty target, and the import runs again.
TEST_F(ImportSqliteTest, AnImportCutShortBeforeItsCommitRunsAgain) {
  ServerProcess old;
  ASSERT_NO_FATAL_FAILURE(AddCarolAndStop(old));
  WriteFile(old.data_dir() / "metadata-moved", "what a crash before the commit leaves\n");

  RunResult r = Import(old.data_dir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Result<Db> target = Db::Connect(schema_->url(), DbRole::kServer);
  ASSERT_TRUE(target.ok()) << target.status().message();
  Result<int64_t> users = CountRows(*target, "users");
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(*users, 2);  // the admin and carol
  EXPECT_TRUE(fs::exists(old.data_dir() / "metadata-moved"));
}

TEST_F(ImportSqliteTest, ANodeRefusesADataDirWhoseSqliteDatabaseWasNotImported) {
  ServerProcess old;
  ASSERT_EQ(old.Stop(), 0);
  RunResult r = ConvergeRefused({"serve", "--listen", "127.0.0.1:0", "--data-dir",
                                 old.data_dir().string(), "--db", schema_->url()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--import-sqlite"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace converge::testing
