// The compact ID tables that replace node-based sets on the paths that see
// every object of a large tree: IdSet (store/id_set.h) and the write batch's
// lookups through its pack writer's table of positions (PackWriter::Find,
// WriteBatch::Contains and SizeOf), across the tables' growth.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "store/cas.h"
#include "store/id_set.h"
#include "store/pack_writer.h"
#include "support/process.h"

namespace converge {
namespace {

using testing::TempDir;

ObjectId Nth(int i) { return ObjectId::Of("object " + std::to_string(i)); }

TEST(IdSetTest, InsertsOnceAndFindsEveryIdAcrossGrowth) {
  IdSet set;
  const int n = 5000;  // past the first table (1024 slots) several times
  for (int i = 0; i < n; i++) EXPECT_TRUE(set.Insert(Nth(i))) << i;
  for (int i = 0; i < n; i++) EXPECT_FALSE(set.Insert(Nth(i))) << i;
  EXPECT_EQ(set.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; i++) EXPECT_TRUE(set.Contains(Nth(i))) << i;
  for (int i = n; i < 2 * n; i++) EXPECT_FALSE(set.Contains(Nth(i))) << i;
}

TEST(IdSetTest, TheZeroIdIsAnIdLikeAnyOther) {
  IdSet set;
  EXPECT_FALSE(set.Contains(ObjectId()));
  EXPECT_TRUE(set.Insert(ObjectId()));
  EXPECT_FALSE(set.Insert(ObjectId()));
  EXPECT_TRUE(set.Contains(ObjectId()));
  EXPECT_FALSE(set.Contains(Nth(1)));
  EXPECT_EQ(set.size(), 1u);
}

TEST(PackWriterFindTest, FindsEveryAppendedEntryAcrossGrowth) {
  TempDir dir;
  fs::create_directories(dir.path() / "tmp");
  fs::create_directories(dir.path() / "packs");
  PackWriter w(dir.path(), kDefaultMaxPackBytes);
  const int n = 3000;
  for (int i = 0; i < n; i++) {
    std::string bytes = "object " + std::to_string(i);
    ASSERT_TRUE(w.Append(Nth(i), static_cast<uint8_t>(ObjectKind::kBlob), Codec::kRaw,
                         bytes.size(), bytes)
                    .ok());
  }
  for (int i = 0; i < n; i++) {
    const PackEntry* e = w.Find(Nth(i));
    ASSERT_NE(e, nullptr) << i;
    EXPECT_EQ(e->id, Nth(i));
    EXPECT_EQ(e->raw, ("object " + std::to_string(i)).size());
  }
  EXPECT_EQ(w.Find(Nth(n)), nullptr);
}

TEST(WriteBatchIndexTest, KnowsWhatItHoldsAndAddsEachIdOnceFromManyThreads) {
  TempDir dir;
  Result<ObjectStore> store = ObjectStore::Open(dir.path() / "store");
  ASSERT_TRUE(store.ok());
  WriteBatch batch(*store);
  EXPECT_FALSE(batch.Contains(Nth(0)));
  EXPECT_FALSE(batch.SizeOf(Nth(0)));
  const int n = 2000;
  // Every thread adds every object: each must be added once, whoever wins.
  std::vector<std::thread> threads;
  std::atomic<int> added{0};
  for (int t = 0; t < 4; t++)
    threads.emplace_back([&] {
      for (int i = 0; i < n; i++) {
        std::string bytes = "object " + std::to_string(i);
        Result<bool> r = batch.PutHashed(Nth(i), bytes, ObjectKind::kBlob);
        if (r.ok() && *r) added++;
      }
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(added.load(), n);
  EXPECT_EQ(batch.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; i++) {
    EXPECT_TRUE(batch.Contains(Nth(i))) << i;
    ASSERT_TRUE(batch.SizeOf(Nth(i))) << i;
    EXPECT_EQ(*batch.SizeOf(Nth(i)), ("object " + std::to_string(i)).size());
  }
  ASSERT_TRUE(batch.Commit().ok());
  EXPECT_EQ(batch.size(), 0u);
  EXPECT_FALSE(batch.Contains(Nth(0)));
  for (int i = 0; i < n; i++) ASSERT_TRUE(store->Has(Nth(i))) << i;
  size_t stored = 0;
  ASSERT_TRUE(store->ForEach([&](const ObjectId&) {
                     stored++;
                     return Status::Ok();
                   }).ok());
  EXPECT_EQ(stored, static_cast<size_t>(n));  // none twice
}

}  // namespace
}  // namespace converge
