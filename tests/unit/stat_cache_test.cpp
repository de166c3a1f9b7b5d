// The stat cache file (workspace/stat_cache.h): its format round trip, a
// torn, damaged or other-version file ignored (and rewritten by the next
// snap), racy entries, the legacy table of a workspace made before the file,
// and readers never seeing a half-written file.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "base/random.h"
#include "support/tree_helpers.h"
#include "support/workspace_fixture.h"
#include "workspace/snap_index.h"
#include "workspace/snapshot.h"
#include "workspace/stat_cache.h"

namespace converge {
namespace {

using testing::ReadFileOrDie;

StatEntry SomeFile(uint64_t ino, const std::string& content) {
  StatEntry e;
  e.size = content.size();
  e.mtime_ns = 1700000000123456789 + static_cast<int64_t>(ino);
  e.ctime_ns = 1700000000987654321;
  e.ino = ino;
  e.mode = 0100644;
  e.id = ObjectId::Of(content);
  return e;
}

// A small cache: directories added out of order, each kind of entry.
std::string SampleCache() {
  StatCacheWriter w(IgnoreRulesId("*.o\n"));
  w.Dir("src/lib", ObjectId::Of("manifest of src/lib"), SomeFile(10, ""), false);
  StatEntry big = SomeFile(3, "big");
  big.chunked = true;
  w.File("big.bin", big, false);
  w.File("run.sh", SomeFile(4, "#!/bin/sh\n"), true);
  StatEntry racy_dir = SomeFile(11, "");
  racy_dir.racy = true;
  w.Dir("", ObjectId::Of("root manifest"), racy_dir, false);
  w.File("a.txt", SomeFile(1, "alpha"), false);
  w.Symlink("link", "src/lib/run.sh");
  w.Subdir("src", ObjectId::Of("manifest of src"));
  w.Dir("src", std::nullopt, SomeFile(12, ""), true);
  w.Subdir("lib", ObjectId::Of("manifest of src/lib"));
  StatEntry racy = SomeFile(2, "racy");
  racy.racy = true;
  w.File("main.c", racy, false);
  return w.Finish();
}

TEST(StatCacheFile, RoundTrip) {
  Result<StatCache> c = StatCache::Parse(SampleCache());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->from_file());
  EXPECT_EQ(c->rules(), IgnoreRulesId("*.o\n"));
  ASSERT_EQ(c->dir_count(), 3u);
  EXPECT_EQ(c->entry_count(), 7u);
  // Sorted by path: "", "src", "src/lib".
  EXPECT_EQ(c->DirPath(0), "");
  EXPECT_EQ(c->DirPath(1), "src");
  EXPECT_EQ(c->DirPath(2), "src/lib");
  EXPECT_EQ(c->FindDir("src/lib"), 2);
  EXPECT_EQ(c->FindDir("src/li"), -1);
  EXPECT_EQ(*c->DirManifest(0), ObjectId::Of("root manifest"));
  EXPECT_FALSE(c->DirManifest(1).has_value());
  ASSERT_EQ(c->DirSize(0), 3u);
  EXPECT_EQ(c->At(0, 0).name, "a.txt");
  EXPECT_EQ(c->At(0, 1).target, "src/lib/run.sh");
  EXPECT_EQ(c->At(0, 1).kind, CachedKind::kSymlink);
  EXPECT_EQ(c->At(0, 2).kind, CachedKind::kDir);
  EXPECT_EQ(c->At(0, 2).stat.id, ObjectId::Of("manifest of src"));
  // A directory's own stat fields: trusted unless racy or warned.
  StatEntry lib = SomeFile(10, "");
  EXPECT_EQ(c->DirStat(2).mtime_ns, lib.mtime_ns);
  EXPECT_EQ(c->DirStat(2).ino, lib.ino);
  EXPECT_TRUE(c->DirUnchanged(2, lib));
  lib.ctime_ns++;
  EXPECT_FALSE(c->DirUnchanged(2, lib));
  EXPECT_TRUE(c->DirStat(0).racy);
  EXPECT_FALSE(c->DirUnchanged(0, SomeFile(11, "")));
  EXPECT_TRUE(c->DirWarned(1));
  EXPECT_FALSE(c->DirUnchanged(1, SomeFile(12, "")));

  std::optional<CachedEntry> a = c->Find("a.txt");
  ASSERT_TRUE(a.has_value());
  StatEntry want = SomeFile(1, "alpha");
  EXPECT_EQ(a->stat.id, want.id);
  EXPECT_EQ(a->stat.size, want.size);
  EXPECT_EQ(a->stat.mtime_ns, want.mtime_ns);
  EXPECT_EQ(a->stat.ctime_ns, want.ctime_ns);
  EXPECT_EQ(a->stat.ino, want.ino);
  EXPECT_EQ(a->stat.mode, want.mode);
  EXPECT_FALSE(a->executable);
  std::optional<CachedEntry> big = c->Find("src/lib/big.bin");
  ASSERT_TRUE(big.has_value());
  EXPECT_TRUE(big->stat.chunked);
  EXPECT_TRUE(c->Find("src/lib/run.sh")->executable);
  EXPECT_FALSE(c->Find("src/lib/nope").has_value());
  EXPECT_FALSE(c->Find("nope/a.txt").has_value());

  // Reuse: only a file whose stat fields all match.
  EXPECT_TRUE(c->Reuse(0, "a.txt", want).has_value());
  StatEntry touched = want;
  touched.mtime_ns++;
  EXPECT_FALSE(c->Reuse(0, "a.txt", touched).has_value());
  touched = want;
  touched.ino++;
  EXPECT_FALSE(c->Reuse(0, "a.txt", touched).has_value());
  EXPECT_FALSE(c->Reuse(0, "src", want).has_value()) << "a directory is not a file";
  EXPECT_FALSE(c->Reuse(-1, "a.txt", want).has_value());
}

TEST(StatCacheFile, RacyEntryNeverMatches) {
  StatEntry e;
  e.racy = true;
  EXPECT_FALSE(e.Matches(e));
  Result<StatCache> c = StatCache::Parse(SampleCache());
  ASSERT_TRUE(c.ok());
  std::optional<CachedEntry> racy = c->Find("src/main.c");
  ASSERT_TRUE(racy.has_value());
  EXPECT_TRUE(racy->stat.racy);
  StatEntry now = SomeFile(2, "racy");
  EXPECT_FALSE(c->Reuse(c->FindDir("src"), "main.c", now).has_value());
}

TEST(StatCacheFile, EveryTruncationIsTorn) {
  std::string bytes = SampleCache();
  for (size_t n = 0; n < bytes.size(); n++) {
    Result<StatCache> c = StatCache::Parse(bytes.substr(0, n));
    ASSERT_FALSE(c.ok()) << "cut at " << n;
    EXPECT_EQ(c.status().code(), Code::kCorrupt) << n;
  }
}

TEST(StatCacheFile, EveryFlippedByteIsCaught) {
  std::string bytes = SampleCache();
  for (size_t i = 0; i < bytes.size(); i++) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    Result<StatCache> c = StatCache::Parse(bad);
    EXPECT_FALSE(c.ok()) << "byte " << i;
  }
}

// Rewrites the version field and the checksum, as another converge would.
std::string WithVersion(std::string bytes, uint32_t version) {
  for (int i = 0; i < 4; i++) bytes[8 + i] = static_cast<char>(version >> (8 * i));
  std::string_view body(bytes.data(), bytes.size() - ObjectId::kBytes);
  ObjectId sum = ObjectId::Of(body);
  bytes.replace(body.size(), ObjectId::kBytes, reinterpret_cast<const char*>(sum.data()),
                ObjectId::kBytes);
  return bytes;
}

TEST(StatCacheFile, AnotherVersionIsRefused) {
  ASSERT_TRUE(StatCache::Parse(WithVersion(SampleCache(), 1)).ok());
  Result<StatCache> c = StatCache::Parse(WithVersion(SampleCache(), 2));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalid);
  EXPECT_NE(c.status().message().find("version 2"), std::string::npos) << c.status().message();
}

// A valid checksum does not make a record's offsets trusted.
TEST(StatCacheFile, OutOfBoundsOffsetsAreRefusedEvenWithAGoodChecksum) {
  std::string bytes = SampleCache();
  // The first directory record's path length (offset 64 + 36) made huge.
  bytes[64 + 36 + 3] = '\x7f';
  std::string_view body(bytes.data(), bytes.size() - ObjectId::kBytes);
  ObjectId sum = ObjectId::Of(body);
  bytes.replace(body.size(), ObjectId::kBytes, reinterpret_cast<const char*>(sum.data()),
                ObjectId::kBytes);
  Result<StatCache> c = StatCache::Parse(bytes);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kCorrupt);
}

// Found by fuzz_stat_cache: a symlink's target length near 2^64 wrapped the
// bounds check around and read past the buffer.
TEST(StatCacheFile, AHugeSymlinkTargetLengthIsRefused) {
  std::string bytes = SampleCache();
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  constexpr size_t kHeader = 64, kDir = 88, kEntry = 80;
  size_t link = u32(kHeader + 40) + 1;  // the root's entries: a.txt, link, src
  size_t size_field = kHeader + 3 * kDir + link * kEntry + 32;
  for (int i = 0; i < 8; i++) bytes[size_field + i] = '\xff';
  std::string_view body(bytes.data(), bytes.size() - ObjectId::kBytes);
  ObjectId sum = ObjectId::Of(body);
  bytes.replace(body.size(), ObjectId::kBytes, reinterpret_cast<const char*>(sum.data()),
                ObjectId::kBytes);
  Result<StatCache> c = StatCache::Parse(bytes);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kCorrupt);
}

class StatCacheSnapTest : public testing::WorkspaceTest {
 protected:
  void SetUp() override {
    WorkspaceTest::SetUp();
    if (HasFatalFailure()) return;
    for (int d = 0; d < 3; d++)
      for (int f = 0; f < 4; f++)
        Write("d" + std::to_string(d) + "/f" + std::to_string(f) + ".txt",
              "file " + std::to_string(d) + "/" + std::to_string(f) + "\n");
    Write("top.txt", "top\n");
    testing::WaitForFsClockPast(root_);  // no file is racy
  }
  fs::path CacheFile() { return ws().meta() / StatCache::kFileName; }
  SnapResult TakeOk() {
    Result<SnapResult> r = TakeSnap(ws(), "", false);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : SnapResult();
  }
};

TEST_F(StatCacheSnapTest, ASnapWritesTheFileAndTheNextTrustsIt) {
  EXPECT_FALSE(fs::exists(CacheFile()));
  SnapResult first = TakeOk();
  EXPECT_EQ(first.stats.files_read, 13u);
  ASSERT_TRUE(fs::exists(CacheFile()));
  struct stat st;
  ASSERT_EQ(::stat(CacheFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string problem;
  Result<StatCache> c = StatCache::Load(ws().meta(), ws().db(), &problem);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(problem.empty()) << problem;
  EXPECT_TRUE(c->from_file());
  EXPECT_EQ(c->dir_count(), 4u);
  EXPECT_TRUE(c->Find("d1/f2.txt").has_value());
  SnapResult again = TakeOk();
  EXPECT_EQ(again.stats.files_read, 0u);
  EXPECT_EQ(again.snap.root, first.snap.root);
}

// A torn or damaged file costs a re-read of every file, never a wrong snap,
// and the snap that pays for it writes a good file again.
TEST_F(StatCacheSnapTest, ADamagedFileIsIgnoredAndRewritten) {
  SnapResult first = TakeOk();
  for (int damage = 0; damage < 3; damage++) {
    std::string bytes = ReadFileOrDie(CacheFile());
    if (damage == 0) bytes.resize(bytes.size() / 2);   // torn
    if (damage == 1) bytes[bytes.size() / 3] ^= 0x01;  // a flipped bit
    if (damage == 2) bytes = WithVersion(bytes, 9);    // another version
    ASSERT_TRUE(WriteFileAtomic(CacheFile(), bytes, 0600).ok());
    std::string problem;
    Result<StatCache> c = StatCache::Load(ws().meta(), ws().db(), &problem);
    ASSERT_TRUE(c.ok());
    EXPECT_FALSE(problem.empty()) << damage;
    EXPECT_EQ(c->dir_count(), 0u) << "ignored whole";
    SnapResult again = TakeOk();
    EXPECT_EQ(again.stats.files_read, 13u) << damage;
    EXPECT_EQ(again.stats.manifests_reused, 0u) << damage;
    EXPECT_EQ(again.snap.root, first.snap.root) << damage;
    EXPECT_TRUE(StatCache::Parse(ReadFileOrDie(CacheFile())).ok()) << "rewritten";
    EXPECT_EQ(TakeOk().stats.files_read, 0u) << damage;
  }
}

// The cache is written after the snap is recorded, and failing to write it
// only costs the next snap re-reading files: the snap stands, with a warning.
TEST_F(StatCacheSnapTest, ACacheThatCannotBeWrittenIsAWarning) {
  fs::create_directory(CacheFile());  // rename(2) cannot replace a directory
  Result<SnapResult> r = TakeSnap(ws(), "", false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->stats.warnings.size(), 1u);
  EXPECT_NE(r->stats.warnings[0].find("could not write the stat cache"), std::string::npos)
      << r->stats.warnings[0];
  EXPECT_EQ(**SnapIndex(ws().db()).Head(), r->id);
  fs::remove(CacheFile());
  EXPECT_EQ(TakeOk().stats.files_read, 13u);
  EXPECT_EQ(TakeOk().stats.files_read, 0u);
}

// A file whose mtime is at or after the capture's start is recorded racy and
// read again by every snap until it is not; the others are trusted.
TEST_F(StatCacheSnapTest, RacyEntriesAreReadAgain) {
  fs::path future = root_ / "d0" / "f0.txt";
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = ::time(nullptr) + 3600;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  ASSERT_EQ(::utimensat(AT_FDCWD, future.c_str(), times, 0), 0);
  SnapResult first = TakeOk();
  EXPECT_EQ(first.stats.files_read, 13u);
  Result<StatCache> c = StatCache::Load(ws().meta(), ws().db());
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->Find("d0/f0.txt")->stat.racy);
  EXPECT_FALSE(c->Find("d0/f1.txt")->stat.racy);
  for (int i = 0; i < 2; i++) {
    SnapResult again = TakeOk();
    EXPECT_EQ(again.stats.files_read, 1u) << "only the racy file, every time";
    EXPECT_EQ(again.snap.root, first.snap.root);
  }
}

// A workspace made before the stat cache file keeps its cache in the
// `stat_cache` table: the first snap uses those rows (reads nothing it need
// not), writes the file and empties the table; the next uses the file.
TEST_F(StatCacheSnapTest, RowsOfTheLegacyTableAreImportedOnce) {
  SnapResult first = TakeOk();
  // Back to what main's converge left: rows in the table, no file.
  Result<StatCache> made = StatCache::Load(ws().meta(), ws().db());
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(fs::remove(CacheFile()));
  for (size_t d = 0; d < made->dir_count(); d++) {
    for (uint32_t i = 0; i < made->DirSize(static_cast<int>(d)); i++) {
      CachedEntry e = made->At(static_cast<int>(d), i);
      if (e.kind != CachedKind::kFile) continue;
      std::string dir(made->DirPath(static_cast<int>(d)));
      std::string path = dir.empty() ? std::string(e.name) : dir + "/" + std::string(e.name);
      Result<Stmt> put = ws().db().Prepare(
          "INSERT INTO stat_cache (path, size, mtime_ns, ctime_ns, ino, mode, id, chunked, racy) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
      ASSERT_TRUE(put.ok());
      put->Bind(1, path)
          .Bind(2, static_cast<int64_t>(e.stat.size))
          .Bind(3, e.stat.mtime_ns)
          .Bind(4, e.stat.ctime_ns)
          .Bind(5, static_cast<int64_t>(e.stat.ino))
          .Bind(6, static_cast<int64_t>(e.stat.mode))
          .Bind(7, e.stat.id.hex())
          .Bind(8, int64_t{e.stat.chunked})
          .Bind(9, int64_t{e.stat.racy});
      ASSERT_TRUE(put->Run().ok());
    }
  }
  Result<StatCache> legacy = StatCache::Load(ws().meta(), ws().db());
  ASSERT_TRUE(legacy.ok());
  EXPECT_TRUE(legacy->from_table());
  EXPECT_EQ(legacy->entry_count(), 13u);

  SnapResult migrated = TakeOk();
  EXPECT_EQ(migrated.stats.files_read, 0u) << "the rows were trusted";
  EXPECT_EQ(migrated.snap.root, first.snap.root);
  EXPECT_TRUE(fs::exists(CacheFile()));
  Result<std::vector<StatCacheRow>> rows = StatCache::ListRows(ws().db());
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty()) << "the table is emptied once the file holds the cache";
  SnapResult next = TakeOk();
  EXPECT_EQ(next.stats.files_read, 0u);
  EXPECT_GT(next.stats.manifests_reused, 0u) << "the file has the directories now";
}

// Readers (status, diff) run while a snap writes: they see the old file or
// the new one, never a torn one.
TEST_F(StatCacheSnapTest, ReadersNeverSeeAHalfWrittenFile) {
  TakeOk();
  std::atomic<bool> done{false};
  std::atomic<int> loads{0}, bad{0};
  std::thread reader([&] {
    Result<Db> db = Db::Open(ws().meta() / "converge.db", DbRole::kWorkspace);
    if (!db.ok()) {
      bad++;
      return;
    }
    while (!done) {
      std::string problem;
      Result<StatCache> c = StatCache::Load(ws().meta(), *db, &problem);
      if (!c.ok() || !problem.empty() || !c->from_file()) bad++;
      loads++;
    }
  });
  for (int i = 0; i < 20; i++) {
    Write("d1/f1.txt", "version " + std::to_string(i) + "\n");
    Result<SnapResult> r = TakeSnap(ws(), "", false);
    EXPECT_TRUE(r.ok()) << r.status().message();
  }
  done = true;
  reader.join();
  EXPECT_GT(loads.load(), 0);
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace converge
