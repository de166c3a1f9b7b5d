// Very deep trees (issue 11, item 5): the depth limit, measured without
// recursion; restore refusing a tree past it before writing anything; and
// the walks that write or remove directories going depth first with one
// directory open, so that a tree at the limit restores, and a leftover of
// any depth is removed, under a small descriptor limit.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/random.h"
#include "store/fsck.h"
#include "store/tree_depth.h"
#include "support/process.h"
#include "support/store_helpers.h"
#include "support/tree_helpers.h"
#include "support/workspace_fixture.h"
#include "workspace/restore.h"
#include "workspace/snap_index.h"
#include "workspace/snapshot.h"

namespace converge {
namespace {

using testing::DescribeTree;
using testing::ReadFileOrDie;
using testing::WriteFile;

constexpr size_t kHostileDepth = 30000;
// On disk (and for fsck, which re-hashes every object), where every level
// costs syscalls: far past what 96 descriptors, or the default 1024, could
// hold one per level, and past the limit.
constexpr size_t kDiskDepth = 3000;

// Lowers the soft limit on open descriptors for one test: the walks must not
// hold one per level. 96 is far below the 256 levels a tree may have.
class FewDescriptors {
 public:
  explicit FewDescriptors(rlim_t n = 96) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = std::min<rlim_t>(n, saved_.rlim_cur);
    ::setrlimit(RLIMIT_NOFILE, &low);
  }
  ~FewDescriptors() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

template <class F>
auto WithFewDescriptors(F f) {
  FewDescriptors few;
  return f();
}

// "d/d/.../d" with `levels` names.
std::string ChainPath(size_t levels) {
  std::string p;
  for (size_t i = 0; i < levels; i++) p += i ? "/d" : "d";
  return p;
}

// A directory chain `levels` deep made on disk with one descriptor at a time
// (a path that long is past PATH_MAX, so it cannot be made by name).
void MakeDiskChain(const fs::path& top, size_t levels) {
  fs::create_directories(top);
  int fd = ::open(top.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  for (size_t i = 0; i < levels; i++) {
    ASSERT_EQ(::mkdirat(fd, "d", 0755), 0) << "level " << i;
    int sub = ::openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(sub, 0);
    if (i % 1000 == 0) {
      int file = ::openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      ::close(file);
    }
    ::close(fd);
    fd = sub;
  }
  ::close(fd);
}

class DeepTreeTest : public testing::WorkspaceTest {
 protected:
  // A snap whose tree is a chain of `levels` directories named "d" (what no
  // capture makes past the limit: only a hostile or old server could send
  // it). The object files are written directly, without a sync each: the
  // test is about reading them.
  ObjectId ChainSnap(size_t levels) {
    auto put = [&](const std::string& bytes) {
      ObjectId id = ObjectId::Of(bytes);
      WriteFile(ws().store().PathOf(id), bytes);
      return id;
    };
    ObjectId at = put(EncodeManifest(Manifest{}));
    for (size_t i = 0; i < levels; i++) {
      Entry e;
      e.name = "d";
      e.type = EntryType::kDir;
      e.id = at;
      at = put(EncodeManifest(Manifest{{e}}));
    }
    converge::Snap s;
    s.root = at;
    s.created_at = "2026-01-01T00:00:00Z";
    s.workspace_id = "deep";
    return put(EncodeSnap(s));
  }

  // Entries in `dir` named like restore's staging.
  static int Staging(const fs::path& dir) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir))
      if (Workspace::IsRestoreLeftover(e.path().filename().string())) n++;
    return n;
  }
};

TEST_F(DeepTreeTest, DepthIsMeasuredWithoutRecursion) {
  TreeReader reader(ws().store());
  ObjectId snap = ChainSnap(kHostileDepth);
  ObjectId root = reader.ReadSnap(snap)->root;
  TreeDepth depth(reader);
  Result<uint64_t> d = depth.Of(root);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(*d, kHostileDepth);
  Status st = depth.Check(root, "the tree");
  EXPECT_EQ(st.code(), Code::kCorrupt);
  EXPECT_NE(st.message().find("limit of 256"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("level 257"), std::string::npos) << st.message();
  EXPECT_LT(st.message().size(), 1000u) << "a hostile path is shown shortened";
  // Walks stop at the limit instead of going 30,000 levels down.
  Status walk =
      WalkTree(reader, root, [](const std::string&, const Entry&) { return Status::Ok(); });
  EXPECT_EQ(walk.code(), Code::kCorrupt);
  EXPECT_NE(walk.message().find("limit of 256"), std::string::npos) << walk.message();
  Result<std::vector<Change>> diff = DiffTrees(reader, ObjectId::Of(EncodeManifest({})), root);
  EXPECT_EQ(diff.status().code(), Code::kCorrupt);
}

TEST_F(DeepTreeTest, FsckReportsATreePastTheLimit) {
  // fsck re-hashes every object: a shallower hostile tree keeps it quick.
  ObjectId deep = ChainSnap(kDiskDepth), fine = ChainSnap(kMaxTreeDepth);
  FsckReport report;
  Result<ObjectCensus> census = TakeCensus(ws().store(), report);
  ASSERT_TRUE(census.ok());
  ClosureCheck check(ws().store(), *census, report);
  EXPECT_TRUE(check.Check(ObjectKind::kSnap, fine, "the fine one"));
  EXPECT_TRUE(report.ok());
  EXPECT_FALSE(check.Check(ObjectKind::kSnap, deep, "the deep one"));
  ASSERT_EQ(report.errors(), 1u);
  EXPECT_NE(report.problems[0].problem.find("limit of 256"), std::string::npos)
      << report.problems[0].problem;
  EXPECT_NE(report.problems[0].problem.find(std::to_string(kDiskDepth) + " levels deep"),
            std::string::npos);
  EXPECT_NE(report.problems[0].problem.find("the deep one"), std::string::npos);
}

TEST_F(DeepTreeTest, TheLimitIsExact) {
  TreeReader reader(ws().store());
  TreeDepth depth(reader);
  EXPECT_TRUE(depth.Check(reader.ReadSnap(ChainSnap(kMaxTreeDepth))->root, "t").ok());
  EXPECT_FALSE(depth.Check(reader.ReadSnap(ChainSnap(kMaxTreeDepth + 1))->root, "t").ok());
}

TEST_F(DeepTreeTest, RestoreToRefusesAHostileDepthAndLeavesNothing) {
  ObjectId snap = ChainSnap(kHostileDepth);
  fs::path out = tmp_ / "out";
  Result<RestoreStats> r = RestoreTo(ws(), snap, out, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_NE(r.status().message().find("limit of 256"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("nothing was restored"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(Staging(tmp_.path()), 0);
}

TEST_F(DeepTreeTest, RestoreInPlaceRefusesAHostileDepthAndChangesNothing) {
  WriteFile(root_ / "a.txt", "mine\n");
  WriteFile(root_ / "sub/b.txt", "also mine\n");
  ObjectId head = Snap();
  WriteFile(root_ / "new.txt", "not in a snap\n");
  auto before = DescribeTree(root_);
  ObjectId snap = ChainSnap(kHostileDepth);
  for (bool force : {false, true}) {
    Result<RestoreStats> r = RestoreInPlace(ws(), snap, force, false);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kCorrupt);
    EXPECT_NE(r.status().message().find("limit of 256"), std::string::npos) << r.status().message();
    EXPECT_EQ(DescribeTree(root_), before);
    EXPECT_EQ(SnapIndex(ws().db()).Head().value(), head);
  }
}

TEST_F(DeepTreeTest, ATreeAtTheLimitRestoresWithFewDescriptors) {
  std::string deep = ChainPath(kMaxTreeDepth);
  WriteFile(root_ / deep / "bottom.txt", "at the bottom\n");
  WriteFile(root_ / ChainPath(100) / "middle.txt", "half way\n");
  fs::create_symlink("bottom.txt", root_ / deep / "link");
  ObjectId first = Snap();
  WriteFile(root_ / deep / "bottom.txt", "changed at the bottom\n");
  WriteFile(root_ / deep / "added.txt", "new at the bottom\n");
  ObjectId second = Snap();
  auto second_tree = DescribeTree(root_);

  Result<RestoreStats> to =
      WithFewDescriptors([&] { return RestoreTo(ws(), first, tmp_ / "out", false); });
  ASSERT_TRUE(to.ok()) << to.status().message();
  EXPECT_EQ(ReadFileOrDie(tmp_ / "out" / deep / "bottom.txt"), "at the bottom\n");
  EXPECT_EQ(to->dirs, kMaxTreeDepth);

  // In place, down the 256 directories both trees have, and back.
  Result<RestoreStats> back =
      WithFewDescriptors([&] { return RestoreInPlace(ws(), first, false, false); });
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(DescribeTree(root_), DescribeTree(tmp_ / "out"));
  Result<RestoreStats> forth =
      WithFewDescriptors([&] { return RestoreInPlace(ws(), second, false, false); });
  ASSERT_TRUE(forth.ok()) << forth.status().message();
  EXPECT_EQ(DescribeTree(root_), second_tree);

  // Removed whole when a snap lacks it, and made whole when it has it.
  Result<Workspace> other = Workspace::Init(tmp_ / "flat");
  ASSERT_TRUE(other.ok());
  WriteFile(tmp_ / "flat/only.txt", "flat\n");
  Result<SnapResult> flat = TakeSnap(*other, "", false);
  ASSERT_TRUE(flat.ok());
  ASSERT_TRUE(other->store()
                  .ForEach([&](const ObjectId& o) {
                    ASSIGN_OR_RETURN(std::string bytes, other->store().Read(o));
                    return ws().store().PutExpected(o, bytes);
                  })
                  .ok());
  Result<RestoreStats> pruned =
      WithFewDescriptors([&] { return RestoreInPlace(ws(), flat->id, false, false); });
  ASSERT_TRUE(pruned.ok()) << pruned.status().message();
  EXPECT_FALSE(fs::exists(root_ / "d"));
  Result<RestoreStats> again =
      WithFewDescriptors([&] { return RestoreInPlace(ws(), second, false, false); });
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(DescribeTree(root_), second_tree);
}

TEST_F(DeepTreeTest, AFailedRestoreToRemovesItsStagingWithFewDescriptors) {
  std::string deep = ChainPath(kMaxTreeDepth);
  WriteFile(root_ / deep / "bottom.txt", "at the bottom\n");
  for (int i = 0; i < 50; i++) WriteFile(root_ / ChainPath(i + 1) / "f.txt", std::to_string(i));
  ObjectId snap = Snap();
  testing::RemoveObject(ws().store(), ObjectId::Of("at the bottom\n"));
  Result<RestoreStats> r =
      WithFewDescriptors([&] { return RestoreTo(ws(), snap, tmp_ / "out", false); });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nothing was restored"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(tmp_ / "out"));
  EXPECT_EQ(Staging(tmp_.path()), 0);
}

TEST_F(DeepTreeTest, RemoveAllRemovesAHostileDepth) {
  fs::path top = tmp_ / "leftover";
  MakeDiskChain(top, kDiskDepth);
  int fd = ::open(tmp_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Fd parent(fd);
  uint64_t removed = 0;
  FewDescriptors few;
  Status st = RemoveAllAt(fd, "leftover", top.string(), &removed);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(fs::exists(top));
  EXPECT_EQ(removed, kDiskDepth + 1 + kDiskDepth / 1000);
}

TEST_F(DeepTreeTest, InPlaceClearsADeepRestoreLeftoverInTheTree) {
  WriteFile(root_ / "a.txt", "a\n");
  ObjectId snap = Snap();
  WriteFile(root_ / "a.txt", "b\n");
  Snap();
  // What a restore killed half way can leave in the working tree.
  fs::path leftover = root_ / ".converge-restore.0123456789abcdef.tmp";
  MakeDiskChain(leftover, kDiskDepth);
  Result<RestoreStats> r =
      WithFewDescriptors([&] { return RestoreInPlace(ws(), snap, false, false); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(fs::exists(leftover));
}

// Restore in place validates the whole tree before it touches the working
// tree: the depth (above), and every object it will write, re-hashed.
TEST_F(DeepTreeTest, InPlaceRefusesADamagedObjectBeforeChangingAnything) {
  WriteFile(root_ / "a.txt", "one\n");
  WriteFile(root_ / "sub/b.txt", "two\n");
  ObjectId first = Snap();
  WriteFile(root_ / "a.txt", "one, edited\n");
  WriteFile(root_ / "sub/b.txt", "two, edited\n");
  Snap();
  auto before = DescribeTree(root_);
  ObjectId damaged = ObjectId::Of("two\n");
  testing::DamageObject(ws().store(), damaged, 1);
  Result<RestoreStats> r = RestoreInPlace(ws(), first, false, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_NE(r.status().message().find(damaged.hex()), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("partly restored"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(DescribeTree(root_), before) << "a.txt is not rewritten while b.txt cannot be";
}

}  // namespace
}  // namespace converge
