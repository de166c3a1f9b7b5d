// CloneWriter (client/clone_writer.h): a clone's files written as their
// objects arrive, in whatever order they come; what it cannot write safely
// or in time is left for the restore after it, and nothing outside the
// root is ever touched.
#include "client/clone_writer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/objects.h"
#include "support/process.h"
#include "support/tree_helpers.h"

namespace converge {
namespace {

using testing::ReadFileOrDie;
using testing::TempDir;
// The object helpers stay qualified: unity builds compile this file beside
// tests with helpers of the same names.

Entry ExecEntry(const std::string& name, const testing::TestObject& blob) {
  Entry e = testing::FileEntry(name, blob);
  e.executable = true;
  return e;
}

class CloneWriterTest : public ::testing::Test {
 protected:
  // Hands `o` to the writer as the download would, once verified.
  void Arrive(const testing::TestObject& o) {
    if (o.kind == ObjectKind::kBlob)
      writer_->Blob(o.id, o.bytes);
    else
      writer_->Metadata(o.kind, o.id, o.bytes);
  }
  void Open(const testing::TestObject& snap) {
    auto w = CloneWriter::Open(root_, snap.id);
    ASSERT_TRUE(w.ok()) << w.status().message();
    writer_ = std::move(*w);
  }
  bool Trusted(const fs::path& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0 && writer_->written().Has(st);
  }

  TempDir tmp_;
  fs::path root_ = tmp_.path();
  std::unique_ptr<CloneWriter> writer_;
};

TEST_F(CloneWriterTest, WritesEachFileWhenItsBlobArrivesAfterItsName) {
  testing::TestObject a = testing::Blob("ay\n"), run = testing::Blob("#!\n"),
                      b = testing::Blob("bee\n");
  testing::TestObject sub = testing::ManifestOf({testing::FileEntry("b.txt", b)});
  testing::TestObject top = testing::ManifestOf(
      {testing::FileEntry("a.txt", a), ExecEntry("run", run), testing::DirEntry("sub", sub),
       testing::DirEntry("void", testing::ManifestOf({}))});
  testing::TestObject snap = testing::SnapOf(top);
  ASSERT_NO_FATAL_FAILURE(Open(snap));
  Arrive(snap);
  Arrive(top);
  EXPECT_TRUE(fs::is_directory(root_ / "sub"));
  EXPECT_TRUE(fs::is_directory(root_ / "void"));
  Arrive(a);
  Arrive(run);
  Arrive(sub);
  Arrive(b);
  writer_->Finish();

  EXPECT_EQ(writer_->files_written(), 3u);
  EXPECT_EQ(ReadFileOrDie(root_ / "a.txt"), "ay\n");
  EXPECT_EQ(ReadFileOrDie(root_ / "sub/b.txt"), "bee\n");
  EXPECT_NE(fs::status(root_ / "run").permissions() & fs::perms::owner_exec, fs::perms::none);
  EXPECT_EQ(fs::status(root_ / "a.txt").permissions() & fs::perms::owner_exec, fs::perms::none);
  EXPECT_TRUE(Trusted(root_ / "a.txt"));
  EXPECT_TRUE(Trusted(root_ / "sub/b.txt"));
}

TEST_F(CloneWriterTest, WritesAChunkedFileAChunkAtATimeInAnyOrder) {
  testing::TestObject first = testing::Blob("first chunk\n"), second = testing::Blob("second\n");
  ChunkList list;
  for (const testing::TestObject* c : {&first, &second, &first})
    list.chunks.push_back({c->id, c->bytes.size()}), list.size += c->bytes.size();
  std::string list_bytes = EncodeChunkList(list);
  testing::TestObject chunks{ObjectKind::kChunkList, list_bytes, ObjectId::Of(list_bytes)};
  Entry big = testing::FileEntry("big", chunks);
  big.size = list.size;
  testing::TestObject top = testing::ManifestOf({big});
  testing::TestObject snap = testing::SnapOf(top);
  ASSERT_NO_FATAL_FAILURE(Open(snap));
  Arrive(snap);
  Arrive(top);
  Arrive(chunks);
  Arrive(second);
  Arrive(first);  // both places it goes
  writer_->Finish();
  EXPECT_EQ(ReadFileOrDie(root_ / "big"), "first chunk\nsecond\nfirst chunk\n");
  EXPECT_TRUE(Trusted(root_ / "big"));
  EXPECT_EQ(writer_->files_written(), 1u);
}

TEST_F(CloneWriterTest, OneBlobUnderSeveralNamesIsWrittenToEach) {
  testing::TestObject same = testing::Blob("same\n");
  testing::TestObject top =
      testing::ManifestOf({testing::FileEntry("one", same), testing::FileEntry("two", same)});
  testing::TestObject snap = testing::SnapOf(top);
  ASSERT_NO_FATAL_FAILURE(Open(snap));
  Arrive(snap);
  Arrive(top);
  Arrive(same);
  writer_->Finish();
  EXPECT_EQ(ReadFileOrDie(root_ / "one"), "same\n");
  EXPECT_EQ(ReadFileOrDie(root_ / "two"), "same\n");
}

TEST_F(CloneWriterTest, LeavesToTheRestoreWhatCameEarlyOrBelongsToAnotherSnap) {
  testing::TestObject early = testing::Blob("early\n"), x = testing::Blob("x\n"),
                      other = testing::Blob("other\n");
  testing::TestObject top =
      testing::ManifestOf({testing::FileEntry("early", early), testing::FileEntry("x", x)});
  testing::TestObject snap = testing::SnapOf(top);
  testing::TestObject other_top = testing::ManifestOf({testing::FileEntry("other", other)});
  ASSERT_NO_FATAL_FAILURE(Open(snap));
  Arrive(testing::SnapOf(other_top));  // not the snap being cloned
  Arrive(other_top);
  Arrive(other);
  Arrive(early);  // before any name for it: not kept
  Arrive(snap);
  Arrive(top);
  Arrive(x);
  writer_->Finish();
  EXPECT_FALSE(fs::exists(root_ / "other"));
  EXPECT_FALSE(fs::exists(root_ / "early"));
  EXPECT_EQ(ReadFileOrDie(root_ / "x"), "x\n");
  EXPECT_EQ(writer_->files_written(), 1u);
}

TEST_F(CloneWriterTest, NeverWritesThroughASymlinkOrOverAnything) {
  TempDir outside;
  testing::TestObject planted = testing::Blob("planted\n"), fresh = testing::Blob("new\n"),
                      wrong = testing::Blob("12345\n");
  testing::TestObject sub = testing::ManifestOf({testing::FileEntry("f", planted)});
  testing::TestObject top =
      testing::ManifestOf({testing::DirEntry("evil", sub), testing::FileEntry("taken", fresh),
                           testing::FileEntry("wrong", wrong)});
  testing::TestObject snap = testing::SnapOf(top);
  ASSERT_NO_FATAL_FAILURE(Open(snap));
  fs::create_directory_symlink(outside.path(), root_ / "evil");
  testing::WriteFile(root_ / "taken", "old\n");
  Arrive(snap);
  Arrive(top);
  Arrive(sub);
  Arrive(planted);
  Arrive(fresh);
  writer_->Blob(wrong.id, "1234");  // not the size its name says
  writer_->Finish();
  EXPECT_TRUE(fs::is_empty(outside.path()));
  EXPECT_EQ(ReadFileOrDie(root_ / "taken"), "old\n");
  EXPECT_FALSE(fs::exists(root_ / "wrong"));
  EXPECT_EQ(writer_->files_written(), 0u);
}

}  // namespace
}  // namespace converge
