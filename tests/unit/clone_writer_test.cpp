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

using testing::Blob;
using testing::DirEntry;
using testing::FileEntry;
using testing::ManifestOf;
using testing::ReadFileOrDie;
using testing::SnapOf;
using testing::TempDir;
using testing::TestObject;

Entry ExecEntry(const std::string& name, const TestObject& blob) {
  Entry e = FileEntry(name, blob);
  e.executable = true;
  return e;
}

class CloneWriterTest : public ::testing::Test {
 protected:
  // Hands `o` to the writer as the download would, once verified.
  void Arrive(const TestObject& o) {
    if (o.kind == ObjectKind::kBlob)
      writer_->Blob(o.id, o.bytes);
    else
      writer_->Metadata(o.kind, o.id, o.bytes);
  }
  void Open(const TestObject& snap) {
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
  TestObject a = Blob("ay\n"), run = Blob("#!\n"), b = Blob("bee\n");
  TestObject sub = ManifestOf({FileEntry("b.txt", b)});
  TestObject top = ManifestOf({FileEntry("a.txt", a), ExecEntry("run", run), DirEntry("sub", sub),
                               DirEntry("void", ManifestOf({}))});
  TestObject snap = SnapOf(top);
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
  TestObject first = Blob("first chunk\n"), second = Blob("second\n");
  ChunkList list;
  for (const TestObject* c : {&first, &second, &first})
    list.chunks.push_back({c->id, c->bytes.size()}), list.size += c->bytes.size();
  std::string list_bytes = EncodeChunkList(list);
  TestObject chunks{ObjectKind::kChunkList, list_bytes, ObjectId::Of(list_bytes)};
  Entry big = FileEntry("big", chunks);
  big.size = list.size;
  TestObject top = ManifestOf({big});
  TestObject snap = SnapOf(top);
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
  TestObject same = Blob("same\n");
  TestObject top = ManifestOf({FileEntry("one", same), FileEntry("two", same)});
  TestObject snap = SnapOf(top);
  ASSERT_NO_FATAL_FAILURE(Open(snap));
  Arrive(snap);
  Arrive(top);
  Arrive(same);
  writer_->Finish();
  EXPECT_EQ(ReadFileOrDie(root_ / "one"), "same\n");
  EXPECT_EQ(ReadFileOrDie(root_ / "two"), "same\n");
}

TEST_F(CloneWriterTest, LeavesToTheRestoreWhatCameEarlyOrBelongsToAnotherSnap) {
  TestObject early = Blob("early\n"), x = Blob("x\n"), other = Blob("other\n");
  TestObject top = ManifestOf({FileEntry("early", early), FileEntry("x", x)});
  TestObject snap = SnapOf(top);
  TestObject other_top = ManifestOf({FileEntry("other", other)});
  ASSERT_NO_FATAL_FAILURE(Open(snap));
  Arrive(SnapOf(other_top));  // not the snap being cloned
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
  TestObject planted = Blob("planted\n"), fresh = Blob("new\n"), wrong = Blob("12345\n");
  TestObject sub = ManifestOf({FileEntry("f", planted)});
  TestObject top =
      ManifestOf({DirEntry("evil", sub), FileEntry("taken", fresh), FileEntry("wrong", wrong)});
  TestObject snap = SnapOf(top);
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
