// The walks over tables that grow without bound (the fsck's object and
// publication walks, the audit verification's walk) read them a page at a
// time by keyset (store/pg_db.h: PostgreSQL hands over a statement's whole
// result, so one statement over millions of rows would be held whole): on
// both engines, every row comes once, in key order, across page edges
// (a page boundary between two kinds of one ID included, and a last page
// that is exactly full), and a walk stops at the first error it is given.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server/audit.h"
#include "server/audit_verify.h"
#include "store/object_records.h"
#include "store/publication_records.h"
#include "store/records/audit.h"
#include "support/fake_server.h"
#include "support/server_db.h"

namespace converge {
namespace {

class RecordWalksTest : public testing::ServerDbTest {
 protected:
  void SetUp() override {
    ServerDbTest::SetUp();
    if (NotSetUp()) return;
    ASSERT_TRUE(
        db_->Exec("INSERT INTO users (id, handle, admin, created_at) VALUES (7, 'u', 1, 't'), "
                  "(666, 'mallory', 0, 't')")
            .ok());
    ASSERT_TRUE(db_->Exec("INSERT INTO repos (id, name, created_at, created_by) VALUES "
                          "(1, 'web', 't', 7), (2, 'api', 't', 7)")
                    .ok());
  }
};
CONVERGE_ON_BOTH_ENGINES(RecordWalksTest);

TEST_P(RecordWalksTest, ObjectsComeOnceEachInKeyOrderAcrossPages) {
  if (NotSetUp()) return;
  // 20 IDs; every third is also stored as a manifest (one ID, two rows,
  // which a page edge falls between for some page sizes). Repo 1 holds them
  // all, repo 2 only the first five blobs.
  std::vector<NewObject> all, some;
  std::set<std::pair<std::string, std::string>> want;  // (id, kind)
  for (int i = 0; i < 20; i++) {
    ObjectId id = ObjectId::Of("object " + std::to_string(i));
    all.push_back({ObjectKind::kBlob, id, {10, 10, 0}});
    want.insert({id.hex(), "blob"});
    if (i % 3 == 0) {
      all.push_back({ObjectKind::kManifest, id, {10, 0, 1}});
      want.insert({id.hex(), "manifest"});
    }
    if (i < 5) some.push_back({ObjectKind::kBlob, id, {10, 10, 0}});
  }
  {
    Result<Db::Tx> tx = db_->BeginWrite();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(ObjectRecords(*db_).Link(1, all).ok());
    ASSERT_TRUE(ObjectRecords(*db_).Link(2, some).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  ASSERT_EQ(want.size(), 27u);
  for (int64_t page :
       {int64_t{1}, int64_t{2}, int64_t{4}, int64_t{9}, int64_t{27}, int64_t{1000}}) {
    std::vector<std::pair<std::string, std::string>> seen;
    ASSERT_TRUE(ObjectRecords(*db_, page)
                    .ForEachObject([&](const ObjectRow& r) {
                      EXPECT_TRUE(r.id && r.kind && r.sizes);
                      seen.push_back({r.id_text, r.kind_text});
                      return Status::Ok();
                    })
                    .ok());
    EXPECT_EQ(seen, std::vector(want.begin(), want.end())) << "page of " << page;

    std::vector<std::pair<std::string, std::string>> held;  // (kind, id)
    ASSERT_TRUE(ObjectRecords(*db_, page)
                    .ForEachHeld(1,
                                 [&](const ObjectRow& r) {
                                   held.push_back({r.kind_text, r.id_text});
                                   return Status::Ok();
                                 })
                    .ok());
    std::set<std::pair<std::string, std::string>> by_kind;
    for (const auto& [id, kind] : want) by_kind.insert({kind, id});
    EXPECT_EQ(held, std::vector(by_kind.begin(), by_kind.end())) << "page of " << page;

    size_t in_two = 0;
    ASSERT_TRUE(ObjectRecords(*db_, page)
                    .ForEachHeld(2,
                                 [&](const ObjectRow&) {
                                   in_two++;
                                   return Status::Ok();
                                 })
                    .ok());
    EXPECT_EQ(in_two, 5u) << "page of " << page;
  }
  // A walk stops at the first error, on a page edge or inside a page.
  for (int stop_at : {4, 6}) {
    int calls = 0;
    Status st = ObjectRecords(*db_, 4).ForEachObject(
        [&](const ObjectRow&) { return ++calls == stop_at ? Internal("stop") : Status::Ok(); });
    EXPECT_EQ(st.message(), "stop");
    EXPECT_EQ(calls, stop_at);
  }
}

TEST_P(RecordWalksTest, PublicationsComeOldestFirstAcrossPages) {
  if (NotSetUp()) return;
  PublicationRecords records(*db_);
  std::vector<std::string> ids;
  for (int i = 0; i < 10; i++) {
    Publication p = testing::FakeServer::MakePublication(ObjectId::Of("snap"));
    p.id = ObjectId::Of("publication " + std::to_string(i)).hex();
    ASSERT_TRUE(records.Insert(i % 2 ? 2 : 1, p).ok());
    ids.push_back(p.id);
  }
  for (int64_t page : {int64_t{1}, int64_t{3}, int64_t{5}, int64_t{10}, int64_t{1000}}) {
    std::vector<std::string> seen;
    int64_t last_seq = 0;
    ASSERT_TRUE(PublicationRecords(*db_, page)
                    .ForEach([&](int64_t repo_id, const PublicationRow& row) {
                      EXPECT_GT(row.seq, last_seq);
                      last_seq = row.seq;
                      EXPECT_EQ(repo_id, seen.size() % 2 ? 2 : 1);
                      seen.push_back(row.publication.id);
                      return Status::Ok();
                    })
                    .ok());
    EXPECT_EQ(seen, ids) << "page of " << page;
  }
}

TEST_P(RecordWalksTest, AuditRowsComeNewestFirstFromTheGivenSeqAcrossPages) {
  if (NotSetUp()) return;
  AuditRecords audit(*db_);
  for (int64_t seq = 1; seq <= 23; seq++) {
    AuditRow r;
    r.seq = seq;
    r.at = "2026-01-01T00:00:00Z";
    r.facts.actor = "alice";
    r.facts.action = "test.row";
    r.prev_hash = std::string(64, '0');
    r.hash = std::string(64, 'a');
    ASSERT_TRUE(audit.Insert(r).ok());
  }
  for (int64_t page : {int64_t{1}, int64_t{4}, int64_t{5}, int64_t{20}, int64_t{1000}}) {
    std::vector<int64_t> seen;
    ASSERT_TRUE(AuditRecords(*db_, page)
                    .ForEachNewestFirst(20,
                                        [&](const AuditRow& r) {
                                          seen.push_back(r.seq);
                                          return Status::Ok();
                                        })
                    .ok());
    ASSERT_EQ(seen.size(), 20u) << "page of " << page;
    for (size_t i = 0; i < seen.size(); i++) EXPECT_EQ(seen[i], 20 - static_cast<int64_t>(i));
  }
  int calls = 0;
  Status st = AuditRecords(*db_, 5).ForEachNewestFirst(
      23, [&](const AuditRow&) { return ++calls == 5 ? Internal("stop") : Status::Ok(); });
  EXPECT_EQ(st.message(), "stop");
  EXPECT_EQ(calls, 5);
}

// The services walk with the default page: a chain longer than one page
// verifies whole (every row checked, one chain, the signed head matched).
TEST_P(RecordWalksTest, AChainLongerThanOnePageVerifies) {
  if (NotSetUp()) return;
  std::shared_ptr<const AuditKey> key = RegisterNewAuditSigner();
  ASSERT_TRUE(key);
  const int64_t rows = AuditRecords::kPageRows + 37;
  {
    Result<Db::Tx> tx = db_->BeginWrite();
    ASSERT_TRUE(tx.ok());
    for (int64_t i = 0; i < rows; i++) {
      AuditRecord r;
      r.actor = "server";
      r.action = "test.append";
      r.detail = std::to_string(i);
      ASSERT_TRUE(AppendAudit(*db_, r).ok());
    }
    ASSERT_TRUE(tx->Commit().ok());
  }
  Result<AuditVerdict> v = VerifyAuditLog(*db_, key->public_key());
  UnregisterAuditSigner(db_->source());
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->ok()) << (v->problems.empty() ? "" : v->problems.front().message);
  EXPECT_EQ(v->rows_checked, rows);
}

}  // namespace
}  // namespace converge
