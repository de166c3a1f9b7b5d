// Garbage collection of a store (store/gc.h): old unreferenced objects go,
// live ones and young ones stay (and what a young object names), nothing is
// removed when an index is unreadable or a kept object damaged, a dry run
// changes nothing, a loose file stored anew while a gc runs stays, and a
// file a killed gc caught is put back.
#include <gtest/gtest.h>

#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "store/cas.h"
#include "store/fsck.h"
#include "store/gc.h"
#include "store/pack_set.h"
#include "support/process.h"
#include "support/store_helpers.h"
#include "support/tree_helpers.h"

namespace converge {
namespace {

using testing::TempDir;

constexpr int64_t kHour = 3600;

std::string Lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

std::string GcObject(const std::string& tag, int j) {
  std::string head = tag + " object " + std::to_string(j) + "\n";
  return head +
         (j % 2 ? testing::PseudoRandomBytes(2000 + j, static_cast<uint32_t>(j * 7 + tag.size()))
                : std::string(2000 + j, static_cast<char>('a' + j % 26)));
}

// A store with live objects and garbage in old packs and loose files, and
// young garbage written after them.
struct GcStore {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  std::vector<std::string> live, garbage, young;

  GcStore() {
    for (int b = 0; b < 2; b++) {
      WriteBatch batch(store);
      for (int j = 0; j < 8; j++) {
        std::string o = GcObject("batch " + std::to_string(b), j);
        (j % 4 == 3 ? garbage : live).push_back(o);
        EXPECT_TRUE(batch.Put(o).ok());
      }
      EXPECT_TRUE(batch.Commit().ok());
    }
    for (int j = 0; j < 4; j++) {
      std::string o = "loose " + std::to_string(j);
      (j % 2 ? garbage : live).push_back(o);
      EXPECT_TRUE(store.Put(o).ok());
    }
    testing::BackdateFiles(dir.path() / "packs", 2 * kHour);
    testing::BackdateFiles(dir.path() / "objects", 2 * kHour);
    WriteBatch batch(store);
    for (int j = 0; j < 3; j++) {
      young.push_back(GcObject("young", j));
      EXPECT_TRUE(batch.Put(young.back()).ok());
    }
    EXPECT_TRUE(batch.Commit().ok());
    young.push_back("young loose");
    EXPECT_TRUE(store.Put(young.back()).ok());
  }

  LiveSet Live() const {
    LiveSet s;
    for (const std::string& o : live) s.Add(ObjectId::Of(o));
    s.Seal();
    return s;
  }
  GcOptions Options() const {
    GcOptions o;
    o.cutoff = GcCutoff(kHour);
    return o;
  }
  bool Has(const std::string& o) const { return testing::StoreHas(dir.path(), ObjectId::Of(o)); }
  void ExpectReads(const std::vector<std::string>& objects) const {
    ObjectStore fresh = *ObjectStore::Open(dir.path());
    for (const std::string& o : objects) {
      Result<std::string> back = fresh.Read(ObjectId::Of(o));
      EXPECT_TRUE(back.ok() && *back == o) << (back.ok() ? "wrong bytes" : back.status().message());
    }
  }
  std::vector<std::string> Problems() const {
    FsckReport report;
    ObjectStore fresh = *ObjectStore::Open(dir.path());
    EXPECT_TRUE(TakeCensus(fresh, report).ok());
    std::vector<std::string> out;
    for (const FsckProblem& p : report.problems) out.push_back(p.subject + ": " + p.problem);
    return out;
  }
  std::set<std::string> Files() const {
    std::set<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir.path()))
      if (e.is_regular_file() && e.path().filename() != "repack.lock")
        out.insert(e.path().string());
    return out;
  }
};

TEST(Gc, RemovesOldUnreferencedObjectsAndKeepsLiveAndYoungOnes) {
  GcStore s;
  Result<GcStats> r = CollectGarbage(s.store, s.Live(), s.Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->live, s.live.size());
  EXPECT_EQ(r->removed, s.garbage.size());
  EXPECT_EQ(r->young, s.young.size());
  EXPECT_EQ(r->indexes_rewritten, 2u);
  EXPECT_EQ(r->indexes_young, 1u);
  EXPECT_EQ(r->loose_removed, 2u);
  EXPECT_EQ(r->loose_folded, 2u);
  EXPECT_EQ(r->carried, s.live.size());
  EXPECT_GT(r->removed_bytes, 0u);
  for (const std::string& o : s.garbage) EXPECT_FALSE(s.Has(o)) << o.substr(0, 20);
  s.ExpectReads(s.live);
  s.ExpectReads(s.young);
  s.ExpectReads(s.live);  // and by a store that had them open
  EXPECT_TRUE(s.Problems().empty()) << Lines(s.Problems());

  // Nothing left to do, but the young files stay until they age.
  Result<GcStats> again = CollectGarbage(s.store, s.Live(), s.Options());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->removed, 0u);
  EXPECT_EQ(again->carried, 0u);
  EXPECT_EQ(again->young, s.young.size());
  s.ExpectReads(s.young);
}

TEST(Gc, ADryRunChangesNothingAndCountsTheSame) {
  GcStore s;
  std::set<std::string> before = s.Files();
  GcOptions o = s.Options();
  o.dry_run = true;
  Result<GcStats> dry = CollectGarbage(s.store, s.Live(), o);
  ASSERT_TRUE(dry.ok()) << dry.status().message();
  EXPECT_EQ(s.Files(), before);
  EXPECT_EQ(dry->removed, s.garbage.size());
  EXPECT_EQ(dry->carried, s.live.size());
  EXPECT_EQ(dry->bytes_after, 0u);
  Result<GcStats> real = CollectGarbage(s.store, s.Live(), s.Options());
  ASSERT_TRUE(real.ok()) << real.status().message();
  EXPECT_EQ(real->removed, dry->removed);
  EXPECT_EQ(real->removed_bytes, dry->removed_bytes);
  EXPECT_EQ(real->young, dry->young);
}

TEST(Gc, KeepsWhatAYoungObjectNames) {
  GcStore s;
  // A young manifest (nothing names it yet: a command may be about to
  // record it) naming an old unreferenced blob.
  const std::string& old_blob = s.garbage.front();
  Manifest m;
  Entry e;
  e.name = "kept.bin";
  e.id = ObjectId::Of(old_blob);
  e.size = old_blob.size();
  m.entries.push_back(e);
  ASSERT_TRUE(NormalizeManifest(m).ok());
  WriteBatch batch(s.store);
  ASSERT_TRUE(batch.Put(EncodeManifest(m), ObjectKind::kManifest).ok());
  ASSERT_TRUE(batch.Commit().ok());
  Result<GcStats> r = CollectGarbage(s.store, s.Live(), s.Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(s.Has(old_blob));
  EXPECT_EQ(r->removed, s.garbage.size() - 1);
  s.ExpectReads({old_blob});
}

TEST(Gc, RefusesWhileAnIndexIsUnreadable) {
  GcStore s;
  fs::path idx;
  for (const auto& f : fs::directory_iterator(s.dir.path() / "packs"))
    if (f.path().extension() == ".idx") idx = f.path();
  std::string bytes = testing::ReadFileOrDie(idx);
  bytes[bytes.size() / 2] ^= 1;
  testing::WriteFile(idx, bytes);
  std::set<std::string> before = s.Files();
  Result<GcStats> r = CollectGarbage(s.store, s.Live(), s.Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_NE(r.status().message().find("removes nothing"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(s.Files(), before);
}

TEST(Gc, StopsBeforeRemovingAnythingWhenAKeptObjectIsDamaged) {
  GcStore s;
  testing::DamageEveryCopy(s.dir.path(), ObjectId::Of(s.live[1]), 100);
  std::set<std::string> before = s.Files();
  Result<GcStats> r = CollectGarbage(s.store, s.Live(), s.Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt) << r.status().message();
  EXPECT_NE(r.status().message().find("before removing anything"), std::string::npos)
      << r.status().message();
  for (const std::string& o : s.garbage) EXPECT_TRUE(s.Has(o));
  for (const std::string& f : before) EXPECT_TRUE(fs::exists(f)) << f;
}

// A loose object stored anew (an upload) after the gc listed it as old garbage.
fs::path g_rewrite_root;
ObjectId g_rewrite_id;
std::string g_rewrite_bytes;

void StoreAgainBeforeLooseRemoval(const char* step) {
  if (std::string_view(step) != "gc-packs-removed") return;
  ObjectStore store = *ObjectStore::Open(g_rewrite_root);
  ObjectWriter w = std::move(store.NewWriter().value());
  EXPECT_TRUE(w.Append(g_rewrite_bytes).ok());
  EXPECT_TRUE(w.Finish(g_rewrite_id).ok());
  EXPECT_TRUE(store.Install(std::move(w)).ok());
}

TEST(Gc, ALooseObjectStoredAgainWhileItRunsStays) {
  GcStore s;
  g_rewrite_root = s.dir.path();
  g_rewrite_bytes = "loose 1";  // garbage, old
  g_rewrite_id = ObjectId::Of(g_rewrite_bytes);
  pack_commit_step_hook = StoreAgainBeforeLooseRemoval;
  Result<GcStats> r = CollectGarbage(s.store, s.Live(), s.Options());
  pack_commit_step_hook = nullptr;
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->loose_removed, 1u);  // "loose 3" only
  s.ExpectReads({g_rewrite_bytes});
  EXPECT_TRUE(s.Problems().empty()) << Lines(s.Problems());
}

TEST(Gc, PutsBackAFileAKilledGcCaught) {
  GcStore s;
  ObjectId id = ObjectId::Of(s.live.back());  // "loose 2", live
  fs::path path = s.store.PathOf(id);
  fs::rename(path, path.string() + ".gc");
  EXPECT_FALSE(s.Has(s.live.back()));
  std::vector<std::string> problems = s.Problems();
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems.front().find("killed 'converge gc'"), std::string::npos) << problems.front();
  Result<GcStats> r = CollectGarbage(s.store, s.Live(), s.Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->restored, 1u);
  s.ExpectReads(s.live);
  EXPECT_TRUE(s.Problems().empty()) << Lines(s.Problems());
}

TEST(Gc, DropsDuplicateAndQuarantinedCopies) {
  GcStore s;
  // A second old copy of two live objects, in a pack of their own.
  WriteBatch batch(s.store);
  for (int i = 0; i < 2; i++) {
    ObjectWriter w = std::move(s.store.NewWriter().value());
    ASSERT_TRUE(w.Append(s.live[i]).ok());
    ASSERT_TRUE(w.Finish().ok());
    ASSERT_TRUE(batch.Add(std::move(w)).ok());
  }
  ASSERT_TRUE(batch.Commit().ok());
  testing::BackdateFiles(s.dir.path() / "packs", 2 * kHour);
  Result<GcStats> r = CollectGarbage(s.store, s.Live(), s.Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->duplicates, 2u);
  for (const ObjectId& id : {ObjectId::Of(s.live[0]), ObjectId::Of(s.live[1])})
    EXPECT_EQ(testing::CopyCount(s.dir.path(), id), 1u);
  s.ExpectReads(s.live);
}

// A large old pack with a little garbage is left as it is (rewriting it
// would cost far more than it frees) unless told to rewrite everything.
TEST(Gc, ALargePackWithLittleGarbageIsLeftUnlessAll) {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  std::vector<std::string> objects;
  WriteBatch batch(store);
  for (int j = 0; j < 50; j++) {
    objects.push_back(GcObject("large", j));
    ASSERT_TRUE(batch.Put(objects.back()).ok());
  }
  ASSERT_TRUE(batch.Commit().ok());
  testing::BackdateFiles(dir.path() / "packs", 2 * kHour);
  LiveSet live;
  for (size_t j = 1; j < objects.size(); j++) live.Add(ObjectId::Of(objects[j]));
  live.Seal();
  GcOptions o;
  o.cutoff = GcCutoff(kHour);
  o.keep_packs_from = 1;  // every pack counts as large
  Result<GcStats> r = CollectGarbage(store, live, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->removed, 0u);
  EXPECT_EQ(r->left, 1u);
  EXPECT_GT(r->left_bytes, 0u);
  EXPECT_EQ(r->carried, 0u);
  EXPECT_TRUE(testing::StoreHas(dir.path(), ObjectId::Of(objects[0])));
  o.rewrite_all = true;
  r = CollectGarbage(store, live, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->removed, 1u);
  EXPECT_EQ(r->left, 0u);
  EXPECT_FALSE(testing::StoreHas(dir.path(), ObjectId::Of(objects[0])));
}

TEST(Gc, TheLiveWalkStopsAtAMissingTreeButNotAtAMissingBlob) {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  Manifest m;
  Entry e;
  e.name = "gone.txt";
  e.id = ObjectId::Of("never stored");
  e.size = 12;
  m.entries.push_back(e);
  ObjectId root = *store.Put(EncodeManifest(m));
  LiveSet live;
  LiveWalk walk(store, live);
  EXPECT_TRUE(walk.Add(ObjectKind::kManifest, root, "snap x").ok());
  Status missing = walk.Add(ObjectKind::kManifest, ObjectId::Of("no such manifest"), "snap y");
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_NE(missing.message().find("gc cannot tell what is under it"), std::string::npos)
      << missing.message();
  live.Seal();
  EXPECT_TRUE(live.Contains(root));
  EXPECT_TRUE(live.Contains(e.id));
}

TEST(Gc, GracePeriods) {
  EXPECT_EQ(*ParseGrace("0"), 0);
  EXPECT_EQ(*ParseGrace("90"), 90);
  EXPECT_EQ(*ParseGrace("90s"), 90);
  EXPECT_EQ(*ParseGrace("30m"), 1800);
  EXPECT_EQ(*ParseGrace("2h"), 7200);
  EXPECT_EQ(*ParseGrace("14d"), 14 * 86400);
  for (const char* bad : {"", "h", "-1", "1.5h", "2w", "1h30m", "9999999999"})
    EXPECT_EQ(ParseGrace(bad).status().code(), Code::kInvalid) << bad;
}

}  // namespace
}  // namespace converge
