// The web view's reads of a publication's tree in-process
// (server/web_tree.h): every object on the way is read from disk (and so
// hashed) once, whether it is a level of the walk, a chunk list or a blob
// streamed to a page or a download; what the caller may not read is
// kNotFound.
#include "server/web_tree.h"

#include <fstream>

#include "service_fixture.h"

namespace converge::testing {
namespace {

class WebTreeServiceTest : public AliceRepoTest {
 protected:
  void SetUp() override {
    AliceRepoTest::SetUp();
    if (HasFatalFailure()) return;
    big_ = Blob(std::string(300 * 1024, 'x'));
    part1_ = Blob(std::string(200 * 1024, 'p'));
    part2_ = Blob(std::string(100 * 1024, 'q'));
    ChunkList list;
    list.size = part1_.bytes.size() + part2_.bytes.size();
    list.chunks = {{part1_.id, part1_.bytes.size()}, {part2_.id, part2_.bytes.size()}};
    std::string list_bytes = EncodeChunkList(list);
    chunks_ = {ObjectKind::kChunkList, list_bytes, ObjectId::Of(list_bytes)};
    Entry chunked = FileEntry("chunked.bin", chunks_);
    chunked.size = list.size;
    deep_ = ManifestOf({FileEntry("big.bin", big_), chunked});
    mid_ = ManifestOf({DirEntry("deep", deep_)});
    root_ = ManifestOf({DirEntry("mid", mid_)});
    snap_ = SnapOf(root_, "web tree");
    Upload(alice_, "web", {big_, part1_, part2_, chunks_, deep_, mid_, root_, snap_});
    pub_ = Must(publications().Create(alice_, "web", PublishOf(snap_)), "publishing").id;
  }
  uint64_t BytesRead() const { return authority_->data_dir().store().bytes_read(); }
  // What `fn` read from object files.
  template <class Fn>
  uint64_t Reading(Fn fn) {
    uint64_t before = BytesRead();
    fn();
    return BytesRead() - before;
  }
  // A file's bytes as a page or a download gets them.
  std::string FileBytes(const Entry& e) {
    std::vector<ObjectSender::Located> blobs = Must(FileBlobs(authority(), alice_, "web", e));
    std::string out;
    EXPECT_TRUE(StreamBlobs(sender(), blobs, [&](std::string_view piece) {
                  out.append(piece);
                  return Status::Ok();
                }).ok());
    return out;
  }

  TestObject big_, part1_, part2_, chunks_, deep_, mid_, root_, snap_;
  std::string pub_;
};

TEST_F(WebTreeServiceTest, EachLevelOfTheWalkIsReadOnce) {
  WebTreeNode node;
  uint64_t read = Reading(
      [&] { node = Must(OpenPublicationPath(authority(), alice_, "web", pub_, "mid/deep")); });
  EXPECT_TRUE(node.is_dir);
  ASSERT_EQ(node.dir.entries.size(), 2u);
  EXPECT_EQ(read, snap_.bytes.size() + root_.bytes.size() + mid_.bytes.size() + deep_.bytes.size());
}

TEST_F(WebTreeServiceTest, AFileIsHashedOnceAsItStreams) {
  WebTreeNode node =
      Must(OpenPublicationPath(authority(), alice_, "web", pub_, "mid/deep/big.bin"));
  ASSERT_FALSE(node.is_dir);
  std::string bytes;
  EXPECT_EQ(Reading([&] { bytes = FileBytes(node.file); }), big_.bytes.size());
  EXPECT_EQ(bytes, big_.bytes);

  WebTreeNode chunked =
      Must(OpenPublicationPath(authority(), alice_, "web", pub_, "mid/deep/chunked.bin"));
  EXPECT_EQ(Reading([&] { bytes = FileBytes(chunked.file); }),
            chunks_.bytes.size() + part1_.bytes.size() + part2_.bytes.size());
  EXPECT_EQ(bytes, part1_.bytes + part2_.bytes);
}

TEST_F(WebTreeServiceTest, ADamagedBlobNeverReachesTheSinkWhole) {
  WebTreeNode node =
      Must(OpenPublicationPath(authority(), alice_, "web", pub_, "mid/deep/big.bin"));
  fs::path file = authority_->data_dir().store().PathOf(big_.id);
  std::string damaged = big_.bytes;
  damaged[damaged.size() / 2] = 'y';
  fs::permissions(file, fs::perms::owner_write, fs::perm_options::add);
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << damaged;
    ASSERT_TRUE(out.good());
  }
  std::vector<ObjectSender::Located> blobs = Must(FileBlobs(authority(), alice_, "web", node.file));
  std::string got;
  Status st = StreamBlobs(sender(), blobs, [&](std::string_view piece) {
    got.append(piece);
    return Status::Ok();
  });
  EXPECT_TRUE(HasCode(st, Code::kCorrupt));
  EXPECT_LT(got.size(), damaged.size());
}

TEST_F(WebTreeServiceTest, AReaderOfNoRepoFindsNothing) {
  Caller bob = NewUser("bob");
  EXPECT_TRUE(
      HasCode(OpenPublicationPath(authority(), bob, "web", pub_, "mid").status(), Code::kNotFound));
  EXPECT_TRUE(HasCode(sender().OpenRepo(bob, "web").status(), Code::kNotFound));
  Entry e = FileEntry("big.bin", big_);
  EXPECT_TRUE(HasCode(FileBlobs(authority(), bob, "web", e).status(), Code::kNotFound));
}

}  // namespace
}  // namespace converge::testing
