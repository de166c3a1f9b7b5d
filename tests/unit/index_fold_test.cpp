// Folding pack indexes (store/index_fold.h): which indexes the geometric
// policy picks; a fold keeps every object readable from the same packs
// (rewriting only indexes), an object stored twice once, a quarantined copy
// out; it waits for nobody (another repack's lock: nothing done). And
// lookups after an index's pages were released (PackSet::ReleasePages).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/cas.h"
#include "store/fsck.h"
#include "store/index_fold.h"
#include "store/pack_dir.h"
#include "store/pack_set.h"
#include "support/process.h"
#include "support/store_helpers.h"
#include "support/tree_helpers.h"

namespace converge {
namespace {

using testing::TempDir;

TEST(IndexFoldPolicy, KeepsEachIndexAtLeastTwiceAllSmallerOnes) {
  using V = std::vector<size_t>;
  EXPECT_EQ(IndexesToFold({}), V{});
  EXPECT_EQ(IndexesToFold({100}), V{});
  EXPECT_EQ(IndexesToFold({100, 100}), (V{0, 1}));
  EXPECT_EQ(IndexesToFold({1000, 10, 10}), (V{1, 2})) << "the large one stays";
  EXPECT_EQ(IndexesToFold({10, 1000, 10}), (V{0, 2})) << "by size, not position";
  EXPECT_EQ(IndexesToFold({100, 60, 10}), (V{0, 1, 2}));
  EXPECT_EQ(IndexesToFold({1000, 300, 100, 40}), V{}) << "already geometric";
  EXPECT_EQ(IndexesToFold({1000, 10}), V{}) << "one small index alone is not folded";
}

// `batches` committed batches of `per` objects each, one index each.
struct BatchedStore {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  std::vector<std::string> objects;

  BatchedStore(int batches, int per) {
    for (int b = 0; b < batches; b++) {
      WriteBatch batch(store);
      for (int j = 0; j < per; j++) {
        objects.push_back("batch " + std::to_string(b) + " object " + std::to_string(j) + " " +
                          testing::PseudoRandomBytes(500, b * 100 + j));
        EXPECT_TRUE(batch.Put(objects.back()).ok());
      }
      EXPECT_TRUE(batch.Commit().ok());
    }
  }
  size_t Count(const std::string& suffix) const {
    return testing::CountPackFiles(dir.path(), suffix);
  }
  void ExpectEveryObject(const ObjectStore& s) const { testing::ExpectEveryObject(s, objects); }
  void ExpectFsckClean() {
    FsckReport report;
    ASSERT_TRUE(TakeCensus(store, report).ok());
    for (const FsckProblem& p : report.problems) ADD_FAILURE() << p.subject << ": " << p.problem;
  }
};

TEST(IndexFold, FoldsIndexesIntoOneNamingTheSamePacks) {
  BatchedStore s(6, 20);
  ASSERT_EQ(s.Count(".idx"), 6u);
  ObjectStore reader = *ObjectStore::Open(s.dir.path());  // opened before: keeps reading
  ASSERT_TRUE(reader.Verify(ObjectId::Of(s.objects[0])).ok());
  Result<FoldStats> f = FoldIndexes(s.store);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->indexes_folded, 6u);
  EXPECT_EQ(f->entries, 120u);
  EXPECT_EQ(s.Count(".idx"), 1u);
  EXPECT_EQ(s.Count(".pack"), 6u) << "packs are not rewritten";
  EXPECT_TRUE(fs::is_empty(s.dir.path() / "tmp"));
  s.ExpectEveryObject(s.store);
  s.ExpectEveryObject(reader);
  s.ExpectEveryObject(*ObjectStore::Open(s.dir.path()));
  s.ExpectFsckClean();

  Result<FoldStats> again = FoldIndexes(s.store, 0);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->indexes_folded, 0u) << "one index: nothing to do";
}

// The fold releases the pages of the indexes it reads every 16,384 entries
// (a mapped page counts in the process's RSS): entries past a release are
// read from the page cache again, all of them carried over.
TEST(IndexFold, AFoldPastItsPageReleasesCarriesEveryEntry) {
  BatchedStore s(5, 4000);
  Result<FoldStats> f = FoldIndexes(s.store, 0);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->entries, 20000u);
  EXPECT_EQ(s.Count(".idx"), 1u);
  s.ExpectEveryObject(*ObjectStore::Open(s.dir.path()));
  s.ExpectFsckClean();
}

TEST(IndexFold, FewIndexesAreLeftAlone) {
  BatchedStore s(4, 5);
  Result<FoldStats> f = FoldIndexes(s.store);  // at most 4 by default
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->indexes_folded, 0u);
  EXPECT_EQ(s.Count(".idx"), 4u);
  f = FoldIndexes(s.store, 0);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->indexes_folded, 4u);
  s.ExpectEveryObject(s.store);
}

// A second writer that had not seen the first's indexes stores `objects`:
// its pack and index, made in a store of its own, copied into `s`'s, their
// times set to `written` when given.
void StoreElsewhere(BatchedStore& s, const std::vector<std::string>& objects,
                    std::optional<fs::file_time_type> written = std::nullopt) {
  TempDir other;
  {
    ObjectStore o = *ObjectStore::Open(other.path());
    WriteBatch batch(o);
    for (const std::string& object : objects) ASSERT_TRUE(batch.Put(object).ok());
    ASSERT_TRUE(batch.Commit().ok());
  }
  for (const auto& e : fs::directory_iterator(other.path() / "packs")) {
    if (e.path().extension() != ".pack" && e.path().extension() != ".idx") continue;
    fs::path to = s.dir.path() / "packs" / e.path().filename();
    fs::copy(e.path(), to);
    if (written) fs::last_write_time(to, *written);
  }
  ASSERT_TRUE(s.store.packs().Refresh().ok());
}

// Damages `copy`'s bytes in its pack as rot would: the pack's time stays.
void Rot(const BatchedStore& s, const PackSet::Copy& copy) {
  fs::path pack = s.dir.path() / "packs" / copy.index->packs()[copy.entry.pack];
  auto written = fs::last_write_time(pack);
  ::chmod(pack.c_str(), 0644);
  {
    std::fstream f(pack, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(copy.entry.offset + kPackEntryHeaderBytes + 3));
    f.put('!');
  }
  fs::last_write_time(pack, written);
}

TEST(IndexFold, AnObjectStoredTwiceKeepsItsNewestCopy) {
  BatchedStore s(2, 5);
  std::string twice = s.objects[1];
  s.objects.push_back("one more");
  StoreElsewhere(s, {twice, "one more"});
  ObjectId id = ObjectId::Of(twice);
  ASSERT_EQ(s.store.packs().Find(id).size(), 2u);
  // The older copy is damaged (the newer upload healed it): the fold keeps
  // the newest.
  Rot(s, s.store.packs().Find(id).back());
  Result<FoldStats> f = FoldIndexes(s.store, 0);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->entries, 11u);
  ASSERT_EQ(s.store.packs().Find(id).size(), 1u);
  EXPECT_TRUE(s.store.Verify(id).ok());
  s.ExpectEveryObject(s.store);
}

// The copies' age is their packs', not their indexes': an index an earlier
// fold wrote is newer than every copy it holds.
TEST(IndexFold, TheNewestCopyIsTheOneInTheNewestPackWhateverItsIndex) {
  BatchedStore s(2, 2);
  std::string twice = s.objects[1];
  // The first copy's pack was written long ago and its index (a fold's, say)
  // just now; the second copy's pack and index in between.
  auto now = fs::file_time_type::clock::now();
  for (const auto& e : fs::directory_iterator(s.dir.path() / "packs")) {
    if (e.path().extension() == ".pack") fs::last_write_time(e.path(), now - std::chrono::hours(2));
    if (e.path().extension() == ".idx")
      fs::last_write_time(e.path(), now + std::chrono::minutes(1));
  }
  StoreElsewhere(s, {twice}, now - std::chrono::hours(1));
  ObjectId id = ObjectId::Of(twice);
  std::vector<PackSet::Copy> copies = s.store.packs().Find(id);
  ASSERT_EQ(copies.size(), 2u);
  // Damage the old pack's copy, which the newer index holds.
  fs::path old_pack = s.dir.path() / "packs" / copies[0].index->packs()[copies[0].entry.pack];
  ASSERT_LT(fs::last_write_time(old_pack), now - std::chrono::minutes(90)) << "the old pack's copy";
  Rot(s, copies[0]);
  Result<FoldStats> f = FoldIndexes(s.store, 0);
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_EQ(s.store.packs().Find(id).size(), 1u);
  EXPECT_TRUE(s.store.Verify(id).ok()) << "the fold kept the old pack's damaged copy";
  s.ExpectEveryObject(s.store);
}

TEST(IndexFold, AQuarantinedCopyIsNotCarriedOver) {
  BatchedStore s(5, 5);
  ObjectId victim = ObjectId::Of(s.objects[7]);
  testing::DamageObject(s.store, victim, 10);
  ASSERT_TRUE(s.store.SetAsideDamaged(victim, s.dir.path() / "damaged").ok());
  ASSERT_TRUE(fs::exists(s.dir.path() / "packs" / "quarantine"));
  Result<FoldStats> f = FoldIndexes(s.store);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->entries, 24u);
  EXPECT_FALSE(fs::exists(s.dir.path() / "packs" / "quarantine")) << "its index is gone";
  EXPECT_FALSE(s.store.Has(victim));
  EXPECT_FALSE(ObjectStore::Open(s.dir.path())->Has(victim));
}

TEST(IndexFold, AnIndexNamingNoPackStopsItBeforeAnythingIsRemoved) {
  BatchedStore s(3, 4);
  PackEntry bad;
  bad.id = ObjectId::Of("an entry of a damaged index");
  bad.pack = 7;  // its list names one pack
  std::string bytes = EncodePackIndex({"0123456789abcdef-0.pack"}, {bad});
  ASSERT_TRUE(WriteFileAtomic(s.dir.path() / "packs" / "0123456789abcdef.idx", bytes).ok());
  ASSERT_TRUE(s.store.packs().Refresh().ok());
  Result<FoldStats> f = FoldIndexes(s.store, 0);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kCorrupt);
  EXPECT_NE(f.status().message().find("converge fsck"), std::string::npos) << f.status().message();
  EXPECT_EQ(s.Count(".idx"), 4u) << "nothing removed";
  EXPECT_TRUE(fs::is_empty(s.dir.path() / "tmp"));
  s.ExpectEveryObject(s.store);
}

TEST(IndexFold, DoesNothingWhileARepackHoldsTheLock) {
  BatchedStore s(6, 3);
  Result<Fd> lock = TakeRepackLock(s.dir.path());
  ASSERT_TRUE(lock.ok());
  Result<FoldStats> f = FoldIndexes(s.store);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->indexes_folded, 0u);
  EXPECT_EQ(s.Count(".idx"), 6u);
}

// A writer adopts the index it just committed; another process may have
// folded it away by then (the load test's 32 publishers met this): the
// writer finds its objects in the folded index instead of failing.
TEST(IndexFold, AWriterWhoseIndexWasFoldedAwayStillCommits) {
  BatchedStore s(5, 4);
  ObjectStore other = *ObjectStore::Open(s.dir.path());  // another process's view
  std::string last;
  for (const auto& e : fs::directory_iterator(s.dir.path() / "packs"))
    if (e.path().extension() == ".idx") last = e.path().filename().string();
  ASSERT_TRUE(FoldIndexes(other, 0).ok());
  ASSERT_FALSE(fs::exists(s.dir.path() / "packs" / last));
  Status adopted = s.store.packs().Adopt(last);
  EXPECT_TRUE(adopted.ok()) << adopted.message();
  s.ExpectEveryObject(s.store);
}

// Writers that each commit and fold, at once, each through a store of its
// own (as separate processes would): every commit and fold succeeds, each
// writer reads back what it wrote at once, and nothing is lost.
TEST(IndexFold, ConcurrentWritersAndFoldsLoseNothing) {
  TempDir dir;
  ASSERT_TRUE(ObjectStore::Open(dir.path()).ok());
  constexpr int kWriters = 4, kBatches = 12, kPerBatch = 8;
  std::vector<std::vector<std::string>> made(kWriters);
  std::mutex mu;
  std::vector<std::string> errors;
  auto fail = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    errors.push_back(what);
  };
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; t++)
    writers.emplace_back([&, t] {
      ObjectStore store = *ObjectStore::Open(dir.path());
      for (int b = 0; b < kBatches; b++) {
        WriteBatch batch(store);
        for (int j = 0; j < kPerBatch; j++) {
          made[t].push_back("writer " + std::to_string(t) + " batch " + std::to_string(b) +
                            " object " + std::to_string(j));
          if (!batch.Put(made[t].back()).ok()) fail("put");
        }
        if (Status st = batch.Commit(); !st.ok()) fail("commit: " + st.message());
        if (Result<FoldStats> f = FoldIndexes(store, 1); !f.ok())
          fail("fold: " + f.status().message());
        for (const std::string& o : made[t])
          if (!store.Read(ObjectId::Of(o)).ok()) fail("read back: " + o);
      }
    });
  for (std::thread& w : writers) w.join();
  for (const std::string& e : errors) ADD_FAILURE() << e;
  ObjectStore after = *ObjectStore::Open(dir.path());
  for (const auto& list : made)
    for (const std::string& o : list) EXPECT_TRUE(after.Read(ObjectId::Of(o)).ok()) << o;
  FsckReport report;
  ASSERT_TRUE(TakeCensus(after, report).ok());
  for (const FsckProblem& p : report.problems)
    EXPECT_TRUE(p.warning) << p.subject << ": " << p.problem;
}

TEST(PackIndexPages, LookupsAndReadsWorkAfterThePagesAreReleased) {
  BatchedStore s(3, 20);
  s.ExpectEveryObject(s.store);
  s.store.packs().ReleasePages(/*keep_up_to=*/0);
  s.ExpectEveryObject(s.store);
  for (const std::string& o : s.objects) EXPECT_TRUE(s.store.Has(ObjectId::Of(o)));
}

}  // namespace
}  // namespace converge
