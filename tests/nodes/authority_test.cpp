// What keeps the nodes of one authority, and only them, on one data dir
// and one database (docs/server.md, "Running several nodes"): a node given
// the shared data dir but another database, or a new data dir but the
// authority's database, is refused naming both (server/authority_id.h);
// `serve --fsck --repair` is refused while nodes run, through DATA/lock on
// the host it shares with them and through the database's node lock where
// DATA/lock does not reach (another host: here, a copy of the data dir),
// and a node does not start while a repair holds it (server/node_lock.h).
#include <gtest/gtest.h>

#include "fixture.h"
#include "server/node_lock.h"
#include "store/db_copy.h"
#include "store/records/authority.h"

namespace converge::testing {
namespace {

// `serve` on `data` and `url` that is expected to refuse to start.
RunResult RefusedStart(const fs::path& data, const std::string& url) {
  return ConvergeRefused(
      {"serve", "--listen", "127.0.0.1:0", "--data-dir", data.string(), "--db", url});
}

std::string DatabaseId(const std::string& url) {
  Result<Db> db = Db::ConnectExisting(url);
  EXPECT_TRUE(db.ok()) << db.status().message();
  if (!db.ok()) return "";
  Result<std::optional<std::string>> id = AuthorityRecords(*db).Id();
  EXPECT_TRUE(id.ok() && id->has_value());
  return id.ok() && id->has_value() ? **id : "";
}

std::string TrimmedFile(const fs::path& p) {
  std::string s = ReadFileOrDie(p);
  return s.substr(0, s.find('\n'));
}

TEST_F(TwoNodesTest, ANodeGivenTheDataDirButAnotherDatabaseIsRefusedNamingBoth) {
  StartBoth();
  std::string ours = TrimmedFile(data_ / "authority-id");
  EXPECT_EQ(DatabaseId(schema_->url()), ours);

  Result<std::unique_ptr<PgTestSchema>> other = PgTestSchema::Make();
  ASSERT_TRUE(other.ok()) << other.status().message();
  RunResult r = RefusedStart(data_, (*other)->url());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("belong to different authorities"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(ours), std::string::npos) << r.err;
  std::string theirs = DatabaseId((*other)->url());
  EXPECT_FALSE(theirs.empty());
  EXPECT_NE(theirs, ours);
  EXPECT_NE(r.err.find(theirs), std::string::npos) << r.err;
  // Refused before it wrote anything there: no admin of its own.
  Result<Db> db = Db::ConnectExisting((*other)->url());
  ASSERT_TRUE(db.ok());
  Result<int64_t> users = CountRows(*db, "users");
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(*users, 0);
  // So do the checks: another authority's database is not this data dir's.
  RunResult fsck =
      Converge({"serve", "--fsck", "--data-dir", data_.string(), "--db", (*other)->url()});
  EXPECT_EQ(fsck.exit_code, 1) << fsck.out << fsck.err;
  EXPECT_NE(fsck.err.find("belong to different authorities"), std::string::npos) << fsck.err;

  // And a new, empty data dir given the authority's database, once it
  // records objects, is refused too.
  ASSERT_TRUE(Db::ConnectExisting(schema_->url())
                  ->Exec("INSERT INTO objects (id, kind, size, content_size, depth) VALUES "
                         "(decode('" + std::string(64, 'a') + "', 'hex'), 1, 1, 1, 0)")
                  .ok());
  TempDir elsewhere;
  RunResult empty = RefusedStart(elsewhere.path() / "data", schema_->url());
  EXPECT_EQ(empty.exit_code, 1) << empty.out << empty.err;
  EXPECT_NE(empty.err.find("holds no object"), std::string::npos) << empty.err;

  EXPECT_EQ(Api(a_->port(), admin_token_).Get("/v1/whoami").status, 200);
  EXPECT_EQ(Api(b_->port(), admin_token_).Get("/v1/whoami").status, 200);
}

TEST_F(TwoNodesTest, ARepairIsRefusedWhileNodesRunAndANodeWhileARepairRuns) {
  StartBoth();
  std::vector<std::string> repair = {"serve",        "--fsck", "--repair",    "--data-dir",
                                     data_.string(), "--db",   schema_->url()};
  // On the nodes' host: DATA/lock is held shared by them.
  RunResult here = Converge(repair);
  EXPECT_EQ(here.exit_code, 1) << here.out << here.err;
  EXPECT_NE(here.err.find("nodes on PostgreSQL (--db) are running on it"), std::string::npos)
      << here.err;
  EXPECT_NE(here.err.find("stop every one of them first"), std::string::npos) << here.err;
  EXPECT_NE(here.err.find("--repair' needs the data dir to itself"), std::string::npos) << here.err;

  // From a host whose mount of the data dir does not carry their flock
  // (here: a copy, whose lock no node holds): the database refuses.
  TempDir other_host;
  fs::path copy = other_host.path() / "data";
  fs::copy(data_, copy, fs::copy_options::recursive);
  RunResult there = Converge(
      {"serve", "--fsck", "--repair", "--data-dir", copy.string(), "--db", schema_->url()});
  EXPECT_EQ(there.exit_code, 1) << there.out << there.err;
  EXPECT_NE(there.err.find("2 converge serve nodes are running on database"), std::string::npos)
      << there.err;
  EXPECT_NE(there.err.find("stop every node of this authority first"), std::string::npos)
      << there.err;

  // A check without --repair runs beside them.
  ExpectDataDirClean("beside the running nodes");

  // With a repair holding the node lock (this test, as the repair would),
  // a node does not start, and starts once it is let go.
  ASSERT_EQ(a_->Stop(), 0);
  ASSERT_EQ(b_->Stop(), 0);
  {
    Result<std::unique_ptr<NodeLock>> held = NodeLock::ForRepair(
        schema_->url(), TrimmedFile(data_ / "authority-id"), "the test database");
    ASSERT_TRUE(held.ok()) << held.status().message();
    RunResult blocked = RefusedStart(data_, schema_->url());
    EXPECT_EQ(blocked.exit_code, 1) << blocked.out << blocked.err;
    EXPECT_NE(blocked.err.find("a repair ('converge serve --fsck --repair') is running"),
              std::string::npos)
        << blocked.err;
  }
  // With every node stopped, the repair runs (and finds nothing to do).
  RunResult alone = Converge(repair);
  EXPECT_EQ(alone.exit_code, 0) << alone.out << alone.err;
  a_->Start();
  EXPECT_EQ(Api(a_->port(), admin_token_).Get("/v1/whoami").status, 200);
}

}  // namespace
}  // namespace converge::testing
