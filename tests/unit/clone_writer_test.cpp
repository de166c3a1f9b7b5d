// CloneWriter (client/clone_writer.h): a clone's files written as their
// objects arrive, in whatever order they come; what it cannot write safely
// or in time is left for the restore after it, and nothing outside the
// root is ever touched.
#include "client/clone_writer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/process.h"
#include "support/tree_helpers.h"

namespace converge {
namespace {

using testing::ReadFileOrDie;
using testing::TempDir;

Entry FileEntry(const std::string& name, const std::string& content, bool exec = false) {
  Entry e;
  e.name = name;
  e.type = EntryType::kFile;
  e.id = ObjectId::Of(content);
  e.size = content.size();
  e.executable = exec;
  return e;
}

Entry DirEntry(const std::string& name, const std::string& manifest_bytes) {
  Entry e;
  e.name = name;
  e.type = EntryType::kDir;
  e.id = ObjectId::Of(manifest_bytes);
  return e;
}

std::string SnapOf(const std::string& root_manifest) {
  Snap s;
  s.root = ObjectId::Of(root_manifest);
  s.created_at = "2026-12-03T00:00:00Z";
  s.workspace_id = "w";
  return EncodeSnap(s);
}

class CloneWriterTest : public ::testing::Test {
 protected:
  // Hands `bytes` to the writer as the metadata object it is.
  void Meta(ObjectKind kind, const std::string& bytes) {
    writer_->Metadata(kind, ObjectId::Of(bytes), bytes);
  }
  void Blob(const std::string& content) { writer_->Blob(ObjectId::Of(content), content); }
  void Open(const std::string& snap) {
    auto w = CloneWriter::Open(root_, ObjectId::Of(snap));
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
  std::string sub = EncodeManifest({{FileEntry("b.txt", "bee\n")}});
  std::string empty = EncodeManifest({});
  std::string top = EncodeManifest({{FileEntry("a.txt", "ay\n"), FileEntry("run", "#!\n", true),
                                     DirEntry("sub", sub), DirEntry("void", empty)}});
  std::string snap = SnapOf(top);
  ASSERT_NO_FATAL_FAILURE(Open(snap));
  Meta(ObjectKind::kSnap, snap);
  Meta(ObjectKind::kManifest, top);
  EXPECT_TRUE(fs::is_directory(root_ / "sub"));
  EXPECT_TRUE(fs::is_directory(root_ / "void"));
  Blob("ay\n");
  Blob("#!\n");
  Meta(ObjectKind::kManifest, sub);
  Blob("bee\n");
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
  ChunkList list;
  for (std::string c : {"first chunk\n", "second\n", "first chunk\n"})
    list.chunks.push_back({ObjectId::Of(c), c.size()}), list.size += c.size();
  std::string list_bytes = EncodeChunkList(list);
  Entry big;
  big.name = "big";
  big.type = EntryType::kFile;
  big.id = ObjectId::Of(list_bytes);
  big.chunked = true;
  big.size = list.size;
  std::string top = EncodeManifest({{big}});
  std::string snap = SnapOf(top);
  ASSERT_NO_FATAL_FAILURE(Open(snap));
  Meta(ObjectKind::kSnap, snap);
  Meta(ObjectKind::kManifest, top);
  Meta(ObjectKind::kChunkList, list_bytes);
  Blob("second\n");
  Blob("first chunk\n");  // both places it goes
  writer_->Finish();
  EXPECT_EQ(ReadFileOrDie(root_ / "big"), "first chunk\nsecond\nfirst chunk\n");
  EXPECT_TRUE(Trusted(root_ / "big"));
  EXPECT_EQ(writer_->files_written(), 1u);
}

TEST_F(CloneWriterTest, OneBlobUnderSeveralNamesIsWrittenToEach) {
  std::string top = EncodeManifest({{FileEntry("one", "same\n"), FileEntry("two", "same\n")}});
  std::string snap = SnapOf(top);
  ASSERT_NO_FATAL_FAILURE(Open(snap));
  Meta(ObjectKind::kSnap, snap);
  Meta(ObjectKind::kManifest, top);
  Blob("same\n");
  writer_->Finish();
  EXPECT_EQ(ReadFileOrDie(root_ / "one"), "same\n");
  EXPECT_EQ(ReadFileOrDie(root_ / "two"), "same\n");
}

TEST_F(CloneWriterTest, LeavesToTheRestoreWhatCameEarlyOrBelongsToAnotherSnap) {
  std::string top = EncodeManifest({{FileEntry("early", "early\n"), FileEntry("x", "x\n")}});
  std::string snap = SnapOf(top);
  std::string other_top = EncodeManifest({{FileEntry("other", "other\n")}});
  ASSERT_NO_FATAL_FAILURE(Open(snap));
  Meta(ObjectKind::kSnap, SnapOf(other_top));  // not the snap being cloned
  Meta(ObjectKind::kManifest, other_top);
  Blob("other\n");
  Blob("early\n");  // before any name for it: not kept
  Meta(ObjectKind::kSnap, snap);
  Meta(ObjectKind::kManifest, top);
  Blob("x\n");
  writer_->Finish();
  EXPECT_FALSE(fs::exists(root_ / "other"));
  EXPECT_FALSE(fs::exists(root_ / "early"));
  EXPECT_EQ(ReadFileOrDie(root_ / "x"), "x\n");
  EXPECT_EQ(writer_->files_written(), 1u);
}

TEST_F(CloneWriterTest, NeverWritesThroughASymlinkOrOverAnything) {
  TempDir outside;
  std::string sub = EncodeManifest({{FileEntry("f", "planted\n")}});
  std::string top = EncodeManifest(
      {{DirEntry("evil", sub), FileEntry("taken", "new\n"), FileEntry("wrong", "12345\n")}});
  std::string snap = SnapOf(top);
  ASSERT_NO_FATAL_FAILURE(Open(snap));
  fs::create_directory_symlink(outside.path(), root_ / "evil");
  testing::WriteFile(root_ / "taken", "old\n");
  Meta(ObjectKind::kSnap, snap);
  Meta(ObjectKind::kManifest, top);
  Meta(ObjectKind::kManifest, sub);
  Blob("planted\n");
  Blob("new\n");
  writer_->Blob(ObjectId::Of("12345\n"), "1234");  // not the size its name says
  writer_->Finish();
  EXPECT_TRUE(fs::is_empty(outside.path()));
  EXPECT_EQ(ReadFileOrDie(root_ / "taken"), "old\n");
  EXPECT_FALSE(fs::exists(root_ / "wrong"));
  EXPECT_EQ(writer_->files_written(), 0u);
}

}  // namespace
}  // namespace converge
