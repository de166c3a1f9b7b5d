// Restore against the library: --to into a new directory, in place, and the
// ways it must refuse or fail without writing outside its target.
#include "workspace/restore.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/random.h"
#include "store/chunker.h"
#include "store/tree.h"
#include "support/process.h"
#include "support/store_helpers.h"
#include "support/tree_helpers.h"
#include "support/workspace_fixture.h"
#include "workspace/snap_index.h"
#include "workspace/snapshot.h"

namespace converge {
namespace {

using testing::DescribeTree;
using testing::ReadFileOrDie;
using testing::TempDir;
using testing::WriteFile;

class RestoreTest : public testing::WorkspaceTest {
 protected:
  // The entry at `path` in snap `id`.
  Entry EntryOf(const ObjectId& id, const std::string& path) {
    Entry found;
    TreeReader reader(ws().store());
    Result<converge::Snap> s = reader.ReadSnap(id);
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE(WalkTree(reader, s->root, [&](const std::string& p, const Entry& e) {
                  if (p == path) found = e;
                  return Status::Ok();
                }).ok());
    EXPECT_EQ(found.name, fs::path(path).filename().string()) << path << " not in the snap";
    return found;
  }

  // A tree with every kind of entry.
  void MakeTree() {
    WriteFile(root_ / "a.txt", "alpha\n");
    WriteFile(root_ / "src/main.c", "int main() { return 0; }\n");
    WriteFile(root_ / "src/deep/er/x.h", "#pragma once\n");
    WriteFile(root_ / "run.sh", "#!/bin/sh\necho hi\n", true);
    WriteFile(root_ / "empty.txt", "");
    fs::create_directories(root_ / "nothing/here");
    fs::create_symlink("src/main.c", root_ / "link");
    fs::create_symlink("../outside/of/tree", root_ / "src/dangling");
  }
};

bool Executable(const fs::path& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0 && (st.st_mode & S_IXUSR) != 0;
}

// Entries in `dir` whose names start with `prefix`.
int CountPrefixed(const fs::path& dir, const std::string& prefix) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) n++;
  return n;
}

TEST_F(RestoreTest, ToNewDirReproducesTheTree) {
  MakeTree();
  ObjectId id = Snap("one");
  fs::path out = tmp_ / "out";
  Result<RestoreStats> r = RestoreTo(ws(), id, out, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(DescribeTree(out), DescribeTree(root_));
  EXPECT_TRUE(Executable(out / "run.sh"));
  EXPECT_FALSE(Executable(out / "a.txt"));
  EXPECT_EQ(fs::read_symlink(out / "src/dangling"), "../outside/of/tree");
  EXPECT_TRUE(fs::is_directory(out / "nothing/here"));
  EXPECT_TRUE(fs::is_empty(out / "nothing/here"));
  EXPECT_EQ(r->files, 5u);
  EXPECT_EQ(r->symlinks, 2u);
  EXPECT_EQ(r->dirs, 5u);  // src, src/deep, src/deep/er, nothing, nothing/here
  EXPECT_EQ(r->written, 7u);
  EXPECT_EQ(CountPrefixed(tmp_.path(), ".converge-restore"), 0);
}

// The writes run a directory's files (64 at most) on one thread at a time
// and the queue flushes every 256 directories: a directory bigger than a run,
// and more directories than a flush, between small ones.
TEST_F(RestoreTest, ABigDirectoryAndManySmallOnesRoundTrip) {
  for (int d = 0; d < 300; d++)
    WriteFile(root_ / ("d" + std::to_string(d)) / "f", "file in " + std::to_string(d));
  for (int f = 0; f < 150; f++)
    WriteFile(root_ / "d150/big" / ("f" + std::to_string(f)), std::to_string(f * f));
  ObjectId id = Snap();
  Result<RestoreStats> r = RestoreTo(ws(), id, tmp_ / "out", false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(DescribeTree(tmp_ / "out"), DescribeTree(root_));
  EXPECT_EQ(r->files, 450u);
}

TEST_F(RestoreTest, ToAnExistingEmptyDirWorks) {
  WriteFile(root_ / "f", "x");
  ObjectId id = Snap();
  fs::create_directory(tmp_ / "empty");
  Result<RestoreStats> r = RestoreTo(ws(), id, tmp_ / "empty/", false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ReadFileOrDie(tmp_ / "empty/f"), "x");
}

TEST_F(RestoreTest, ChunkedFileRoundTrips) {
  std::string big = testing::PseudoRandomBytes(ChunkParams::kThreshold + 3 * 1000 * 1000 + 7, 1);
  WriteFile(root_ / "big.bin", big);
  ObjectId id = Snap();
  ASSERT_TRUE(EntryOf(id, "big.bin").chunked);
  Result<RestoreStats> r = RestoreTo(ws(), id, tmp_ / "out", false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(ReadFileOrDie(tmp_ / "out/big.bin") == big);
  EXPECT_EQ(r->bytes, big.size());
}

TEST_F(RestoreTest, CorruptBlobFailsNamingItAndLeavesNoDir) {
  MakeTree();
  ObjectId id = Snap();
  ObjectId blob = EntryOf(id, "src/main.c").id;
  testing::DamageObject(ws().store(), blob, 3);
  fs::path out = tmp_ / "out";
  Result<RestoreStats> r = RestoreTo(ws(), id, out, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_NE(r.status().message().find(blob.hex()), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("src/main.c"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(CountPrefixed(tmp_.path(), ".converge-restore"), 0);
}

TEST_F(RestoreTest, CorruptChunkFails) {
  WriteFile(root_ / "big.bin", testing::PseudoRandomBytes(ChunkParams::kThreshold + 1, 2));
  ObjectId id = Snap();
  TreeReader reader(ws().store());
  Result<ChunkList> list = reader.ReadChunkList(EntryOf(id, "big.bin").id);
  ASSERT_TRUE(list.ok());
  const ObjectId& last = list->chunks.back().blob;
  testing::DamageObject(ws().store(), last, 0);
  Result<RestoreStats> r = RestoreTo(ws(), id, tmp_ / "out", false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_NE(r.status().message().find(last.hex()), std::string::npos);
  EXPECT_FALSE(fs::exists(tmp_ / "out"));
}

TEST_F(RestoreTest, ToNonEmptyDirOrSymlinkIsRefused) {
  WriteFile(root_ / "f", "new");
  ObjectId id = Snap();
  WriteFile(tmp_ / "full/keep", "mine");
  Result<RestoreStats> r = RestoreTo(ws(), id, tmp_ / "full", false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_NE(r.status().message().find("not empty"), std::string::npos);
  EXPECT_EQ(ReadFileOrDie(tmp_ / "full/keep"), "mine");
  EXPECT_FALSE(fs::exists(tmp_ / "full/f"));

  fs::create_directory(tmp_ / "elsewhere");
  fs::create_directory_symlink(tmp_ / "elsewhere", tmp_ / "link");
  r = RestoreTo(ws(), id, tmp_ / "link", false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_TRUE(fs::is_empty(tmp_ / "elsewhere"));
}

TEST_F(RestoreTest, InPlaceRefusesUncapturedWorkAndForceDiscardsIt) {
  MakeTree();
  ObjectId id = Snap();
  WriteFile(root_ / "a.txt", "edited\n");
  WriteFile(root_ / "new.c", "new\n");
  Result<RestoreStats> r = RestoreInPlace(ws(), id, false, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_NE(r.status().message().find("M a.txt"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("A new.c"), std::string::npos);
  EXPECT_EQ(ReadFileOrDie(root_ / "a.txt"), "edited\n");
  EXPECT_TRUE(fs::exists(root_ / "new.c"));

  r = RestoreInPlace(ws(), id, true, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ReadFileOrDie(root_ / "a.txt"), "alpha\n");
  EXPECT_FALSE(fs::exists(root_ / "new.c"));
  EXPECT_EQ(r->written, 1u);
  EXPECT_EQ(r->removed, 1u);
  EXPECT_TRUE(fs::exists(root_ / ".converge/config.json"));
}

TEST_F(RestoreTest, InPlaceWithoutHeadCountsAnyContentAsUncaptured) {
  MakeTree();
  ObjectId id = Snap();
  // A fresh workspace has no head: whatever it holds is in no snap.
  Result<Workspace> other = Workspace::Init(tmp_ / "other");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(ws().store()
                  .ForEach([&](const ObjectId& o) {
                    ASSIGN_OR_RETURN(std::string bytes, ws().store().Read(o));
                    return other->store().PutExpected(o, bytes);
                  })
                  .ok());
  ASSERT_TRUE(SnapIndex(other->db())
                  .Add(id, TreeReader(ws().store()).ReadSnap(id).value(), "fetched")
                  .ok());
  WriteFile(tmp_ / "other/mine.txt", "precious");
  Result<RestoreStats> r = RestoreInPlace(*other, id, false, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_NE(r.status().message().find("A mine.txt"), std::string::npos) << r.status().message();
  EXPECT_EQ(ReadFileOrDie(tmp_ / "other/mine.txt"), "precious");
  r = RestoreInPlace(*other, id, true, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(DescribeTree(tmp_ / "other"), DescribeTree(root_));
}

TEST_F(RestoreTest, InPlaceMissingObjectFailsBeforeChangingAnything) {
  WriteFile(root_ / "a.txt", "one");
  WriteFile(root_ / "b.txt", "two");
  ObjectId first = Snap();
  WriteFile(root_ / "a.txt", "one, edited");
  WriteFile(root_ / "b.txt", "two, edited");
  Snap();
  auto before = DescribeTree(root_);
  ObjectId blob = EntryOf(first, "b.txt").id;
  testing::RemoveObject(ws().store(), blob);
  Result<RestoreStats> r = RestoreInPlace(ws(), first, true, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find(blob.hex()), std::string::npos) << r.status().message();
  EXPECT_EQ(DescribeTree(root_), before);
}

TEST_F(RestoreTest, InPlaceRemovesWhatTheSnapLacksButKeepsIgnoredAndConvergeDirs) {
  WriteFile(root_ / ".convergeignore", "*.o\nbuild/\n");
  WriteFile(root_ / "keep.txt", "1");
  WriteFile(root_ / "old/gone.txt", "2");
  ObjectId first = Snap();
  fs::remove_all(root_ / "old");
  WriteFile(root_ / "added.txt", "3");
  WriteFile(root_ / "sub/later.txt", "4");
  WriteFile(root_ / "sub/obj.o", "ignored");
  WriteFile(root_ / "build/out", "ignored too");
  WriteFile(root_ / "sub/.converge/config.json", "{}");  // a nested workspace
  Snap();
  Result<RestoreStats> r = RestoreInPlace(ws(), first, false, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ReadFileOrDie(root_ / "old/gone.txt"), "2");
  EXPECT_FALSE(fs::exists(root_ / "added.txt"));
  EXPECT_FALSE(fs::exists(root_ / "sub/later.txt"));
  EXPECT_EQ(ReadFileOrDie(root_ / "sub/obj.o"), "ignored");  // so sub/ stays
  EXPECT_EQ(ReadFileOrDie(root_ / "build/out"), "ignored too");
  EXPECT_EQ(ReadFileOrDie(root_ / "sub/.converge/config.json"), "{}");
  EXPECT_TRUE(fs::exists(root_ / ".converge/config.json"));
  EXPECT_EQ(r->removed, 2u);  // added.txt, sub/later.txt
  Result<std::optional<ObjectId>> head = SnapIndex(ws().db()).Head();
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ(**head, first);
}

// Issue 11 item 1: a restored tree must never plant a workspace. Capture
// leaves out every entry named .converge (any type, any case, any depth).
TEST_F(RestoreTest, CaptureNeverStoresAnEntryNamedDotConverge) {
  WriteFile(root_ / "proj/cfg/config.json", R"({"version":1,"workspace_id":"planted"})");
  fs::create_symlink("cfg", root_ / "proj/.converge");
  WriteFile(root_ / "file/.converge", "a file\n");
  WriteFile(root_ / "upper/.CONVERGE/config.json", "{}");
  WriteFile(root_ / "nested/.converge/config.json", "{}");  // a nested workspace: silently
  Result<SnapResult> r = TakeSnap(ws(), "", false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::string warnings;
  for (const std::string& w : r->stats.warnings) warnings += w + "\n";
  EXPECT_EQ(r->stats.warnings.size(), 3u) << warnings;
  for (const char* path : {"'proj/.converge'", "'file/.converge'", "'upper/.CONVERGE'"})
    EXPECT_NE(warnings.find(path), std::string::npos) << warnings;
  TreeReader reader(ws().store());
  std::vector<std::string> paths;
  ASSERT_TRUE(
      WalkTree(reader, reader.ReadSnap(r->id)->root, [&](const std::string& p, const Entry&) {
        paths.push_back(p);
        return Status::Ok();
      }).ok());
  EXPECT_EQ(paths, (std::vector<std::string>{"file", "nested", "proj", "proj/cfg",
                                             "proj/cfg/config.json", "upper"}));
}

// A snap holding .converge, however it got into the store (an older client
// captured or fetched it, or it was put there by hand), is refused by restore
// --to and in place before anything is written.
TEST_F(RestoreTest, RestoreRefusesASnapHoldingDotConverge) {
  WriteFile(root_ / "keep.txt", "mine\n");
  Snap();
  ObjectStore& store = ws().store();
  auto put = [&](const std::string& bytes) {
    Result<ObjectId> id = store.Put(bytes);
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : ObjectId();
  };
  std::string config =
      R"({"remote":{"url":"http://attacker.example"},"version":1,"workspace_id":"x"})";
  Entry file{"config.json", EntryType::kFile, put(config), false, config.size(), false, ""};
  Entry cfg{"cfg", EntryType::kDir, put(EncodeManifest(Manifest{{file}})), false, 0, false, ""};
  Entry link{".converge", EntryType::kSymlink, {}, false, 0, false, "cfg"};
  Entry as_dir{".converge", EntryType::kDir, cfg.id, false, 0, false, ""};
  for (const Entry& planted : {link, as_dir}) {
    SCOPED_TRACE(planted.type == EntryType::kDir ? "a directory" : "a symlink");
    // EncodeManifest writes what it is given: the bytes a hostile source would.
    ObjectId proj_id = put(EncodeManifest(Manifest{{planted, cfg}}));
    Entry proj{"proj", EntryType::kDir, proj_id, false, 0, false, ""};
    converge::Snap s;
    s.root = put(EncodeManifest(Manifest{{proj}}));
    s.created_at = "2026-01-02T03:04:05Z";
    s.workspace_id = "evil";
    ObjectId id = put(EncodeSnap(s));
    ASSERT_TRUE(SnapIndex(ws().db()).Add(id, s, "fetched").ok());
    std::map<std::string, std::string> before = DescribeTree(tmp_.path());

    Result<RestoreStats> to = RestoreTo(ws(), id, tmp_ / "copy", false);
    ASSERT_FALSE(to.ok());
    EXPECT_NE(to.status().message().find("reserved"), std::string::npos) << to.status().message();
    EXPECT_FALSE(fs::exists(tmp_ / "copy"));
    EXPECT_EQ(CountPrefixed(tmp_.path(), ".converge-restore"), 0);

    for (bool force : {false, true}) {
      Result<RestoreStats> here = RestoreInPlace(ws(), id, force, false);
      ASSERT_FALSE(here.ok());
      EXPECT_NE(here.status().message().find("reserved"), std::string::npos)
          << here.status().message();
    }
    EXPECT_EQ(DescribeTree(tmp_.path()), before);
    EXPECT_FALSE(fs::exists(root_ / "proj"));
  }
}

TEST_F(RestoreTest, InPlaceRefusesToOverwriteAnIgnoredFileUnlessForced) {
  WriteFile(root_ / "gen.txt", "from the snap");
  ObjectId first = Snap();
  fs::remove(root_ / "gen.txt");
  WriteFile(root_ / ".convergeignore", "gen.txt\n");
  Snap();
  WriteFile(root_ / "gen.txt", "local, ignored, precious");
  Result<RestoreStats> r = RestoreInPlace(ws(), first, false, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_NE(r.status().message().find("gen.txt"), std::string::npos) << r.status().message();
  EXPECT_EQ(ReadFileOrDie(root_ / "gen.txt"), "local, ignored, precious");
  EXPECT_TRUE(fs::exists(root_ / ".convergeignore"));

  // Identical content is not a loss.
  WriteFile(root_ / "gen.txt", "from the snap");
  r = RestoreInPlace(ws(), first, false, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(fs::exists(root_ / ".convergeignore"));
}

TEST_F(RestoreTest, InPlaceForceOverwritesAnIgnoredFile) {
  WriteFile(root_ / "gen.txt", "from the snap");
  ObjectId first = Snap();
  fs::remove(root_ / "gen.txt");
  WriteFile(root_ / ".convergeignore", "gen.txt\n");
  Snap();
  WriteFile(root_ / "gen.txt", "local");
  Result<RestoreStats> r = RestoreInPlace(ws(), first, true, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ReadFileOrDie(root_ / "gen.txt"), "from the snap");
}

TEST_F(RestoreTest, InPlaceReplacesASymlinkToAnOutsideDirectory) {
  TempDir outside;
  WriteFile(outside / "untouched", "outside");
  WriteFile(root_ / "d/file", "inside");
  WriteFile(root_ / "d/sub/more", "deeper");
  ObjectId id = Snap();
  fs::remove_all(root_ / "d");
  fs::create_directory_symlink(outside.path(), root_ / "d");
  auto before = DescribeTree(outside.path());

  Result<RestoreStats> r = RestoreInPlace(ws(), id, false, false);
  ASSERT_FALSE(r.ok());  // the symlink is a change no snap holds
  EXPECT_EQ(r.status().code(), Code::kConflict);
  r = RestoreInPlace(ws(), id, true, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(fs::is_symlink(root_ / "d"));
  EXPECT_EQ(ReadFileOrDie(root_ / "d/file"), "inside");
  EXPECT_EQ(ReadFileOrDie(root_ / "d/sub/more"), "deeper");
  EXPECT_EQ(DescribeTree(outside.path()), before);
}

TEST_F(RestoreTest, InPlaceReplacesFilesWithDirsAndBack) {
  WriteFile(root_ / "x/inner", "dir version");
  WriteFile(root_ / "y", "file version");
  ObjectId first = Snap();
  fs::remove_all(root_ / "x");
  fs::remove(root_ / "y");
  WriteFile(root_ / "x", "x is a file now");
  WriteFile(root_ / "y/inner", "y is a dir now");
  ObjectId second = Snap();
  auto second_tree = DescribeTree(root_);
  ASSERT_TRUE(RestoreInPlace(ws(), first, false, false).ok());
  EXPECT_EQ(ReadFileOrDie(root_ / "x/inner"), "dir version");
  EXPECT_EQ(ReadFileOrDie(root_ / "y"), "file version");
  ASSERT_TRUE(RestoreInPlace(ws(), second, false, false).ok());
  EXPECT_EQ(DescribeTree(root_), second_tree);
}

TEST_F(RestoreTest, InPlaceFixesExecBitsAndSkipsIdenticalFiles) {
  WriteFile(root_ / "tool", "#!/bin/sh\n", true);
  WriteFile(root_ / "same", "unchanged");
  ObjectId first = Snap();
  ::chmod((root_ / "tool").c_str(), 0644);
  Snap();
  Result<RestoreStats> r = RestoreInPlace(ws(), first, false, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(Executable(root_ / "tool"));
  EXPECT_EQ(r->written, 1u);
  EXPECT_EQ(r->removed, 0u);
}

TEST_F(RestoreTest, InPlaceOnAMatchingTreeDoesNothing) {
  MakeTree();
  ObjectId id = Snap();
  Result<RestoreStats> r = RestoreInPlace(ws(), id, false, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->written, 0u);
  EXPECT_EQ(r->removed, 0u);
  EXPECT_EQ(r->files, 5u);
}

TEST(SnapPrefixTest, AmbiguousPrefixListsCandidates) {
  InitCrypto();
  TempDir tmp;
  Result<Workspace> ws = Workspace::Init(tmp / "ws");
  ASSERT_TRUE(ws.ok());
  SnapIndex index(ws->db());
  converge::Snap s;
  s.created_at = "2026-01-01T00:00:00Z";
  std::string a = "abcd" + std::string(59, '0') + "1", b = "abcd" + std::string(59, '0') + "2";
  ASSERT_TRUE(index.Add(*ObjectId::FromHex(a), s, "local").ok());
  ASSERT_TRUE(index.Add(*ObjectId::FromHex(b), s, "local").ok());
  Result<ObjectId> r = index.Resolve("abcd");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(),
            Code::kConflict);  // one code for an ambiguous prefix (store/id_prefix.h)
  EXPECT_NE(r.status().message().find(a), std::string::npos);
  EXPECT_NE(r.status().message().find(b), std::string::npos);
  r = index.Resolve("abcd" + std::string(59, '0') + "2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->hex(), b);
  EXPECT_EQ(index.Resolve("abce").status().code(), Code::kNotFound);
  EXPECT_EQ(index.Resolve("abc").status().code(), Code::kInvalid);
}

}  // namespace
}  // namespace converge
