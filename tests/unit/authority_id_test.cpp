// The authority's ID (server/authority_id.h) on both engines: the database
// gets one at its first start (a database from before IDs: its oldest audit
// row's hash, as a backup of it would), the data dir records it, and a data
// dir and a database of two authorities are refused together, naming both.
#include <gtest/gtest.h>

#include "server/authority_id.h"
#include "store/cas.h"
#include "store/object_records.h"
#include "store/records/audit.h"
#include "store/records/authority.h"
#include "support/server_db.h"

namespace converge {
namespace {

class AuthorityIdTest : public testing::ServerDbTest {
 protected:
  void SetUp() override {
    ServerDbTest::SetUp();
    if (NotSetUp()) return;
    data_ = dir_ / "data";
    fs::create_directories(data_);
    Result<ObjectStore> store = ObjectStore::Open(data_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_.emplace(std::move(*store));
  }
  Result<std::string> Bind() { return BindAuthority(data_, *store_, *db_, "the test database"); }
  std::string FileId() {
    std::string s = testing::ReadFileOrDie(AuthorityIdPath(data_));
    return s.substr(0, s.find('\n'));
  }
  fs::path data_;
  std::optional<ObjectStore> store_;
};
CONVERGE_ON_BOTH_ENGINES(AuthorityIdTest);

TEST_P(AuthorityIdTest, TheFirstStartGivesBothOneIdAndLaterStartsAgree) {
  if (NotSetUp()) return;
  EXPECT_FALSE(*AuthorityRecords(*db_).Id());  // made at the first start, not by the schema
  Result<std::string> id = Bind();
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(id->size(), 32u);
  EXPECT_EQ(*AuthorityRecords(*db_).Id(), *id);
  EXPECT_EQ(FileId(), *id);
  Result<std::string> again = Bind();
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, *id);
  EXPECT_TRUE(CheckSameAuthority(data_, *db_, "x").ok());
  // The database's ID never changes.
  EXPECT_FALSE(db_->Exec("UPDATE authority SET authority_id = 'ab'").ok());
  EXPECT_EQ(*AuthorityRecords(*db_).Id(), *id);
}

TEST_P(AuthorityIdTest, ADatabaseFromBeforeIdsTakesItsOldestAuditRowsHash) {
  if (NotSetUp()) return;
  for (int64_t seq = 1; seq <= 3; seq++) {
    AuditRow r;
    r.seq = seq;
    r.at = "t";
    r.facts.actor = "server";
    r.facts.action = "x";
    r.prev_hash = std::string(64, '0');
    r.hash = std::string(63, 'c') + std::to_string(seq);
    ASSERT_TRUE(AuditRecords(*db_).Insert(r).ok());
  }
  Result<std::string> id = Bind();
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(*id, std::string(63, 'c') + "1");
  EXPECT_EQ(FileId(), *id);
}

TEST_P(AuthorityIdTest, ADataDirOfAnotherAuthorityIsRefusedNamingBoth) {
  if (NotSetUp()) return;
  std::string other = std::string(32, 'e');
  testing::WriteFile(AuthorityIdPath(data_), other + "\n");
  Result<std::string> id = Bind();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), Code::kConflict);
  std::string db_id = **AuthorityRecords(*db_).Id();
  const std::string& m = id.status().message();
  EXPECT_NE(m.find(other), std::string::npos) << m;
  EXPECT_NE(m.find(db_id), std::string::npos) << m;
  EXPECT_NE(m.find(data_.string()), std::string::npos) << m;
  EXPECT_NE(m.find("the test database"), std::string::npos) << m;
  EXPECT_NE(m.find("restore the other from the same backup"), std::string::npos) << m;
  EXPECT_EQ(FileId(), other) << "the data dir's record is never overwritten";
  EXPECT_EQ(CheckSameAuthority(data_, *db_, "x").code(), Code::kConflict);

  testing::WriteFile(AuthorityIdPath(data_), "not an id\n");
  EXPECT_EQ(Bind().status().code(), Code::kCorrupt);
}

TEST_P(AuthorityIdTest, AnEmptyDataDirGivenADatabaseThatRecordsObjectsIsRefused) {
  if (NotSetUp()) return;
  {
    ASSERT_TRUE(db_->Exec("INSERT INTO users (id, handle, admin, created_at) VALUES "
                          "(1, 'u', 1, 't')")
                    .ok());
    ASSERT_TRUE(
        db_->Exec("INSERT INTO repos (id, name, created_at, created_by) VALUES (1, 'r', 't', 1)")
            .ok());
    Result<Db::Tx> tx = db_->BeginWrite();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(
        ObjectRecords(*db_).Link(1, {{ObjectKind::kBlob, ObjectId::Of("a"), {1, 1, 0}}}).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  Result<std::string> id = Bind();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), Code::kConflict);
  EXPECT_NE(id.status().message().find("holds no object"), std::string::npos)
      << id.status().message();
  EXPECT_FALSE(fs::exists(AuthorityIdPath(data_)));

  // With the object there, it is this database's data dir after all.
  ASSERT_TRUE(store_->Put("a").ok());
  EXPECT_TRUE(Bind().ok());
}

}  // namespace
}  // namespace converge
