// What converge sets on each PostgreSQL connection (store/pg_db.h,
// PgConnectParams): TCP keepalives on both ends, a connect timeout, an
// application name and a timeout that ends a session left idle inside a
// transaction (a stuck node must not hold the write lock every node queues
// behind). A URL's own settings win over each. The cases on a real cluster
// need CONVERGE_TEST_PG (scripts/test.sh sets it).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "server/db_pool.h"
#include "store/db.h"
#include "store/pg_db.h"
#include "support/server_db.h"

namespace converge {
namespace {

std::map<std::string, std::string> ParamsOf(const std::string& url) {
  Result<std::vector<std::pair<std::string, std::string>>> params = PgConnectParams(url);
  EXPECT_TRUE(params.ok()) << params.status().message();
  std::map<std::string, std::string> out;
  if (params.ok())
    for (const auto& [k, v] : *params) out[k] = v;
  return out;
}

TEST(PgConnectParams, DefaultsFillWhatTheUrlLeavesOut) {
  auto p = ParamsOf("postgresql://u@/db?host=/run/postgresql");
  EXPECT_EQ(p["host"], "/run/postgresql");
  EXPECT_EQ(p["dbname"], "db");
  EXPECT_EQ(p["user"], "u");
  EXPECT_EQ(p["keepalives"], "1");
  EXPECT_EQ(p["keepalives_idle"], std::to_string(kPgKeepaliveIdle));
  EXPECT_EQ(p["keepalives_interval"], std::to_string(kPgKeepaliveInterval));
  EXPECT_EQ(p["keepalives_count"], std::to_string(kPgKeepaliveCount));
  EXPECT_EQ(p["connect_timeout"], std::to_string(kPgConnectTimeout));
  EXPECT_EQ(p["application_name"], kPgApplicationName);
  EXPECT_EQ(p["options"],
            std::string("-c idle_in_transaction_session_timeout=") + kPgIdleInTransactionTimeout +
                " -c tcp_keepalives_idle=" + std::to_string(kPgKeepaliveIdle) +
                " -c tcp_keepalives_interval=" + std::to_string(kPgKeepaliveInterval) +
                " -c tcp_keepalives_count=" + std::to_string(kPgKeepaliveCount));
}

TEST(PgConnectParams, TheUrlsOwnSettingsWin) {
  auto p = ParamsOf(
      "postgresql://u@db.example/c?keepalives_idle=7&keepalives=0&connect_timeout=3&"
      "application_name=mine&options=-c%20idle_in_transaction_session_timeout%3D5s%20"
      "--tcp-keepalives-count%3D9%20-csearch_path%3Dx");
  EXPECT_EQ(p["keepalives_idle"], "7");
  EXPECT_EQ(p["keepalives"], "0");
  EXPECT_EQ(p["connect_timeout"], "3");
  EXPECT_EQ(p["application_name"], "mine");
  EXPECT_EQ(p["keepalives_interval"], std::to_string(kPgKeepaliveInterval));  // not given: ours
  const std::string& o = p["options"];
  EXPECT_EQ(o.rfind("-c idle_in_transaction_session_timeout=5s --tcp-keepalives-count=9 "
                    "-csearch_path=x",
                    0),
            0u)
      << o;  // kept first, as given
  EXPECT_EQ(
      o.find("idle_in_transaction_session_timeout=" + std::string(kPgIdleInTransactionTimeout)),
      std::string::npos)
      << o;
  EXPECT_EQ(o.find("tcp_keepalives_count"), std::string::npos) << o;
  EXPECT_NE(o.find("-c tcp_keepalives_idle="), std::string::npos) << o;  // not given: ours

  // The key=value form too.
  auto kv = ParamsOf("host=/s dbname=d keepalives_count=11 password=hunter2");
  EXPECT_EQ(kv["keepalives_count"], "11");
  EXPECT_EQ(kv["password"], "hunter2");  // handed to libpq, never shown
  EXPECT_EQ(kv["keepalives"], "1");
}

TEST(PgConnectParams, AnUnparsableUrlIsInvalidAndKeepsItsPassword) {
  Result<std::vector<std::pair<std::string, std::string>>> p =
      PgConnectParams("postgresql://u:s3cret@h/db?nosuchparam=1");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kInvalid);
  EXPECT_EQ(p.status().message().find("s3cret"), std::string::npos) << p.status().message();
  EXPECT_NE(p.status().message().find("nosuchparam"), std::string::npos) << p.status().message();
}

// On a real cluster: what the session runs with.
class PgSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::TestPgUrl().empty()) GTEST_SKIP() << testing::kNoTestPg;
    Result<std::unique_ptr<testing::PgTestSchema>> schema = testing::PgTestSchema::Make();
    ASSERT_TRUE(schema.ok()) << schema.status().message();
    schema_ = std::move(*schema);
  }
  // The schema's URL with `opts` (already URL-encoded) in front of its own options.
  std::string UrlWithOptions(const std::string& opts) {
    std::string url = schema_->url();
    size_t at = url.find("options=");
    EXPECT_NE(at, std::string::npos);
    return url.insert(at + 8, opts + "%20");
  }
  static std::string Setting(Db& db, const std::string& name) {
    Result<Stmt> q = db.Prepare("SELECT current_setting(?)");
    EXPECT_TRUE(q.ok()) << q.status().message();
    if (!q.ok()) return "";
    q->Bind(1, name);
    Result<bool> row = q->Step();
    EXPECT_TRUE(row.ok() && *row);
    return row.ok() && *row ? q->Text(0) : "";
  }
  std::unique_ptr<testing::PgTestSchema> schema_;
};

TEST_F(PgSessionTest, ANodesSessionHasTheTimeoutAndTheUrlsOptionsStill) {
  Result<Db> db = Db::Connect(schema_->url(), DbRole::kServer);
  ASSERT_TRUE(db.ok()) << db.status().message();
  EXPECT_EQ(Setting(*db, "idle_in_transaction_session_timeout"), "1min");
  EXPECT_EQ(Setting(*db, "application_name"), kPgApplicationName);
  EXPECT_EQ(Setting(*db, "search_path"), schema_->name());  // the URL's own options kept

  Result<Db> own = Db::Connect(
      UrlWithOptions("-cidle_in_transaction_session_timeout%3D5s") + "&application_name=mine",
      DbRole::kServer);
  ASSERT_TRUE(own.ok()) << own.status().message();
  EXPECT_EQ(Setting(*own, "idle_in_transaction_session_timeout"), "5s");
  EXPECT_EQ(Setting(*own, "application_name"), "mine");
  EXPECT_EQ(Setting(*own, "search_path"), schema_->name());
}

// A check (serve --fsck, --verify-audit) holds one snapshot while it hashes
// every object: its session has no such timeout.
TEST_F(PgSessionTest, ACheckConnectionHasNoIdleTimeout) {
  { ASSERT_TRUE(Db::Connect(schema_->url(), DbRole::kServer).ok()); }  // the schema
  ServerDb where;
  where.postgres_url = schema_->url();
  Result<Db> check = where.OpenForCheck();
  ASSERT_TRUE(check.ok()) << check.status().message();
  EXPECT_EQ(Setting(*check, "idle_in_transaction_session_timeout"), "0");
}

// The mechanism: a node that stops in the middle of a write transaction
// (here: never sends its next statement) loses its session once it has been
// idle past the timeout, and the write lock with it, so another node's write
// goes through instead of waiting behind it forever. A 1 s timeout from the
// URL stands in for the default minute.
TEST_F(PgSessionTest, AWriteTransactionLeftIdleGivesUpTheWriteLock) {
  std::string url = UrlWithOptions("-cidle_in_transaction_session_timeout%3D1s");
  Result<Db> stuck = Db::Connect(url, DbRole::kServer);
  Result<Db> other = Db::Connect(schema_->url(), DbRole::kServer);
  ASSERT_TRUE(stuck.ok() && other.ok());
  Result<Db::Tx> held = stuck->BeginWrite();
  ASSERT_TRUE(held.ok()) << held.status().message();
  // Blocks on the advisory lock until PostgreSQL ends the stuck session.
  Result<Db::Tx> mine = other->BeginWrite();
  ASSERT_TRUE(mine.ok()) << mine.status().message();
  ASSERT_TRUE(
      other->Exec("INSERT INTO users (handle, admin, created_at) VALUES ('w', 0, 't')").ok());
  EXPECT_TRUE(mine->Commit().ok());
  EXPECT_FALSE(held->Commit().ok());  // its transaction was rolled back with the session
  // And the stuck connection is made again at its next use outside one.
  EXPECT_EQ(Setting(*stuck, "idle_in_transaction_session_timeout"), "1s");
}

}  // namespace
}  // namespace converge
