// FileQueue (workspace/file_queue.h): restore's writes on worker threads
// while the walk goes on; more runs than the queue holds; a failed write
// stops the rest and reaches the walk; Cancel leaves nothing being written.
// Also in threaded_tests (TSan).
#include "workspace/file_queue.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "store/tree.h"
#include "support/process.h"
#include "support/store_helpers.h"

namespace converge {
namespace {

using testing::ReadFileOrDie;
using testing::TempDir;

class FileQueueTest : public ::testing::Test {
 protected:
  FileQueueTest() : store_(*ObjectStore::Open(dir_.path() / "store")), reader_(store_) {
    fs::create_directories(out());
  }
  fs::path out() const { return dir_.path() / "out"; }

  // A file entry for `content`, stored unless `stored` is false.
  Entry File(const std::string& name, const std::string& content, bool stored = true) {
    Entry e;
    e.name = name;
    e.type = EntryType::kFile;
    e.size = content.size();
    e.id = ObjectId::Of(content);
    if (stored) {
      EXPECT_TRUE(store_.Put(content).ok());
    }
    return e;
  }
  // Directory `name` under out(), made and opened.
  std::shared_ptr<Fd> Dir(const std::string& name) {
    fs::create_directories(out() / name);
    int fd = ::open((out() / name).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    return std::make_shared<Fd>(fd);
  }
  static std::string Content(int d, int f) {
    return "dir " + std::to_string(d) + " file " + std::to_string(f) + "\n";
  }

  TempDir dir_;
  ObjectStore store_;
  TreeReader reader_;
};

TEST_F(FileQueueTest, MoreDirectoriesThanTheQueueHoldsAreAllWritten) {
  // 270 directories of 2 files: more runs than the 256 queued at once; then
  // one of 150: longer than two runs of 64.
  FileQueue queue(reader_, nullptr);
  for (int d = 0; d < 271; d++) {
    std::shared_ptr<Fd> dir = Dir("d" + std::to_string(d));
    for (int f = 0; f < (d == 270 ? 150 : 2); f++)
      ASSERT_TRUE(queue.Add(dir, File("f" + std::to_string(f), Content(d, f)), "x").ok());
  }
  ASSERT_TRUE(queue.Flush().ok());
  EXPECT_EQ(queue.written(), 270u * 2u + 150u);
  for (int d = 0; d < 270; d += 37)
    EXPECT_EQ(ReadFileOrDie(out() / ("d" + std::to_string(d)) / "f1"), Content(d, 1));
  for (int f = 0; f < 150; f += 23)
    EXPECT_EQ(ReadFileOrDie(out() / "d270" / ("f" + std::to_string(f))), Content(270, f));
  // The queue is used again after a flush (restore's build step, then its sync).
  ASSERT_TRUE(queue.Add(Dir("again"), File("g", "again\n"), "again/g").ok());
  ASSERT_TRUE(queue.Flush().ok());
  EXPECT_EQ(ReadFileOrDie(out() / "again/g"), "again\n");
}

TEST_F(FileQueueTest, AFailedWriteStopsTheQueueAndReachesTheWalk) {
  FileQueue queue(reader_, nullptr);
  std::shared_ptr<Fd> dir = Dir("d");
  ASSERT_TRUE(queue.Add(dir, File("missing", "never stored\n", false), "d/missing").ok());
  // The walk learns of the failure at an Add or at the flush, whichever
  // comes after the worker met it; then nothing more is taken.
  Status st = Status::Ok();
  for (int f = 0; f < 1000 && st.ok(); f++) {
    std::shared_ptr<Fd> other = Dir("e" + std::to_string(f / 64));
    st = queue.Add(other, File("f" + std::to_string(f), Content(0, f)), "e/f");
  }
  Status flushed = queue.FlushOrCancel(st);
  ASSERT_FALSE(flushed.ok());
  EXPECT_NE(flushed.message().find("d/missing"), std::string::npos) << flushed.message();
  EXPECT_LT(queue.written(), 1000u);
  EXPECT_FALSE(fs::exists(out() / "d/missing"));
  EXPECT_TRUE(fs::is_empty(out() / "d"));  // no temp file left behind
}

TEST_F(FileQueueTest, CancelLeavesNothingBeingWritten) {
  FileQueue queue(reader_, nullptr);
  for (int d = 0; d < 10; d++) {
    std::shared_ptr<Fd> dir = Dir("d" + std::to_string(d));
    for (int f = 0; f < 64; f++)
      ASSERT_TRUE(queue.Add(dir, File("f" + std::to_string(f), Content(d, f)), "x").ok());
  }
  queue.Cancel();
  uint64_t written = queue.written();
  // What the caller removes now stays removed: no worker writes after Cancel.
  fs::remove_all(out());
  EXPECT_EQ(queue.written(), written);
  EXPECT_FALSE(fs::exists(out()));
  EXPECT_FALSE(queue.FlushOrCancel(Corrupt("the walk failed")).ok());
  EXPECT_FALSE(fs::exists(out()));
}

}  // namespace
}  // namespace converge
