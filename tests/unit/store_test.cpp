// The CAS, the database layer and the snap index (prefix resolution itself:
// records_test.cpp; the stat cache: stat_cache_test.cpp).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "store/cas.h"
#include "store/db.h"
#include "workspace/snap_index.h"
#include "workspace/workspace_state.h"
#include "support/process.h"

namespace converge {
namespace {

using testing::TempDir;

TEST(Cas, PutReadVerify) {
  TempDir dir;
  auto store = ObjectStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  auto id = store->Put("hello\n");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->hex(), "93becc6e9882211c3ec3708c95bcd69baab7bb59c7f4bc84ce637b88a534b783");
  EXPECT_TRUE(store->Has(*id));
  EXPECT_EQ(store->PathOf(*id), dir.path() / "objects" / "93" / id->hex());
  auto back = store->Read(*id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "hello\n");
  EXPECT_TRUE(store->Put("hello\n").ok());  // idempotent
  EXPECT_TRUE(fs::is_empty(dir.path() / "tmp"));
}

TEST(Cas, FlippedByteIsCorrupt) {
  TempDir dir;
  auto store = ObjectStore::Open(dir.path());
  auto id = store->Put("some content");
  ASSERT_TRUE(id.ok());
  fs::path p = store->PathOf(*id);
  ::chmod(p.c_str(), 0644);
  {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3);
    f.put('X');
  }
  auto back = store->Read(*id);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), Code::kCorrupt);
  EXPECT_NE(back.status().message().find(id->hex()), std::string::npos);
  EXPECT_EQ(store->Verify(*id).code(), Code::kCorrupt);
}

TEST(Cas, PutExpectedRejectsMismatch) {
  TempDir dir;
  auto store = ObjectStore::Open(dir.path());
  ObjectId wrong = ObjectId::Of("other");
  EXPECT_EQ(store->PutExpected(wrong, "content").code(), Code::kCorrupt);
  EXPECT_FALSE(store->Has(wrong));
  EXPECT_FALSE(store->Has(ObjectId::Of("content")));
}

TEST(Cas, WriterMismatchKeepsNothing) {
  TempDir dir;
  auto store = ObjectStore::Open(dir.path());
  auto w = store->NewWriter();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->Append("abc").ok());
  EXPECT_EQ(w->Finish(ObjectId::Of("abd")).status().code(), Code::kCorrupt);
  EXPECT_TRUE(fs::is_empty(dir.path() / "tmp"));
}

TEST(Cas, DroppedWriterRemovesTemp) {
  TempDir dir;
  auto store = ObjectStore::Open(dir.path());
  {
    auto w = store->NewWriter();
    ASSERT_TRUE(w->Append("abc").ok());
  }
  EXPECT_TRUE(fs::is_empty(dir.path() / "tmp"));
}

TEST(Cas, BatchIsInvisibleUntilCommit) {
  TempDir dir;
  auto store = ObjectStore::Open(dir.path());
  ObjectId a, b;
  {
    WriteBatch batch(*store);
    a = *batch.Put("one");
    b = *batch.Put("two");
    EXPECT_TRUE(batch.Contains(a));
    EXPECT_FALSE(store->Has(a));
    ASSERT_TRUE(batch.Commit().ok());
  }
  EXPECT_TRUE(store->Has(a));
  EXPECT_TRUE(store->Has(b));
  {
    WriteBatch dropped(*store);
    ASSERT_TRUE(dropped.Put("three").ok());
  }
  EXPECT_FALSE(store->Has(ObjectId::Of("three")));
  EXPECT_TRUE(fs::is_empty(dir.path() / "tmp"));
  int count = 0;
  ASSERT_TRUE(store
                  ->ForEach([&](const ObjectId&) {
                    count++;
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(count, 2);
}

TEST(Db, MigratesAndRefusesNewerSchema) {
  TempDir dir;
  fs::path path = dir.path() / "x.db";
  {
    auto db = Db::Open(path, DbRole::kWorkspace);
    ASSERT_TRUE(db.ok()) << db.status().message();
    ASSERT_TRUE(db->Exec("PRAGMA user_version=999").ok());
  }
  auto again = Db::Open(path, DbRole::kWorkspace);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("newer"), std::string::npos);
}

TEST(Db, TransactionRollsBackWhenDropped) {
  TempDir dir;
  auto db = Db::Open(dir.path() / "x.db", DbRole::kWorkspace);
  ASSERT_TRUE(db.ok());
  {
    auto tx = db->BeginWrite();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db->Exec("INSERT INTO state (key, value) VALUES ('k', 'v')").ok());
  }
  auto q = db->Prepare("SELECT count(*) FROM state");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*q->Step());
  EXPECT_EQ(q->Int(0), 0);
}

TEST(SnapIndex, ResolveListHead) {
  TempDir dir;
  auto db = Db::Open(dir.path() / "x.db", DbRole::kWorkspace);
  SnapIndex index(*db);
  Snap s;
  s.root = ObjectId::Of("root");
  s.created_at = "2026-01-01T00:00:00Z";
  s.workspace_id = "w";
  std::vector<ObjectId> ids;
  for (int i = 0; i < 3; i++) {
    s.message = "m" + std::to_string(i);
    ids.push_back(ObjectId::Of(EncodeSnap(s)));
    ASSERT_TRUE(index.Add(ids.back(), s, "local").ok());
  }
  ASSERT_TRUE(index.Add(ids[0], s, "local").ok());  // idempotent
  auto list = index.List(false);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].id, ids[2]);  // newest first
  EXPECT_EQ(*index.Resolve(ids[1].hex().substr(0, 8)), ids[1]);
  EXPECT_EQ(*index.Resolve(ids[1].hex()), ids[1]);
  EXPECT_EQ(index.Resolve("0000").status().code(), Code::kNotFound);
  EXPECT_FALSE(index.Head()->has_value());
  ASSERT_TRUE(index.SetHead(ids[1]).ok());
  EXPECT_EQ(**index.Head(), ids[1]);
}

// The head SnapIndex keeps is the "head" key of the one state table, so
// `converge fsck` (which reads it raw) and SnapIndex agree on where it is.
TEST(WorkspaceState, HeadIsTheStateTablesHeadKey) {
  TempDir dir;
  auto db = Db::Open(dir.path() / "x.db", DbRole::kWorkspace);
  WorkspaceState state(*db);
  EXPECT_FALSE(state.Get(WorkspaceState::kHead)->has_value());
  ObjectId id = ObjectId::Of("a snap");
  ASSERT_TRUE(SnapIndex(*db).SetHead(id).ok());
  EXPECT_EQ(**state.Get(WorkspaceState::kHead), id.hex());
  ASSERT_TRUE(state.Set("lanes u r", "x").ok());
  ASSERT_TRUE(state.Set("lanes u r", "y").ok());  // replaces
  EXPECT_EQ(**state.Get("lanes u r"), "y");
  ASSERT_TRUE(state.Set(WorkspaceState::kHead, "not hex").ok());
  EXPECT_EQ(**state.Get(WorkspaceState::kHead), "not hex");  // raw, for fsck to judge
  EXPECT_FALSE(SnapIndex(*db).Head()->has_value());
}

}  // namespace
}  // namespace converge
