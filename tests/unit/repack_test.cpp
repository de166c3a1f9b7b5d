// Repack (store/repack.h): loose objects and small packs folded into one
// pack, every object still readable (also by a reader that opened the store
// before), damage stopping it before anything is removed, quarantined copies
// dropped, large packs kept.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/cas.h"
#include "store/fsck.h"
#include "store/pack_set.h"
#include "store/repack.h"
#include "support/process.h"
#include "support/store_helpers.h"
#include "support/tree_helpers.h"

namespace converge {
namespace {

using testing::TempDir;

// Three committed batches and five loose objects.
struct MixedStore {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  std::vector<std::string> objects;

  MixedStore() {
    for (int b = 0; b < 3; b++) {
      WriteBatch batch(store);
      for (int j = 0; j < 10; j++) {
        objects.push_back("batch " + std::to_string(b) + " object " + std::to_string(j) + " " +
                          (j % 2 ? testing::PseudoRandomBytes(3000, b * 10 + j)
                                 : std::string(3000, static_cast<char>('a' + j))));
        EXPECT_TRUE(batch.Put(objects.back()).ok());
      }
      EXPECT_TRUE(batch.Commit().ok());
    }
    for (int j = 0; j < 5; j++) {
      objects.push_back("loose object " + std::to_string(j));
      EXPECT_TRUE(store.Put(objects.back()).ok());
    }
  }
  size_t Count(const std::string& suffix) const {
    return testing::CountPackFiles(dir.path(), suffix);
  }
  void ExpectEveryObject(const ObjectStore& s) const { testing::ExpectEveryObject(s, objects); }
  bool FsckClean() {
    FsckReport report;
    EXPECT_TRUE(TakeCensus(store, report).ok());
    return report.problems.empty();
  }
};

TEST(Repack, FoldsLooseObjectsAndSmallPacksIntoOne) {
  MixedStore m;
  ASSERT_EQ(m.Count(".idx"), 3u);
  Result<RepackStats> s = Repack(m.store);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->objects, 35u);
  EXPECT_EQ(s->loose_folded, 5u);
  EXPECT_EQ(s->indexes_folded, 3u);
  EXPECT_EQ(s->packs_removed, 3u);
  EXPECT_EQ(m.Count(".idx"), 1u);
  EXPECT_EQ(m.Count(".pack"), 1u);
  EXPECT_EQ(testing::CountFilesUnder(m.dir.path() / "objects"), 0u);
  EXPECT_TRUE(fs::is_empty(m.dir.path() / "tmp"));
  m.ExpectEveryObject(m.store);
  m.ExpectEveryObject(*ObjectStore::Open(m.dir.path()));
  EXPECT_TRUE(m.FsckClean());

  Result<RepackStats> again = Repack(m.store);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->objects, 0u) << "one pack and nothing loose: nothing to do";
  EXPECT_EQ(m.Count(".idx"), 1u);
}

TEST(Repack, AReaderThatOpenedTheStoreBeforeKeepsReading) {
  MixedStore m;
  ObjectStore reader = *ObjectStore::Open(m.dir.path());
  // One pack opened (its file stays open), the others not yet.
  ASSERT_TRUE(reader.Verify(ObjectId::Of(m.objects[0])).ok());
  ObjectStore other = *ObjectStore::Open(m.dir.path());
  ASSERT_TRUE(Repack(other).ok());
  m.ExpectEveryObject(reader);
}

TEST(Repack, AnObjectWithNoIntactCopyStopsItBeforeAnythingIsRemoved) {
  MixedStore m;
  ObjectId victim = ObjectId::Of(m.objects[12]);
  testing::DamageObject(m.store, victim, 10);
  Result<RepackStats> s = Repack(m.store);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kCorrupt);
  EXPECT_NE(s.status().message().find(victim.hex()), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("converge fsck"), std::string::npos);
  EXPECT_EQ(m.Count(".idx"), 3u);
  EXPECT_EQ(testing::CountFilesUnder(m.dir.path() / "objects"), 5u);
  EXPECT_TRUE(fs::is_empty(m.dir.path() / "tmp"));

  // Set aside (as fsck --fix does), the damaged copy is left behind for good.
  ASSERT_TRUE(m.store.SetAsideDamaged(victim, m.dir.path() / "damaged").ok());
  ASSERT_TRUE(fs::exists(m.dir.path() / "packs" / "quarantine"));
  s = Repack(m.store);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->objects, 34u);
  EXPECT_FALSE(fs::exists(m.dir.path() / "packs" / "quarantine")) << "its index is gone";
  EXPECT_FALSE(m.store.Has(victim));
  EXPECT_TRUE(m.FsckClean());
}

TEST(Repack, LargePacksAreKept) {
  MixedStore m;
  RepackOptions options;
  options.keep_packs_from = 1;  // every pack counts as large
  Result<RepackStats> s = Repack(m.store, options);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->packs_kept, 3u);
  EXPECT_EQ(s->objects, 5u) << "only the loose objects";
  EXPECT_EQ(m.Count(".idx"), 4u);
  m.ExpectEveryObject(m.store);
}

}  // namespace
}  // namespace converge
