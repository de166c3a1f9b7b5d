// The next stat cache a capture makes (workspace/capture_cache.h) starts at
// the first directory that changed and copies the ones finished before from
// the old cache: the file must come out as one built from scratch, and an
// unchanged snap must write none.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <sstream>

#include "support/process.h"
#include "support/tree_helpers.h"
#include "support/workspace_fixture.h"
#include "workspace/stat_cache.h"

namespace converge {
namespace {

class CaptureCacheTest : public testing::WorkspaceTest {
 protected:
  void SetUp() override {
    testing::WorkspaceTest::SetUp();
    for (int d = 0; d < 12; d++)
      for (int f = 0; f < 4; f++)
        Write("d" + std::to_string(d) + "/s/f" + std::to_string(f) + ".txt",
              "file " + std::to_string(d) + "." + std::to_string(f) + "\n");
    fs::create_symlink("d0/s/f0.txt", root_ / "link");
    Settle();
    Snap("first");
    Settle();
  }

  fs::path CacheFile() { return ws().meta() / StatCache::kFileName; }
  ino_t CacheInode() {
    struct stat st {};
    EXPECT_EQ(::stat(CacheFile().c_str(), &st), 0);
    return st.st_ino;
  }

  // Everything the cache holds, in its (path) order.
  std::string Dump() {
    Result<StatCache> c = StatCache::Parse(testing::ReadFileOrDie(CacheFile()));
    EXPECT_TRUE(c.ok()) << c.status().message();
    if (!c.ok()) return "";
    std::ostringstream out;
    for (size_t d = 0; d < c->dir_count(); d++) {
      int i = static_cast<int>(d);
      StatEntry s = c->DirStat(i);
      std::optional<ObjectId> m = c->DirManifest(i);
      out << "dir '" << c->DirPath(i) << "' " << (m ? m->hex() : "-") << " " << s.ino << " "
          << s.mtime_ns << " " << s.ctime_ns << " " << s.racy << c->DirWarned(i) << "\n";
      for (uint32_t e = 0; e < c->DirSize(i); e++) {
        CachedEntry x = c->At(i, e);
        out << "  " << x.name << " " << int(x.kind) << " " << x.stat.id.hex() << " " << x.stat.size
            << " " << x.stat.ino << " " << x.stat.mtime_ns << " " << x.stat.ctime_ns << " "
            << x.stat.mode << " " << x.stat.racy << x.stat.chunked << x.executable << " "
            << x.target << "\n";
      }
    }
    return out.str();
  }
};

TEST_F(CaptureCacheTest, AnUnchangedSnapWritesNoCache) {
  ino_t before = CacheInode();
  Snap("again");
  EXPECT_EQ(CacheInode(), before);
}

TEST_F(CaptureCacheTest, ACacheStartedLateIsTheOneBuiltFromScratch) {
  // A change in the directory the walk comes to last (it goes depth first,
  // in name order): every other finishes unchanged before it.
  Write("d9/s/f3.txt", "changed last\n");
  Settle();
  Snap("second");
  std::string late = Dump();
  ASSERT_FALSE(late.empty());
  fs::remove(CacheFile());
  Snap("from scratch");
  EXPECT_EQ(Dump(), late);
}

}  // namespace
}  // namespace converge
