// Per-directory reuse (workspace/capture.h, capture_walk.h, stat_cache.h): a
// directory whose entries come out as the stat cache holds them keeps its
// manifest ID without being encoded, hashed or stored again; a change deep in
// the tree re-makes exactly the manifests on its path; a change of the ignore
// rules is honoured; reuse never hides a change of any kind. A directory whose
// own stat is unchanged is not listed again, unless it is racy or holds
// something skipped with a warning (which every snap repeats).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "store/tree.h"
#include "support/tree_helpers.h"
#include "support/workspace_fixture.h"
#include "workspace/diff.h"
#include "workspace/snapshot.h"
#include "workspace/stat_cache.h"

namespace converge {
namespace {

// Directories: the root, a, a/b, a/b/c, a/b/c/d, a/e, x, x/y: 8.
constexpr uint64_t kDirs = 8;

class ManifestReuseTest : public testing::WorkspaceTest {
 protected:
  void SetUp() override {
    WorkspaceTest::SetUp();
    if (HasFatalFailure()) return;
    Write("top.txt", "top\n");
    Write("a/a.txt", "a\n");
    Write("a/b/b.txt", "b\n");
    Write("a/b/c/c.txt", "c\n");
    Write("a/b/c/d/deep.txt", "deep\n");
    Write("a/e/e.txt", "e\n");
    Write("x/x.txt", "x\n");
    Write("x/y/y.txt", "y\n");
    Settle();
    first_ = TakeOk();
  }
  SnapResult TakeOk() {
    Result<SnapResult> r = TakeSnap(ws(), "", false);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : SnapResult();
  }
  // The manifest ID of directory `path` ("" for the root) in snap tree `root`.
  ObjectId DirId(const ObjectId& root, const std::string& path) {
    if (path.empty()) return root;
    TreeReader reader(ws().store());
    ObjectId at = root;
    size_t begin = 0;
    for (;;) {
      size_t slash = path.find('/', begin);
      std::string name = path.substr(begin, slash == std::string::npos ? slash : slash - begin);
      Result<Manifest> m = reader.ReadManifest(at);
      EXPECT_TRUE(m.ok()) << m.status().message();
      if (!m.ok()) return ObjectId();
      bool found = false;
      for (const Entry& e : m->entries)
        if (e.name == name) at = e.id, found = true;
      EXPECT_TRUE(found) << path;
      if (slash == std::string::npos) return at;
      begin = slash + 1;
    }
  }
  std::vector<std::string> Paths(const ObjectId& root) {
    std::vector<std::string> out;
    Status st = WalkTree(TreeReader(ws().store()), root, [&](const std::string& p, const Entry&) {
      out.push_back(p);
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.message();
    return out;
  }

  SnapResult first_;
};

TEST_F(ManifestReuseTest, AnUnchangedTreeReusesEveryManifest) {
  EXPECT_EQ(first_.stats.manifests_reused, 0u);
  EXPECT_EQ(first_.stats.dirs_listed, kDirs);
  EXPECT_EQ(first_.stats.dirs + 1, kDirs);
  struct stat before;
  fs::path file = ws().meta() / StatCache::kFileName;
  ASSERT_EQ(::stat(file.c_str(), &before), 0);
  SnapResult again = TakeOk();
  EXPECT_EQ(again.stats.manifests_reused, kDirs);
  EXPECT_EQ(again.stats.dirs_listed, 0u) << "no directory changed: none is read";
  EXPECT_EQ(again.stats.files_read, 0u);
  EXPECT_EQ(again.stats.objects_written, 0u);
  EXPECT_EQ(again.snap.root, first_.snap.root);
  // Nothing changed, so the cache file is not written again either.
  struct stat after;
  ASSERT_EQ(::stat(file.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
}

TEST_F(ManifestReuseTest, ADeepChangeRemakesExactlyTheManifestsOnItsPath) {
  Write("a/b/c/d/deep.txt", "deeper\n");
  Settle();
  SnapResult changed = TakeOk();
  EXPECT_EQ(changed.stats.files_read, 1u);
  EXPECT_EQ(changed.stats.dirs_listed, 0u) << "a file changed in place: no directory did";
  EXPECT_EQ(changed.stats.manifests_reused, kDirs - 5);  // all but "", a, a/b, a/b/c, a/b/c/d
  // One blob and the five manifests on the path are new; nothing else.
  EXPECT_EQ(changed.stats.objects_written, 6u);
  for (const char* on_path : {"", "a", "a/b", "a/b/c", "a/b/c/d"})
    EXPECT_NE(DirId(changed.snap.root, on_path), DirId(first_.snap.root, on_path)) << on_path;
  for (const char* off_path : {"a/e", "x", "x/y"})
    EXPECT_EQ(DirId(changed.snap.root, off_path), DirId(first_.snap.root, off_path)) << off_path;
  // The file cached the new manifests: the next snap reuses them all.
  EXPECT_EQ(TakeOk().stats.manifests_reused, kDirs);
}

// Changes that leave a file's content alone, or touch no file at all, still
// change the tree: none may hide behind a reused manifest.
TEST_F(ManifestReuseTest, EveryKindOfChangeIsSeen) {
  std::vector<std::pair<std::string, std::function<void()>>> changes = {
      {"exec bit",
       [&] { fs::permissions(root_ / "x/y/y.txt", fs::perms::owner_exec, fs::perm_options::add); }},
      {"new symlink", [&] { fs::create_symlink("y.txt", root_ / "x/y/link"); }},
      {"symlink target",
       [&] {
         fs::remove(root_ / "x/y/link");
         fs::create_symlink("../x.txt", root_ / "x/y/link");
       }},
      {"new empty dir", [&] { fs::create_directory(root_ / "a/e/empty"); }},
      {"removed empty dir", [&] { fs::remove(root_ / "a/e/empty"); }},
      {"removed file", [&] { fs::remove(root_ / "a/b/b.txt"); }},
      {"renamed file", [&] { fs::rename(root_ / "a/a.txt", root_ / "a/a2.txt"); }},
      {"same bytes elsewhere", [&] { Write("x/x2.txt", "x\n"); }},
  };
  ObjectId before = first_.snap.root;
  for (auto& [what, change] : changes) {
    change();
    Settle();
    SnapResult r = TakeOk();
    EXPECT_NE(r.snap.root, before) << what;
    EXPECT_GT(r.stats.manifests_reused, 0u) << what;
    // The snap holds what a capture without any cache holds.
    fs::remove(ws().meta() / StatCache::kFileName);
    SnapResult cold = TakeOk();
    EXPECT_EQ(cold.stats.manifests_reused, 0u) << what;
    EXPECT_EQ(cold.snap.root, r.snap.root) << what;
    before = r.snap.root;
  }
}

TEST_F(ManifestReuseTest, AChangedIgnoreRuleIsHonoured) {
  Write(".convergeignore", "deep.txt\n");
  Settle();
  SnapResult ignored = TakeOk();
  EXPECT_EQ(ignored.stats.manifests_reused, 0u) << "manifests made under other rules";
  std::vector<std::string> paths = Paths(ignored.snap.root);
  EXPECT_EQ(std::count(paths.begin(), paths.end(), "a/b/c/d/deep.txt"), 0);
  EXPECT_EQ(std::count(paths.begin(), paths.end(), "a/b/c/d"), 1);
  EXPECT_EQ(TakeOk().stats.manifests_reused, kDirs) << "the same rules again";

  // Other rules: what they no longer ignore is back, what they ignore is gone.
  Write(".convergeignore", "y.txt\n");
  Settle();
  SnapResult other = TakeOk();
  paths = Paths(other.snap.root);
  EXPECT_EQ(std::count(paths.begin(), paths.end(), "a/b/c/d/deep.txt"), 1);
  EXPECT_EQ(std::count(paths.begin(), paths.end(), "x/y/y.txt"), 0);
}

// Adding or removing a name changes its directory's mtime: that directory,
// and no other, is read again.
TEST_F(ManifestReuseTest, OnlyAChangedDirectoryIsListedAgain) {
  Write("x/y/new.txt", "new\n");
  Settle();
  SnapResult added = TakeOk();
  EXPECT_EQ(added.stats.dirs_listed, 1u);
  EXPECT_EQ(added.stats.files, first_.stats.files + 1);
  std::vector<std::string> paths = Paths(added.snap.root);
  EXPECT_EQ(std::count(paths.begin(), paths.end(), "x/y/new.txt"), 1);
  fs::remove(root_ / "x/y/new.txt");
  fs::remove(root_ / "a/e/e.txt");
  Settle();
  SnapResult removed = TakeOk();
  EXPECT_EQ(removed.stats.dirs_listed, 2u);
  paths = Paths(removed.snap.root);
  EXPECT_EQ(std::count(paths.begin(), paths.end(), "x/y/new.txt"), 0);
  EXPECT_EQ(std::count(paths.begin(), paths.end(), "a/e/e.txt"), 0);
  EXPECT_EQ(TakeOk().stats.dirs_listed, 0u);
}

// A directory changed at or after the capture began is racy: a change in the
// same timestamp granule would not move its mtime, so it is listed every
// time until its mtime is in the past.
TEST_F(ManifestReuseTest, ARacyDirectoryIsListedEveryTime) {
  fs::path dir = root_ / "x" / "y";
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = ::time(nullptr) + 3600;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  ASSERT_EQ(::utimensat(AT_FDCWD, dir.c_str(), times, 0), 0);
  for (int i = 0; i < 2; i++) {
    SnapResult r = TakeOk();
    EXPECT_EQ(r.stats.dirs_listed, 1u) << i;
    EXPECT_EQ(r.snap.root, first_.snap.root);
  }
}

// What is skipped with a warning (a FIFO here) is warned about by every
// snap, so its directory is always listed.
TEST_F(ManifestReuseTest, ADirectoryWithAWarningIsListedEveryTime) {
  ASSERT_EQ(::mkfifo((root_ / "a/b/pipe").c_str(), 0600), 0);
  Settle();
  for (int i = 0; i < 2; i++) {
    SnapResult r = TakeOk();
    EXPECT_EQ(r.stats.dirs_listed, 1u) << i;
    ASSERT_EQ(r.stats.warnings.size(), 1u) << i;
    EXPECT_NE(r.stats.warnings[0].find("a/b/pipe"), std::string::npos) << r.stats.warnings[0];
  }
}

// Only directories on the filesystem that holds .converge, where a probe
// showed that a new entry moves its directory's mtime, are trusted to be
// unchanged by their stat: a directory on another filesystem (here a tmpfs
// mounted inside the tree; a FUSE one might not move mtimes) is always listed.
TEST_F(ManifestReuseTest, ADirectoryOnAnotherFilesystemIsAlwaysListed) {
  fs::path mnt = root_ / "mnt";
  fs::create_directory(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): " << std::strerror(errno);
  struct Unmount {
    fs::path dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{mnt};
  Write("mnt/sub/m.txt", "on the tmpfs\n");
  Settle();
  SnapResult with = TakeOk();
  EXPECT_EQ(with.stats.files, first_.stats.files + 1);
  for (int i = 0; i < 2; i++) {
    SnapResult again = TakeOk();
    EXPECT_EQ(again.stats.dirs_listed, 2u) << "mnt and mnt/sub, every time";
    EXPECT_EQ(again.stats.files_read, 0u);
    EXPECT_EQ(again.snap.root, with.snap.root);
  }
}

// status and diff capture without storing: a reused manifest is read from
// the store, where the snap that cached it put it.
TEST_F(ManifestReuseTest, DiffAgainstTheTreeReadsReusedManifests) {
  Write("x/y/y.txt", "changed\n");
  Settle();
  Result<std::vector<Change>> changes = DiffWorkspace(ws(), std::nullopt, std::nullopt);
  ASSERT_TRUE(changes.ok()) << changes.status().message();
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].path, "x/y/y.txt");
  EXPECT_EQ((*changes)[0].change, 'M');
}

}  // namespace
}  // namespace converge
