// A fixture for unit tests of the server's records classes (store/records/):
// a fresh server database of each engine, through the server schema. The
// test's parameter is the engine: SQLite (a file in a fresh temp dir) or
// PostgreSQL (a fresh schema on the cluster CONVERGE_TEST_PG names, which
// scripts/test.sh starts; the PostgreSQL cases skip, saying so, when it is
// unset). Instantiate a suite with CONVERGE_ON_BOTH_ENGINES(Suite).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "server/audit_key.h"
#include "store/db.h"
#include "support/process.h"

namespace converge::testing {

// The PostgreSQL test cluster's URL (CONVERGE_TEST_PG), or "" when unset.
std::string TestPgUrl();

// The message a PostgreSQL test skips with when CONVERGE_TEST_PG is unset.
inline constexpr const char* kNoTestPg =
    "CONVERGE_TEST_PG is not set: PostgreSQL tests run under scripts/test.sh, which starts a "
    "cluster (or: scripts/pg-cluster.sh start DIR, then export CONVERGE_TEST_PG=<its URL>)";

// A fresh, empty schema on the test cluster, dropped (CASCADE) when this is
// destroyed; url() connects with it first on the search_path, so a server
// schema migrated through it lands there, apart from every other test's.
class PgTestSchema {
 public:
  // Needs TestPgUrl() non-empty (a URI with or without a query).
  static Result<std::unique_ptr<PgTestSchema>> Make();
  ~PgTestSchema();
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

 private:
  PgTestSchema(std::string name, std::string url) : name_(std::move(name)), url_(std::move(url)) {}
  std::string name_, url_;
};

// "sqlite" / "postgres", for test names.
std::string EngineName(const ::testing::TestParamInfo<DbEngine>& info);

class ServerDbTest : public ::testing::TestWithParam<DbEngine> {
 protected:
  void SetUp() override {
    if (GetParam() == DbEngine::kSqlite) {
      Result<Db> db = Db::Open(dir_ / "converge.db", DbRole::kServer);
      ASSERT_TRUE(db.ok()) << db.status().message();
      db_.emplace(std::move(*db));
      return;
    }
    if (TestPgUrl().empty()) GTEST_SKIP() << kNoTestPg;
    Result<std::unique_ptr<PgTestSchema>> schema = PgTestSchema::Make();
    ASSERT_TRUE(schema.ok()) << schema.status().message();
    schema_ = std::move(*schema);
    Result<Db> db = Db::Connect(schema_->url(), DbRole::kServer);
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_.emplace(std::move(*db));
  }
  // Makes an audit key in dir_ and registers it as the signer for db_, as
  // `serve` does at start (server/audit.h); null (with a test failure) when
  // it cannot. The test unregisters it (UnregisterAuditSigner(db_->source())).
  std::shared_ptr<const AuditKey> RegisterNewAuditSigner();
  // Whether SetUp skipped or failed: a derived SetUp returns at once then.
  bool NotSetUp() { return IsSkipped() || HasFatalFailure() || !db_; }

  TempDir dir_;
  std::unique_ptr<PgTestSchema> schema_;  // destroyed after db_ closes
  std::optional<Db> db_;
};

}  // namespace converge::testing

#define CONVERGE_ON_BOTH_ENGINES(Suite)                                                  \
  INSTANTIATE_TEST_SUITE_P(                                                              \
      Engines, Suite,                                                                    \
      ::testing::Values(::converge::DbEngine::kSqlite, ::converge::DbEngine::kPostgres), \
      ::converge::testing::EngineName)
