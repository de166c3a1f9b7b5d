// The store checks behind `converge fsck` and `converge serve --fsck`: each
// kind of damage is reported precisely (what, where, why), and the write
// batch never shows an object before the objects it names.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "base/text.h"
#include "store/cas.h"
#include "store/fsck.h"
#include "support/process.h"

namespace converge {
namespace {

using testing::TempDir;

// A small snap: a.txt, src/main.c and big.bin as a chunk list of two chunks.
struct Fixture {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  ObjectId a, main_c, chunk1, chunk2, chunks, src, root, snap;

  Fixture() {
    a = *store.Put("alpha\n");
    main_c = *store.Put("int main() { return 0; }\n");
    chunk1 = *store.Put(std::string(1000, 'x'));
    chunk2 = *store.Put(std::string(500, 'y'));
    ChunkList cl;
    cl.size = 1500;
    cl.chunks = {{chunk1, 1000}, {chunk2, 500}};
    chunks = *store.Put(EncodeChunkList(cl));
    src = PutManifest({File("main.c", main_c, 25)});
    Entry big = File("big.bin", chunks, 1500);
    big.chunked = true;
    root = PutManifest({File("a.txt", a, 6), big, Dir("src", src)});
    snap = PutSnap(root);
  }

  static Entry File(const std::string& name, const ObjectId& id, uint64_t size) {
    Entry e;
    e.name = name;
    e.type = EntryType::kFile;
    e.id = id;
    e.size = size;
    return e;
  }
  static Entry Dir(const std::string& name, const ObjectId& id) {
    Entry e;
    e.name = name;
    e.type = EntryType::kDir;
    e.id = id;
    return e;
  }
  ObjectId PutManifest(std::vector<Entry> entries) {
    Manifest m;
    m.entries = std::move(entries);
    EXPECT_TRUE(NormalizeManifest(m).ok());
    return *store.Put(EncodeManifest(m));
  }
  ObjectId PutSnap(const ObjectId& tree) {
    Snap s;
    s.root = tree;
    s.created_at = "2026-01-02T03:04:05Z";
    s.message = "test";
    s.workspace_id = "ws";
    return *store.Put(EncodeSnap(s));
  }

  // Runs both passes over the snap; returns whether it is whole.
  bool Check(FsckReport& report) {
    ObjectCensus census = *TakeCensus(store, report);
    return ClosureCheck(store, census, report).Check(ObjectKind::kSnap, snap, "the head");
  }

  void Writable(const ObjectId& id) { ::chmod(store.PathOf(id).c_str(), 0644); }
};

std::string Dump(const FsckReport& r) {
  std::string out;
  for (const FsckProblem& p : r.problems)
    out += (p.warning ? "warning: " : "error: ") + p.subject + ": " + p.problem + "\n";
  return out;
}

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(Fsck, CleanStorePasses) {
  Fixture f;
  FsckReport r;
  EXPECT_TRUE(f.Check(r));
  EXPECT_TRUE(r.ok()) << Dump(r);
  EXPECT_TRUE(r.problems.empty()) << Dump(r);
  EXPECT_EQ(r.objects_checked, 8u);
  uint64_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(f.dir.path() / "objects"))
    if (e.is_regular_file()) bytes += e.file_size();
  EXPECT_EQ(r.bytes_checked, bytes);
}

TEST(Fsck, FlippedByteIsReportedOnce) {
  Fixture f;
  f.Writable(f.main_c);
  {
    std::fstream file(f.store.PathOf(f.main_c), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(4);
    file.put('X');
  }
  FsckReport r;
  EXPECT_FALSE(f.Check(r));
  ASSERT_EQ(r.errors(), 1u) << Dump(r);
  EXPECT_EQ(r.problems[0].subject, "object " + f.main_c.hex());
  EXPECT_TRUE(Has(r.problems[0].problem, "do not hash to its ID")) << Dump(r);
  EXPECT_TRUE(Has(r.problems[0].problem, f.store.PathOf(f.main_c).string())) << Dump(r);
}

TEST(Fsck, TruncatedObjectIsDamaged) {
  Fixture f;
  f.Writable(f.chunk1);
  ASSERT_EQ(::truncate(f.store.PathOf(f.chunk1).c_str(), 300), 0);
  FsckReport r;
  EXPECT_FALSE(f.Check(r));
  ASSERT_EQ(r.errors(), 1u) << Dump(r);
  EXPECT_EQ(r.problems[0].subject, "object " + f.chunk1.hex());
  EXPECT_TRUE(Has(r.problems[0].problem, "its 300 bytes do not hash")) << Dump(r);
}

TEST(Fsck, MissingReferencedManifestNamesItsPath) {
  Fixture f;
  fs::remove(f.store.PathOf(f.src));
  FsckReport r;
  EXPECT_FALSE(f.Check(r));
  ASSERT_EQ(r.errors(), 1u) << Dump(r);
  EXPECT_EQ(r.problems[0].subject, "manifest " + f.src.hex());
  EXPECT_EQ(r.problems[0].problem,
            "missing; needed by 'src' in snap " + f.snap.hex().substr(0, 12));
}

TEST(Fsck, MissingRootIsNamedByItsLabel) {
  Fixture f;
  fs::remove(f.store.PathOf(f.snap));
  FsckReport r;
  EXPECT_FALSE(f.Check(r));
  ASSERT_EQ(r.errors(), 1u) << Dump(r);
  EXPECT_EQ(r.problems[0].subject, "snap " + f.snap.hex());
  EXPECT_EQ(r.problems[0].problem, "missing; needed by the head");
}

TEST(Fsck, ManifestNamingAMissingBlob) {
  Fixture f;
  ObjectId ghost = ObjectId::Of("never stored");
  f.root = f.PutManifest({Fixture::File("a.txt", f.a, 6), Fixture::File("ghost", ghost, 12)});
  f.snap = f.PutSnap(f.root);
  FsckReport r;
  EXPECT_FALSE(f.Check(r));
  ASSERT_EQ(r.errors(), 1u) << Dump(r);
  EXPECT_EQ(r.problems[0].subject, "blob " + ghost.hex());
  EXPECT_TRUE(Has(r.problems[0].problem, "missing; needed by 'ghost' in snap")) << Dump(r);
}

TEST(Fsck, MissingChunkOfAChunkList) {
  Fixture f;
  fs::remove(f.store.PathOf(f.chunk2));
  FsckReport r;
  EXPECT_FALSE(f.Check(r));
  ASSERT_EQ(r.errors(), 1u) << Dump(r);
  EXPECT_EQ(r.problems[0].subject, "blob " + f.chunk2.hex());
  EXPECT_TRUE(Has(r.problems[0].problem, "needed by 'big.bin'")) << Dump(r);
}

TEST(Fsck, FileSizeThatDoesNotMatchItsBlob) {
  Fixture f;
  f.root = f.PutManifest({Fixture::File("a.txt", f.a, 100)});
  f.snap = f.PutSnap(f.root);
  FsckReport r;
  f.Check(r);
  ASSERT_EQ(r.errors(), 1u) << Dump(r);
  EXPECT_EQ(r.problems[0].subject, "blob " + f.a.hex());
  EXPECT_TRUE(Has(r.problems[0].problem, "holds 6 bytes, but 'a.txt' in snap")) << Dump(r);
  EXPECT_TRUE(Has(r.problems[0].problem, "is 100 bytes long")) << Dump(r);
}

TEST(Fsck, ChunkedFileSizeThatDoesNotMatchItsChunkList) {
  Fixture f;
  Entry big = Fixture::File("big.bin", f.chunks, 1499);
  big.chunked = true;
  f.root = f.PutManifest({big});
  f.snap = f.PutSnap(f.root);
  FsckReport r;
  f.Check(r);
  ASSERT_EQ(r.errors(), 1u) << Dump(r);
  EXPECT_EQ(r.problems[0].subject, "chunklist " + f.chunks.hex());
  EXPECT_TRUE(Has(r.problems[0].problem, "holds 1500 bytes")) << Dump(r);
}

TEST(Fsck, ObjectOfTheWrongKind) {
  Fixture f;
  f.root = f.PutManifest({Fixture::Dir("notadir", f.a)});  // a blob named as a manifest
  f.snap = f.PutSnap(f.root);
  FsckReport r;
  EXPECT_FALSE(f.Check(r));
  ASSERT_EQ(r.errors(), 1u) << Dump(r);
  EXPECT_EQ(r.problems[0].subject, "manifest " + f.a.hex());
  EXPECT_TRUE(Has(r.problems[0].problem, "is not a valid manifest")) << Dump(r);
  EXPECT_TRUE(Has(r.problems[0].problem, "needed by 'notadir'")) << Dump(r);
}

TEST(Fsck, SharedSubtreeIsCheckedOnceAndReportedOnce) {
  Fixture f;
  fs::remove(f.store.PathOf(f.main_c));
  ObjectId other = f.PutSnap(f.PutManifest({Fixture::Dir("again", f.src)}));
  FsckReport r;
  ObjectCensus census = *TakeCensus(f.store, r);
  ClosureCheck check(f.store, census, r);
  EXPECT_FALSE(check.Check(ObjectKind::kSnap, f.snap, "the head"));
  EXPECT_FALSE(check.Check(ObjectKind::kSnap, other, "publication 1234"));
  EXPECT_EQ(r.errors(), 1u) << Dump(r);
  EXPECT_EQ(check.WasIntact(ObjectKind::kManifest, f.src), false);
  EXPECT_EQ(check.WasIntact(ObjectKind::kBlob, f.a), true);
  ASSERT_NE(check.SnapOf(f.snap), nullptr);
  EXPECT_EQ(check.SnapOf(f.snap)->root, f.root);
}

TEST(Fsck, StrayFilesInTheObjectStoreAreWarnings) {
  Fixture f;
  testing::WriteFile(f.dir.path() / "objects" / "ab" / "notes.txt", "hello");
  std::string hex = f.a.hex();
  std::string wrong = hex.substr(0, 2) == "00" ? "01" : "00";
  fs::copy_file(f.store.PathOf(f.a), f.dir.path() / "objects" / wrong / hex);
  FsckReport r;
  EXPECT_TRUE(f.Check(r));
  EXPECT_TRUE(r.ok()) << Dump(r);
  ASSERT_EQ(r.problems.size(), 2u) << Dump(r);
  std::string all = Dump(r);
  EXPECT_TRUE(Has(all, "notes.txt: stray entry")) << all;
  EXPECT_TRUE(Has(all, "object file in the wrong shard")) << all;
}

TEST(Fsck, StaleTempFilesAreReportedAndRemovable) {
  Fixture f;
  fs::path old_temp = f.dir.path() / "tmp" / "obj.old.tmp";
  fs::path new_temp = f.dir.path() / "tmp" / "obj.new.tmp";
  testing::WriteFile(old_temp, "half an object");
  testing::WriteFile(new_temp, "being written");
  fs::last_write_time(old_temp, fs::file_time_type::clock::now() - std::chrono::hours(2));

  auto temps = f.store.ListTemps();
  ASSERT_TRUE(temps.ok());
  ASSERT_EQ(temps->size(), 2u);
  FsckReport r;
  CheckTemps(*temps, /*remove=*/false, 3600, "hint", r);
  EXPECT_TRUE(r.ok());
  ASSERT_EQ(r.problems.size(), 2u) << Dump(r);
  std::string all = Dump(r);
  EXPECT_TRUE(Has(all, "warning: " + old_temp.string() + ": temp file of an interrupted")) << all;
  EXPECT_TRUE(Has(all, "(14 bytes, last written 72")) << all;  // 7200 s, give or take
  EXPECT_TRUE(fs::exists(old_temp));

  FsckReport fixed;
  CheckTemps(*temps, /*remove=*/true, 3600, "hint", fixed);
  EXPECT_FALSE(fs::exists(old_temp));
  EXPECT_TRUE(fs::exists(new_temp));  // may be a write in progress
  ASSERT_EQ(fixed.fixed.size(), 1u);
  EXPECT_TRUE(Has(fixed.fixed[0], old_temp.string()));
  ASSERT_EQ(fixed.problems.size(), 1u) << Dump(fixed);
  EXPECT_EQ(fixed.problems[0].subject, new_temp.string());
}

// A batch becomes visible at one rename, its index's: a commit that fails
// before it (here a pack file vanished from tmp/) leaves nothing visible,
// whatever the kinds and the order they were added in, and nothing behind.
TEST(WriteBatchCommit, AFailedCommitLeavesNothingVisible) {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  std::string blob = "chunk content";
  ObjectId blob_id = ObjectId::Of(blob);
  ChunkList cl;
  cl.size = blob.size();
  cl.chunks = {{blob_id, blob.size()}};
  std::string list = EncodeChunkList(cl);
  {
    WriteBatch batch(store);
    ASSERT_TRUE(batch.Put(list, ObjectKind::kChunkList).ok());
    ASSERT_TRUE(batch.Put(blob).ok());
    for (const auto& e : fs::directory_iterator(dir.path() / "tmp"))
      if (e.path().string().ends_with(".pack.tmp")) fs::remove(e.path());
    Status st = batch.Commit();
    EXPECT_FALSE(st.ok());
    EXPECT_FALSE(store.Has(blob_id));
    EXPECT_FALSE(store.Has(ObjectId::Of(list))) << "a chunk list became visible without its chunk";
  }
  EXPECT_TRUE(fs::is_empty(dir.path() / "tmp"));
  EXPECT_TRUE(fs::is_empty(dir.path() / "packs"));
}

}  // namespace
}  // namespace converge
