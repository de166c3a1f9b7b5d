// TreeSync (workspace/tree_sync.h). The check pass: the objects of the files
// to write are checked in bounded batches as the walk goes, the first failure
// is kept and returned by CheckObjects, after the walk's clobber check. The
// apply pass: a directory the tree lacks is built under a staging name and
// appears whole in Finish, or not at all.
#include "workspace/tree_sync.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <map>

#include "workspace/workspace.h"

#include "store/tree.h"
#include "support/process.h"
#include "support/store_helpers.h"
#include "support/workspace_fixture.h"

namespace converge {
namespace {

class TreeSyncCheckTest : public testing::WorkspaceTest {
 protected:
  // Snaps files f0..f{n-1} (in walk order: names sort bytewise, so two
  // digits) and returns the snap's root manifest and each file's blob.
  ObjectId SnapFiles(int n, std::vector<ObjectId>* blobs) {
    for (int i = 0; i < n; i++) Write(Name(i), "content " + std::to_string(i));
    ObjectId id = Snap();
    TreeReader reader(ws().store());
    Result<converge::Snap> s = reader.ReadSnap(id);
    EXPECT_TRUE(s.ok());
    Result<Manifest> m = reader.ReadManifest(s->root);
    EXPECT_TRUE(m.ok());
    for (int i = 0; i < n; i++)
      for (const Entry& e : m->entries)
        if (e.name == Name(i)) blobs->push_back(e.id);
    EXPECT_EQ(blobs->size(), static_cast<size_t>(n));
    return s->root;
  }
  static std::string Name(int i) {
    return "f" + std::string(i < 10 ? "0" : "") + std::to_string(i);
  }

  // A check pass over the workspace root against `want`, with nothing
  // captured: the files the disk lacks are to be written, so checked.
  Status CheckPass(const ObjectId& want, size_t batch, TreeSync* sync) {
    sync->set_check_batch(batch);
    int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    return sync->Sync(std::make_shared<Fd>(fd), "", want, std::nullopt);
  }
};

TEST_F(TreeSyncCheckTest, ChecksMoreFilesThanOneBatchInSeveralBatches) {
  std::vector<ObjectId> blobs;
  ObjectId root = SnapFiles(7, &blobs);
  for (int i = 0; i < 7; i++) fs::remove(root_ / Name(i));
  TreeReader reader(ws().store());
  TreeSync sync(reader, nullptr, false);
  ASSERT_TRUE(CheckPass(root, 3, &sync).ok());
  Status st = sync.CheckObjects();
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(sync.files_to_write(), 7u);
  EXPECT_EQ(sync.check_batches(), 3u);  // 3 + 3 during the walk, the last 1 at the end
}

TEST_F(TreeSyncCheckTest, AFailureInALaterBatchIsFoundAndTheFirstOneKept) {
  std::vector<ObjectId> blobs;
  ObjectId root = SnapFiles(9, &blobs);
  for (int i = 0; i < 9; i++) fs::remove(root_ / Name(i));
  // f04 is in the second batch of three, f07 in the third.
  testing::RemoveObject(ws().store(), blobs[4]);
  testing::RemoveObject(ws().store(), blobs[7]);
  TreeReader reader(ws().store());
  TreeSync sync(reader, nullptr, false);
  ASSERT_TRUE(CheckPass(root, 3, &sync).ok());
  // The walk went on past the failure: the clobber check is whole.
  EXPECT_EQ(sync.files_to_write(), 9u);
  Status st = sync.CheckObjects();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_NE(st.message().find(blobs[4].hex()), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(Name(4)), std::string::npos) << st.message();
  EXPECT_EQ(sync.check_batches(), 2u);  // nothing is checked after the first failure
  EXPECT_TRUE(sync.CheckObjects().code() == Code::kNotFound);  // kept
}

TEST_F(TreeSyncCheckTest, ClobberCheckSeesTheWholeTreeWhenAnEarlyBatchFails) {
  std::vector<ObjectId> blobs;
  Write("zz.txt", "as snapped");
  ObjectId root = SnapFiles(4, &blobs);
  for (int i = 0; i < 4; i++) fs::remove(root_ / Name(i));
  testing::RemoveObject(ws().store(), blobs[0]);
  Write("zz.txt", "changed since, never captured");
  TreeReader reader(ws().store());
  TreeSync sync(reader, nullptr, false);
  ASSERT_TRUE(CheckPass(root, 2, &sync).ok());
  EXPECT_EQ(sync.clobbered_count(), 1u);
  ASSERT_EQ(sync.clobbered().size(), 1u);
  EXPECT_EQ(sync.clobbered()[0], "zz.txt");
  EXPECT_EQ(sync.CheckObjects().code(), Code::kNotFound);
}

class TreeSyncApplyTest : public TreeSyncCheckTest {
 protected:
  // Snaps new/a.txt, new/sub/b.txt and top.txt, then removes them from disk.
  ObjectId SnapNewDir(ObjectId* a_blob) {
    Write("new/a.txt", "a");
    Write("new/sub/b.txt", "b");
    Write("top.txt", "top");
    ObjectId id = Snap();
    TreeReader reader(ws().store());
    Result<converge::Snap> s = reader.ReadSnap(id);
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE(WalkTree(reader, s->root, [&](const std::string& path, const Entry& e) {
                  if (path == "new/a.txt") *a_blob = e.id;
                  return Status::Ok();
                }).ok());
    fs::remove_all(root_ / "new");
    fs::remove(root_ / "top.txt");
    return s->root;
  }
  // What an in-place restore's writing side holds: a queue and the apply
  // pass's TreeSync over the workspace's store.
  struct Applier {
    explicit Applier(const ObjectStore& store)
        : reader(store), queue(reader, nullptr), sync(reader, &queue, false) {}
    TreeReader reader;
    FileQueue queue;
    TreeSync sync;
  };
  // The build step and the apply pass over the workspace root, each up to
  // the queue's flush, as RestoreInPlace runs them; stops after the build
  // step when `build_only`.
  Status Apply(const ObjectId& want, Applier* a, bool build_only = false) {
    int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    auto root = std::make_shared<Fd>(fd);
    Status st = a->sync.BuildNew(root, "", want, std::nullopt);
    st = a->queue.FlushOrCancel(st);
    if (!st.ok() || build_only) return st;
    return a->queue.FlushOrCancel(a->sync.Sync(root, "", want, std::nullopt));
  }
  std::vector<std::string> Leftovers() {
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(root_))
      if (Workspace::IsRestoreLeftover(e.path().filename().string()))
        found.push_back(e.path().filename().string());
    return found;
  }
};

TEST_F(TreeSyncApplyTest, ANewDirectoryIsBuiltAsideAndAppearsWholeInFinish) {
  ObjectId a;
  ObjectId root = SnapNewDir(&a);
  Applier ap(ws().store());
  ASSERT_TRUE(Apply(root, &ap).ok());
  // Every file is written, the directory is not there yet: only its staging.
  EXPECT_FALSE(fs::exists(root_ / "new"));
  EXPECT_EQ(Leftovers().size(), 1u);
  // A file of a directory the tree has is in place already.
  EXPECT_EQ(testing::ReadFileOrDie(root_ / "top.txt"), "top");
  Status st = ap.sync.Finish(Status::Ok());
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(testing::ReadFileOrDie(root_ / "new" / "a.txt"), "a");
  EXPECT_EQ(testing::ReadFileOrDie(root_ / "new" / "sub" / "b.txt"), "b");
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(TreeSyncApplyTest, AFailedWriteLeavesNeitherTheDirectoryNorItsStaging) {
  ObjectId a;
  ObjectId root = SnapNewDir(&a);
  testing::RemoveObject(ws().store(), a);  // no check pass ran: the write finds it
  Applier ap(ws().store());
  Status st = ap.sync.Finish(Apply(root, &ap, /*build_only=*/true));
  EXPECT_EQ(st.code(), Code::kNotFound) << st.message();
  EXPECT_FALSE(fs::exists(root_ / "new"));
  EXPECT_FALSE(fs::exists(root_ / "top.txt"));  // the apply pass's: not reached
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(TreeSyncApplyTest, TheCheckPassLeavesRehashingToTheBuildStepOnlyInNewDirectories) {
  ObjectId a;
  ObjectId root = SnapNewDir(&a);
  Applier ap(ws().store());
  // Damaged in place (same size): only re-hashing finds it.
  testing::DamageObject(ws().store(), a, 0);
  TreeSync check(ap.reader, nullptr, false);
  ASSERT_TRUE(CheckPass(root, 100, &check).ok());
  EXPECT_TRUE(check.CheckObjects().ok());  // new/a.txt is written aside: not re-hashed here
  Status st = ap.sync.Finish(Apply(root, &ap, /*build_only=*/true));
  EXPECT_EQ(st.code(), Code::kCorrupt) << st.message();  // writing re-hashes it
  EXPECT_FALSE(fs::exists(root_ / "new"));
  EXPECT_TRUE(Leftovers().empty());
  // The same damaged blob under a name in a directory the tree has is re-hashed first.
  fs::create_directory(root_ / "new");
  TreeSync recheck(ap.reader, nullptr, false);
  ASSERT_TRUE(CheckPass(root, 100, &recheck).ok());
  EXPECT_EQ(recheck.CheckObjects().code(), Code::kCorrupt);
}

TEST_F(TreeSyncApplyTest, ADirectoryThatAppearsMeanwhileIsNeitherReplacedNorFilled) {
  ObjectId a;
  ObjectId root = SnapNewDir(&a);
  Applier ap(ws().store());
  ASSERT_TRUE(Apply(root, &ap).ok());
  fs::create_directory(root_ / "new");  // empty: rename(2) alone would replace it
  Status st = ap.sync.Finish(Status::Ok());
  EXPECT_EQ(st.code(), Code::kConflict) << st.message();
  EXPECT_NE(st.message().find("new"), std::string::npos) << st.message();
  EXPECT_TRUE(fs::is_empty(root_ / "new"));
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(TreeSyncApplyTest, NewDirectoriesPastTheStagingLimitAreCheckedWholeAndBuiltInPlace) {
  // More new directories than TreeSync stages (64): d00..d69, each one file.
  constexpr int kDirs = 70;
  auto dir = [](int i) { return "d" + std::string(i < 10 ? "0" : "") + std::to_string(i); };
  for (int i = 0; i < kDirs; i++) Write(dir(i) + "/f.txt", "file " + std::to_string(i));
  ObjectId id = Snap();
  TreeReader reader(ws().store());
  Result<converge::Snap> snap = reader.ReadSnap(id);
  ASSERT_TRUE(snap.ok());
  std::map<std::string, ObjectId> blobs;
  ASSERT_TRUE(WalkTree(reader, snap->root, [&](const std::string& path, const Entry& e) {
                blobs[path] = e.id;
                return Status::Ok();
              }).ok());
  for (int i = 0; i < kDirs; i++) fs::remove_all(root_ / dir(i));
  // The last one is past the limit: the check pass re-hashes its file.
  testing::DamageObject(ws().store(), blobs[dir(kDirs - 1) + "/f.txt"], 0);
  TreeSync check(reader, nullptr, false);
  ASSERT_TRUE(CheckPass(snap->root, 100, &check).ok());
  Status st = check.CheckObjects();
  EXPECT_EQ(st.code(), Code::kCorrupt) << st.message();
  EXPECT_NE(st.message().find(dir(kDirs - 1)), std::string::npos) << st.message();
  // Restored from an intact copy of that file, every directory lands.
  testing::DamageObject(ws().store(), blobs[dir(kDirs - 1) + "/f.txt"], 0);  // flipped back
  Applier ap(ws().store());
  st = ap.sync.Finish(Apply(snap->root, &ap));
  ASSERT_TRUE(st.ok()) << st.message();
  for (int i = 0; i < kDirs; i++)
    EXPECT_EQ(testing::ReadFileOrDie(root_ / dir(i) / "f.txt"), "file " + std::to_string(i));
  EXPECT_TRUE(Leftovers().empty());
}

}  // namespace
}  // namespace converge
