// The stat cache an in-place restore leaves (workspace/restore_cache.h): the
// next snap reads none of the files the restore wrote or left alone, and
// still reads every file changed after it.
#include "workspace/restore_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/process.h"
#include "support/tree_helpers.h"
#include "support/workspace_fixture.h"
#include "workspace/restore.h"
#include "workspace/snapshot.h"
#include "workspace/stat_cache.h"

namespace converge {
namespace {

using testing::WriteFile;

class RestoreCacheTest : public testing::WorkspaceTest {
 protected:
  void MakeTree() {
    for (int d = 0; d < 4; d++)
      for (int f = 0; f < 5; f++)
        Write("dir" + std::to_string(d) + "/sub/f" + std::to_string(f) + ".txt",
              "file " + std::to_string(d) + "." + std::to_string(f) + "\n");
    Write("top.txt", "top\n");
    WriteFile(root_ / "run.sh", "#!/bin/sh\n", true);
    fs::create_directories(root_ / "empty/dir");
    fs::create_symlink("top.txt", root_ / "link");
  }

  // The tree of MakeTree snapped, then changed and snapped again, each
  // snap's cache trusted whole; returns the first snap.
  ObjectId TwoSnaps() {
    MakeTree();
    Settle();
    ObjectId first = Snap("first");
    Write("dir1/sub/f2.txt", "changed\n");
    Write("dir2/new.txt", "new\n");
    fs::remove(root_ / "dir3/sub/f0.txt");
    Write("dir0/sub/f0.txt", "something else\n");
    Write("top.txt", "top, longer now\n");
    Settle();
    Snap("second");
    return first;
  }

  SnapResult SnapNow() {
    Result<SnapResult> r = TakeSnap(ws(), "again", false);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : SnapResult{};
  }

  ObjectId RootOf(const ObjectId& snap) {
    Result<converge::Snap> s = TreeReader(ws().store()).ReadSnap(snap);
    EXPECT_TRUE(s.ok());
    return s.ok() ? s->root : ObjectId();
  }

  void Restore(const ObjectId& snap, bool force) {
    Result<RestoreStats> r = RestoreInPlace(ws(), snap, force, false);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(r->warnings.empty()) << r->warnings.front();
  }
};

TEST_F(RestoreCacheTest, TheSnapAfterRestoringAnOlderSnapReadsNothing) {
  ObjectId first = TwoSnaps();
  Restore(first, false);
  SnapResult after = SnapNow();
  EXPECT_EQ(after.stats.files_read, 0u);
  EXPECT_EQ(after.snap.root, RootOf(first));
}

TEST_F(RestoreCacheTest, TheSnapAfterRestoringIntoAnEmptyWorkspaceReadsNothing) {
  MakeTree();
  Settle();
  ObjectId first = Snap("first");
  // As after init and fetch: no files, no stat cache.
  for (const auto& e : fs::directory_iterator(root_))
    if (e.path().filename() != ".converge") fs::remove_all(e.path());
  fs::remove(root_ / ".converge" / StatCache::kFileName);
  Restore(first, true);
  Settle();  // so that the next snap's cache trusts every directory
  SnapResult after = SnapNow();
  EXPECT_EQ(after.stats.files_read, 0u);
  EXPECT_EQ(after.stats.files, 22u);
  EXPECT_EQ(after.snap.root, RootOf(first));
  // The cache the next snap wrote is trusted whole: one more reads and lists nothing.
  SnapResult again = SnapNow();
  EXPECT_EQ(again.stats.files_read, 0u);
  EXPECT_EQ(again.stats.dirs_listed, 0u);
}

// Same size, and its mtime put back: only ctime tells.
void Rewrite(const fs::path& p, const std::string& text) {
  struct stat before;
  ASSERT_EQ(::stat(p.c_str(), &before), 0);
  WriteFile(p, text);
  struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0);
}

TEST_F(RestoreCacheTest, FilesChangedAfterTheRestoreAreReadEvenWithTheirOldSizeAndMtime) {
  ObjectId first = TwoSnaps();
  Restore(first, false);
  Rewrite(root_ / "dir0/sub/f0.txt", "FILE 0.0\n");  // the restore wrote it
  Rewrite(root_ / "dir0/sub/f1.txt", "FILE 0.1\n");  // the restore left it
  SnapResult after = SnapNow();
  EXPECT_EQ(after.stats.files_read, 2u);
  EXPECT_NE(after.snap.root, RootOf(first));
}

TEST_F(RestoreCacheTest, AFileAddedAfterTheRestoreIsFound) {
  ObjectId first = TwoSnaps();
  Restore(first, false);
  Write("dir0/sub/late.txt", "late\n");
  SnapResult after = SnapNow();
  EXPECT_EQ(after.stats.files_read, 1u);
  EXPECT_EQ(after.stats.files, 23u);
}

TEST_F(RestoreCacheTest, OnlyRecordedStatFieldsAreWritten) {
  WrittenFiles written;
  fs::path p = tmp_ / "f";
  WriteFile(p, "x");
  struct stat st;
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  written.Add(st);
  written.Seal();
  EXPECT_TRUE(written.Has(st));
  struct stat other = st;
  other.st_ctim.tv_nsec ^= 1;
  EXPECT_FALSE(written.Has(other));
  other = st;
  other.st_size++;
  EXPECT_FALSE(written.Has(other));
  other = st;
  other.st_ino++;
  EXPECT_FALSE(written.Has(other));
}

}  // namespace
}  // namespace converge
