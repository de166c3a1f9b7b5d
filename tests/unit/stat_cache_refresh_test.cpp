// status and diff refresh the stat cache (workspace/capture.h,
// RefreshStatCache): files whose stat changed but whose content did not are
// read by one of them, not by every one until the next snap; and never when
// the tree is not the head snap's or the workspace lock is taken.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/process.h"
#include "support/tree_helpers.h"
#include "support/workspace_fixture.h"
#include "workspace/capture.h"
#include "workspace/diff.h"
#include "workspace/lock.h"
#include "workspace/stat_cache.h"

namespace converge {
namespace {

class StatCacheRefreshTest : public testing::WorkspaceTest {
 protected:
  void SetUp() override {
    testing::WorkspaceTest::SetUp();
    for (int i = 0; i < 6; i++)
      Write("d" + std::to_string(i % 2) + "/f" + std::to_string(i) + ".txt",
            "file " + std::to_string(i) + "\n");
    Settle();
    Snap("first");
  }

  // Rewrites every file with the bytes it has: new mtime and ctime, same content.
  void TouchAll() {
    for (int i = 0; i < 6; i++) {
      std::string rel = "d" + std::to_string(i % 2) + "/f" + std::to_string(i) + ".txt";
      Write(rel, testing::ReadFileOrDie(root_ / rel));
    }
    Settle();
  }

  // How many files a capture that stores nothing reads now.
  uint64_t FilesReadNow() {
    CaptureOptions opts;
    opts.store = false;
    Result<CapturedTree> t = CaptureTree(ws(), opts);
    EXPECT_TRUE(t.ok()) << t.status().message();
    return t.ok() ? t->stats.files_read : 0;
  }

  fs::path CacheFile() { return ws().meta() / StatCache::kFileName; }
  ino_t CacheInode() {
    struct stat st {};
    EXPECT_EQ(::stat(CacheFile().c_str(), &st), 0);
    return st.st_ino;
  }
};

TEST_F(StatCacheRefreshTest, ADiffOfAnUnchangedTreeRefreshesTouchedFiles) {
  TouchAll();
  EXPECT_EQ(FilesReadNow(), 6u);  // a capture that does not refresh leaves them
  Result<std::vector<Change>> diff = DiffWorkspace(ws(), std::nullopt, std::nullopt);
  ASSERT_TRUE(diff.ok()) << diff.status().message();
  EXPECT_TRUE(diff->empty());
  EXPECT_EQ(FilesReadNow(), 0u);
}

TEST_F(StatCacheRefreshTest, ATreeThatIsNotTheHeadSnapsLeavesTheCache) {
  TouchAll();
  Write("d0/f0.txt", "changed\n");
  Settle();
  ino_t before = CacheInode();
  Result<std::vector<Change>> diff = DiffWorkspace(ws(), std::nullopt, std::nullopt);
  ASSERT_TRUE(diff.ok()) << diff.status().message();
  EXPECT_EQ(diff->size(), 1u);
  EXPECT_EQ(CacheInode(), before) << "a changed file's ID is in no snap: nothing is saved";
  EXPECT_EQ(FilesReadNow(), 6u);
}

// A file whose mtime is in the future is racy however often it is read: a
// refresh would not spare the next status reading it, so none is made.
TEST_F(StatCacheRefreshTest, AFileNoCacheCanVouchForCausesNoRefresh) {
  fs::path p = root_ / "d0/f0.txt";
  struct timespec times[2] = {{0, UTIME_OMIT}, {::time(nullptr) + 86400, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0);
  ino_t before = CacheInode();
  CaptureOptions opts;
  opts.store = false;
  Result<CapturedTree> t = CaptureTree(ws(), opts);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->stats.files_read, 1u);
  EXPECT_EQ(t->stats.cache_fixable, 0u);
  EXPECT_FALSE(RefreshStatCache(ws(), *t, "converge status"));
  EXPECT_EQ(CacheInode(), before);
}

TEST_F(StatCacheRefreshTest, ATakenLockLeavesTheCacheAndIsNotWaitedFor) {
  TouchAll();
  ino_t before = CacheInode();
  {
    Result<WorkspaceLock> held = WorkspaceLock::Acquire(ws(), "the test", LockOptions{});
    ASSERT_TRUE(held.ok()) << held.status().message();
    CaptureOptions opts;
    opts.store = false;
    Result<CapturedTree> t = CaptureTree(ws(), opts);
    ASSERT_TRUE(t.ok()) << t.status().message();
    EXPECT_FALSE(RefreshStatCache(ws(), *t, "converge status"));
  }
  EXPECT_EQ(CacheInode(), before);
}

}  // namespace
}  // namespace converge
