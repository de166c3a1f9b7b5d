// The workspace fsck (workspace/fsck.h) in-process: a clean workspace, a
// damaged and a missing object, stale stat cache entries, and --fix removing
// old temp files and restore leftovers while it leaves young ones.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <fstream>
#include <optional>
#include <thread>

#include "base/fs.h"
#include "base/random.h"
#include "store/hash.h"
#include "support/process.h"
#include "support/store_helpers.h"
#include "support/workspace_fixture.h"
#include "workspace/fsck.h"
#include "workspace/snap_index.h"
#include "workspace/snapshot.h"
#include "workspace/stat_cache.h"

namespace converge {
namespace {

class WorkspaceFsckTest : public testing::WorkspaceTest {
 protected:
  void SetUp() override {
    WorkspaceTest::SetUp();
    if (HasFatalFailure()) return;
    Write("a.txt", "alpha\n");
    Write("src/main.c", "int main() { return 0; }\n");
    Result<SnapResult> snap = TakeSnap(ws(), "first", false);
    ASSERT_TRUE(snap.ok()) << snap.status().message();
    // The blob of a.txt: storing the same bytes again names the same object.
    Result<ObjectId> id = ws().store().Put("alpha\n");
    ASSERT_TRUE(id.ok()) << id.status().message();
    blob_ = *id;
  }
  // Makes `p` look last written two hours ago.
  static void Age(const fs::path& p) {
    struct timeval old[2];
    old[0].tv_sec = old[1].tv_sec = ::time(nullptr) - 7200;
    old[0].tv_usec = old[1].tv_usec = 0;
    ASSERT_EQ(::lutimes(p.c_str(), old), 0) << p;
  }

  static FsckReport Check(Workspace& ws) {
    Result<FsckReport> r = CheckWorkspace(ws);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : FsckReport();
  }
  static FsckReport Fix(Workspace& ws) {
    Result<FsckReport> r = FixWorkspace(ws);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : FsckReport();
  }

  ObjectId blob_;
};

std::string WsDump(const FsckReport& r) {
  std::string out;
  for (const FsckProblem& p : r.problems)
    out += (p.warning ? "warning: " : "error: ") + p.subject + ": " + p.problem + "\n";
  for (const std::string& f : r.fixed) out += "fixed: " + f + "\n";
  return out;
}

bool WsHas(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST_F(WorkspaceFsckTest, CleanWorkspacePasses) {
  FsckReport r = Check(ws());
  EXPECT_TRUE(r.ok()) << WsDump(r);
  EXPECT_TRUE(r.problems.empty()) << WsDump(r);
  EXPECT_TRUE(r.fixed.empty()) << WsDump(r);
  // Two blobs, two manifests, one snap.
  EXPECT_EQ(r.objects_checked, 5u);
  FsckReport fixed = Fix(ws());
  EXPECT_TRUE(fixed.ok()) << WsDump(fixed);
  EXPECT_TRUE(fixed.problems.empty() && fixed.fixed.empty()) << WsDump(fixed);
}

// A snap's objects are packed: a damaged packed copy is an error; the fix
// keeps its bytes aside and quarantines it, drops the stat cache entry that
// names it, and the next snap stores the file's content anew: healed.
TEST_F(WorkspaceFsckTest, DamagedPackedObjectIsReportedAndFixAndASnapHealIt) {
  Result<ObjectStore::Location> where = ws().store().Locate(blob_);
  ASSERT_TRUE(where.ok());
  ASSERT_TRUE(where->packed);
  testing::DamageObject(ws().store(), blob_, 2);
  FsckReport r = Check(ws());
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(WsHas(WsDump(r), "error: object " + blob_.hex() + ": damaged")) << WsDump(r);
  EXPECT_TRUE(WsHas(WsDump(r), where->file.filename().string())) << WsDump(r);
  EXPECT_TRUE(ws().store().Has(blob_)) << "checking alone changes nothing";

  FsckReport fixed = Fix(ws());
  EXPECT_FALSE(fixed.ok()) << "the snap still lacks the blob";
  fs::path aside = ws().meta() / "damaged" / (blob_.hex() + ".packed");
  EXPECT_TRUE(WsHas(WsDump(fixed), "fixed: set aside the damaged copy of object " + blob_.hex()))
      << WsDump(fixed);
  EXPECT_TRUE(WsHas(WsDump(fixed), "fixed: dropped the stat cache entry of 'a.txt'"))
      << WsDump(fixed);
  EXPECT_TRUE(fs::exists(aside));
  EXPECT_FALSE(ws().store().Has(blob_)) << "a quarantined copy is not a copy";

  ObjectId again = Snap("after the fix");
  ASSERT_FALSE(again.is_zero());
  EXPECT_TRUE(ws().store().Verify(blob_).ok()) << "the snap stored a good copy";
  FsckReport healed = Check(ws());
  EXPECT_TRUE(healed.ok()) << WsDump(healed);
}

// The same with nothing racy (every file and directory last changed two
// hours before the first snap): the fix must not leave the root's stat to
// stand in for listing it, or the next snap would leave a.txt out.
TEST_F(WorkspaceFsckTest, AFileWhoseEntryFixDroppedIsInTheNextSnap) {
  for (const char* p : {"a.txt", "src/main.c", "src", "."}) Age(root_ / p);
  // Their ctimes are now: past the filesystem clock's granule, not racy.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_FALSE(Snap("aged").is_zero());
  testing::DamageObject(ws().store(), blob_, 2);
  FsckReport fixed = Fix(ws());
  EXPECT_TRUE(WsHas(WsDump(fixed), "fixed: dropped the stat cache entry of 'a.txt'"))
      << WsDump(fixed);
  Result<SnapResult> again = TakeSnap(ws(), "after the fix", false);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->stats.files_read, 1u);
  EXPECT_TRUE(ws().store().Verify(blob_).ok()) << "the snap stored a good copy";
  FsckReport healed = Check(ws());
  EXPECT_TRUE(healed.ok()) << WsDump(healed);
}

// A loose object (a snap; every object of a store made before packs) is
// moved aside whole.
TEST_F(WorkspaceFsckTest, DamagedLooseObjectIsReportedAndFixMovesItAside) {
  Result<std::optional<ObjectId>> head = SnapIndex(ws().db()).Head();
  ASSERT_TRUE(head.ok() && head->has_value());
  ObjectId snap = **head;
  fs::path file = ws().store().PathOf(snap);
  ASSERT_TRUE(fs::exists(file));
  testing::DamageObject(ws().store(), snap, 2);
  FsckReport r = Check(ws());
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(WsHas(WsDump(r), "error: object " + snap.hex() + ": damaged")) << WsDump(r);
  EXPECT_TRUE(WsHas(WsDump(r), file.string())) << WsDump(r);
  EXPECT_TRUE(fs::exists(file)) << "checking alone changes nothing";

  FsckReport fixed = Fix(ws());
  EXPECT_FALSE(fixed.ok()) << "the head snap is gone";
  fs::path aside = ws().meta() / "damaged" / snap.hex();
  EXPECT_TRUE(
      WsHas(WsDump(fixed), "fixed: moved damaged object " + snap.hex() + " to " + aside.string()))
      << WsDump(fixed);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_TRUE(fs::exists(aside));
}

TEST_F(WorkspaceFsckTest, MissingObjectNamesTheSnapAndTheStatCacheEntry) {
  testing::RemoveObject(ws().store(), blob_);
  FsckReport r = Check(ws());
  EXPECT_FALSE(r.ok());
  std::string dump = WsDump(r);
  EXPECT_TRUE(WsHas(dump, "error: blob " + blob_.hex() + ": missing; needed by 'a.txt'")) << dump;
  EXPECT_TRUE(WsHas(dump, "warning: stat cache entry 'a.txt': names blob " + blob_.hex() +
                              ", which is missing or damaged"))
      << dump;

  FsckReport fixed = Fix(ws());
  EXPECT_TRUE(WsHas(WsDump(fixed), "fixed: dropped the stat cache entry of 'a.txt'"))
      << WsDump(fixed);
  EXPECT_FALSE(WsHas(WsDump(fixed), "warning: stat cache entry")) << WsDump(fixed);
  FsckReport again = Check(ws());
  EXPECT_FALSE(WsHas(WsDump(again), "stat cache entry")) << WsDump(again);
  EXPECT_FALSE(again.ok()) << "the recorded snap still lacks the blob";
}

// The stat cache file is only a cache: damaged, it is a warning (the next
// snap ignores it and rewrites it), never damage.
TEST_F(WorkspaceFsckTest, ADamagedStatCacheFileIsAWarning) {
  fs::path file = ws().meta() / StatCache::kFileName;
  std::string bytes = testing::ReadFileOrDie(file);
  bytes[bytes.size() / 2] ^= 0x04;
  ASSERT_TRUE(WriteFileAtomic(file, bytes, 0600).ok());
  FsckReport r = Check(ws());
  std::string dump = WsDump(r);
  EXPECT_TRUE(r.ok()) << dump;
  EXPECT_TRUE(WsHas(dump, "warning: " + file.string() +
                              ": the stat cache file is damaged: its checksum does not match: " +
                              "it is only a cache, ignored; the next snap reads every file again " +
                              "and rewrites it"))
      << dump;
  Result<SnapResult> snap = TakeSnap(ws(), "again", false);
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_EQ(snap->stats.files_read, 2u);
  FsckReport after = Check(ws());
  EXPECT_TRUE(after.problems.empty()) << WsDump(after);
}

// A directory's cached manifest that is not whole in the store would be
// trusted by the next snap: a warning, and --fix drops it so that the next
// snap stores the directory again (which makes the old snaps whole too).
TEST_F(WorkspaceFsckTest, AMissingCachedManifestIsDroppedByFix) {
  Result<StatCache> cache = StatCache::Load(ws().meta(), ws().db());
  ASSERT_TRUE(cache.ok());
  int src = cache->FindDir("src");
  ASSERT_GE(src, 0);
  std::optional<ObjectId> manifest = cache->DirManifest(src);
  ASSERT_TRUE(manifest.has_value());
  testing::RemoveObject(ws().store(), *manifest);
  FsckReport r = Check(ws());
  std::string dump = WsDump(r);
  EXPECT_FALSE(r.ok()) << "the snap lacks the manifest";
  EXPECT_TRUE(WsHas(dump, "warning: stat cache directory 'src': names manifest " + manifest->hex() +
                              ", which is missing or damaged"))
      << dump;
  // The root's manifest names it, so the root's closure is not whole either.
  EXPECT_TRUE(WsHas(dump, "warning: stat cache directory '.': names manifest ")) << dump;

  FsckReport fixed = Fix(ws());
  EXPECT_TRUE(WsHas(WsDump(fixed), "fixed: dropped the cached manifest of directory 'src': " +
                                       std::string("the next snap stores it again")))
      << WsDump(fixed);
  Result<SnapResult> snap = TakeSnap(ws(), "again", false);
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_TRUE(ws().store().Has(*manifest)) << "stored again";
  FsckReport after = Check(ws());
  EXPECT_TRUE(after.ok()) << WsDump(after);
  // Only the pack RemoveObject left without an index remains (a warning).
  for (const FsckProblem& p : after.problems)
    EXPECT_TRUE(p.warning && WsHas(p.problem, "no index names")) << WsDump(after);
}

TEST_F(WorkspaceFsckTest, FixRemovesOldTempFilesOnly) {
  fs::path old_temp = ws().store().root() / "tmp" / "old.tmp";
  fs::path young_temp = ws().store().root() / "tmp" / "young.tmp";
  std::ofstream(old_temp) << "partial";
  std::ofstream(young_temp) << "partial";
  Age(old_temp);
  FsckReport r = Check(ws());
  EXPECT_TRUE(r.ok()) << "a temp file is a warning, not damage";
  EXPECT_EQ(r.problems.size(), 2u) << WsDump(r);

  FsckReport fixed = Fix(ws());
  EXPECT_FALSE(fs::exists(old_temp));
  EXPECT_TRUE(fs::exists(young_temp)) << "it may belong to a command still running";
  EXPECT_EQ(fixed.fixed.size(), 1u) << WsDump(fixed);
  EXPECT_EQ(fixed.problems.size(), 1u) << WsDump(fixed);
}

// WriteFileAtomic's temp beside its target (.converge/.config.json.<hex>.tmp,
// and before the stat cache's temp moved to tmp/, .stat-cache.<hex>.tmp):
// listed like tmp/'s, removed by --fix once an hour old. Names of another
// shape are not converge's.
TEST_F(WorkspaceFsckTest, FixRemovesAnOldTempOfAnAtomicWriteBesideItsTarget) {
  fs::path old_temp = ws().meta() / ".stat-cache.0123456789abcdef.tmp";
  fs::path young_temp = ws().meta() / TempName(".config.json");
  fs::path other = ws().meta() / ".notes.tmp";
  for (const fs::path& p : {old_temp, young_temp, other}) std::ofstream(p) << "partial";
  Age(old_temp);
  Age(other);
  EXPECT_TRUE(IsAtomicWriteTemp(young_temp.filename().string()));
  EXPECT_FALSE(IsAtomicWriteTemp(".0123456789abcdef.tmp"));
  EXPECT_FALSE(IsAtomicWriteTemp(".x.0123456789ABCDEF.tmp"));
  FsckReport r = Check(ws());
  EXPECT_TRUE(r.ok()) << WsDump(r);
  EXPECT_EQ(r.problems.size(), 2u) << WsDump(r);
  EXPECT_TRUE(WsHas(WsDump(r), old_temp.string())) << WsDump(r);

  FsckReport fixed = Fix(ws());
  EXPECT_FALSE(fs::exists(old_temp));
  EXPECT_TRUE(fs::exists(young_temp)) << "it may belong to a command still running";
  EXPECT_TRUE(fs::exists(other));
  EXPECT_EQ(fixed.fixed.size(), 1u) << WsDump(fixed);
}

TEST_F(WorkspaceFsckTest, FixRemovesAnOldRestoreLeftover) {
  fs::path leftover = ws().root() / ".converge-restore.0123456789abcdef.tmp";
  fs::path young = ws().root() / "src" / ".converge-restore.fedcba9876543210.tmp";
  fs::create_directories(leftover / "deep");
  std::ofstream(leftover / "deep" / "f") << "x";
  std::ofstream(young) << "y";
  Age(leftover / "deep" / "f");
  Age(leftover / "deep");
  Age(leftover);
  FsckReport r = Check(ws());
  EXPECT_TRUE(r.ok()) << WsDump(r);
  EXPECT_TRUE(WsHas(WsDump(r), "warning: " + leftover.string() +
                                   ": left by an interrupted 'converge restore' (1 files"))
      << WsDump(r);
  EXPECT_TRUE(WsHas(WsDump(r), "warning: " + young.string())) << WsDump(r);

  FsckReport fixed = Fix(ws());
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_TRUE(fs::exists(young));
  EXPECT_TRUE(WsHas(WsDump(fixed),
                    "fixed: removed the leftover of an interrupted restore " + leftover.string()))
      << WsDump(fixed);
}

// fsck and --fix judge a leftover by the rule snap and restore use
// (Workspace::IsRestoreLeftover: ".converge-restore.<16 hex>.tmp"). A user's
// file of a similar name is captured by snap, so it is theirs: fsck neither
// warns about it nor removes it, however old (a looser rule of fsck's own
// once did both).
TEST_F(WorkspaceFsckTest, FixLeavesAUsersFileOfASimilarName) {
  fs::path mine = ws().root() / ".converge-restore.notmine.tmp";
  fs::path beside = ws().root().parent_path() / ".converge-restore.abc123.tmp";
  std::ofstream(mine) << "a user's file";
  std::ofstream(beside) << "another";
  Age(mine);
  Age(beside);
  FsckReport r = Check(ws());
  EXPECT_TRUE(r.ok()) << WsDump(r);
  EXPECT_FALSE(WsHas(WsDump(r), "converge-restore")) << WsDump(r);
  FsckReport fixed = Fix(ws());
  EXPECT_TRUE(fs::exists(mine));
  EXPECT_TRUE(fs::exists(beside));
  EXPECT_TRUE(fixed.fixed.empty()) << WsDump(fixed);
}

// A malformed ID in a record is reported, and the check goes on: why the
// fsck reads the records unchecked rather than through SnapIndex/StatCache.
// The stat cache's record here is a row of the legacy table, which a
// workspace made before the stat cache file has (and the next snap imports).
TEST_F(WorkspaceFsckTest, MalformedIdsInRecordsAreReportedNotFatal) {
  ASSERT_TRUE(fs::remove(ws().meta() / StatCache::kFileName));
  ASSERT_TRUE(ws().db().Exec("UPDATE state SET value = 'zzzz' WHERE key = 'head'").ok());
  ASSERT_TRUE(ws().db()
                  .Exec("INSERT INTO stat_cache (path, size, mtime_ns, ctime_ns, ino, mode, id, "
                        "chunked, racy) VALUES ('a.txt', 6, 1, 1, 7, 33188, 'nothex', 0, 0)")
                  .ok());
  FsckReport r = Check(ws());
  EXPECT_FALSE(r.ok());
  std::string dump = WsDump(r);
  EXPECT_TRUE(WsHas(dump, "error: the head: names a malformed snap ID 'zzzz'")) << dump;
  EXPECT_TRUE(WsHas(dump, "warning: stat cache entry 'a.txt': names blob nothex")) << dump;
  FsckReport fixed = Fix(ws());
  EXPECT_TRUE(WsHas(WsDump(fixed), "fixed: dropped the stat cache entry of 'a.txt'"))
      << WsDump(fixed);
}

}  // namespace
}  // namespace converge
