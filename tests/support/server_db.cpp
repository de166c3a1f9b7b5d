#include "support/server_db.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "base/random.h"
#include "store/pg_db.h"

namespace converge::testing {

std::string TestPgUrl() {
  const char* url = std::getenv("CONVERGE_TEST_PG");
  return url ? url : "";
}

std::string EngineName(const ::testing::TestParamInfo<DbEngine>& info) {
  return info.param == DbEngine::kSqlite ? "sqlite" : "postgres";
}

std::shared_ptr<const AuditKey> ServerDbTest::RegisterNewAuditSigner() {
  bool created = false;
  Result<AuditKey> key = AuditKey::LoadOrCreate(dir_.path(), &created);
  if (!key.ok()) {
    ADD_FAILURE() << key.status().message();
    return nullptr;
  }
  auto shared = std::make_shared<const AuditKey>(std::move(*key));
  RegisterAuditSigner(db_->source(), shared);
  return shared;
}

Result<std::unique_ptr<PgTestSchema>> PgTestSchema::Make() {
  static std::atomic<int> counter{0};
  std::string base = TestPgUrl();
  std::string name =
      "t" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" + RandomHex(4);
  ASSIGN_OR_RETURN(std::unique_ptr<PgConn> admin, PgConn::Connect(base));
  RETURN_IF_ERROR(admin->Exec("CREATE SCHEMA " + name));
  std::string url =
      base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + name;
  return std::unique_ptr<PgTestSchema>(new PgTestSchema(name, url));
}

PgTestSchema::~PgTestSchema() {
  Result<std::unique_ptr<PgConn>> admin = PgConn::Connect(TestPgUrl());
  if (admin.ok()) (void)(*admin)->Exec("DROP SCHEMA " + name_ + " CASCADE");
}

}  // namespace converge::testing
