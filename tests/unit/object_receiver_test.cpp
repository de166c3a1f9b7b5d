// The one pack receiver (store/object_receiver.h) behind the server's pack
// intake and the client's download, fed by the pack framing of api/pack.h.
#include <gtest/gtest.h>

#include "api/pack.h"
#include "store/object_receiver.h"
#include "support/process.h"

namespace converge {
namespace {

using testing::TempDir;

// Keeps what it is given: each object's kind, ID and bytes; installs blobs.
class KeepingRole : public ObjectReceiver::Role {
 public:
  explicit KeepingRole(ObjectStore& store) : store_(store) {}
  std::vector<std::pair<ObjectId, std::string>> taken;
  std::vector<ObjectReceiver::Refusal> refusals;
  uint64_t received = 0;

  Status Refused(ObjectReceiver::Refusal r, ObjectKind, const ObjectId&, uint64_t,
                 const Status& why) override {
    refusals.push_back(r);
    return why;
  }
  void Received(size_t n) override { received += n; }
  Status Take(ReceivedObject&& o) override {
    taken.push_back({o.id, o.bytes});
    return store_.Install(std::move(o.file));
  }

 private:
  ObjectStore& store_;
};

std::string PackOf(const std::vector<std::pair<ObjectKind, std::string>>& objects) {
  std::string p(kPackMagic);
  for (const auto& [kind, bytes] : objects)
    p += PackObjectHeader(kind, ObjectId::Of(bytes), bytes.size()) + bytes;
  return p + std::string(kPackEnd);
}

size_t TempFiles(const ObjectStore& store) {
  auto temps =
      std::distance(fs::directory_iterator(store.root() / "tmp"), fs::directory_iterator());
  return static_cast<size_t>(temps);
}

class ObjectReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = ObjectStore::Open(dir_.path());
    ASSERT_TRUE(s.ok());
    store_.emplace(std::move(*s));
  }
  Status Feed(const std::string& pack, ObjectReceiver& rx, bool finish = true) {
    PackParser parser(rx);
    for (size_t i = 0; i < pack.size(); i += 5) {
      Status st = parser.Feed(std::string_view(pack).substr(i, 5));
      if (!st.ok()) return st;
    }
    return finish ? parser.Finish() : Status::Ok();
  }

  TempDir dir_;
  std::optional<ObjectStore> store_;
};

TEST_F(ObjectReceiverTest, VerifiedObjectsReachTheRoleWithAMetadataObjectsBytes) {
  Snap s;
  s.root = ObjectId::Of("x");
  s.created_at = "2026-01-01T00:00:00Z";
  std::string snap = EncodeSnap(s), blob(100000, 'b');
  KeepingRole role(*store_);
  ObjectReceiver rx(*store_, role, 1 << 20);
  ASSERT_TRUE(Feed(PackOf({{ObjectKind::kBlob, blob}, {ObjectKind::kSnap, snap}}), rx).ok());
  ASSERT_EQ(role.taken.size(), 2u);
  EXPECT_EQ(role.taken[0].second, "");  // a blob streams to its file only
  EXPECT_EQ(role.taken[1].second, snap);
  EXPECT_EQ(rx.objects(), 2u);
  EXPECT_EQ(rx.bytes(), blob.size() + snap.size());
  EXPECT_EQ(role.received, rx.bytes());
  EXPECT_TRUE(store_->Has(ObjectId::Of(blob)));
  EXPECT_EQ(TempFiles(*store_), 0u);
}

TEST_F(ObjectReceiverTest, ATruncatedPackKeepsNoPartObject) {
  std::string first = "first", second(5000, 's');
  std::string pack = PackOf({{ObjectKind::kBlob, first}, {ObjectKind::kBlob, second}});
  pack.resize(pack.size() - 4 - 2000);  // cut inside the second object's bytes
  KeepingRole role(*store_);
  {
    ObjectReceiver rx(*store_, role, 1 << 20);
    Status st = Feed(pack, rx);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), Code::kInvalid);
    EXPECT_NE(st.message().find("truncated"), std::string::npos) << st.message();
  }
  ASSERT_EQ(role.taken.size(), 1u);  // only the whole first object
  EXPECT_TRUE(store_->Has(ObjectId::Of(first)));
  EXPECT_FALSE(store_->Has(ObjectId::Of(second)));
  EXPECT_EQ(TempFiles(*store_), 0u);  // the part of the second is gone
}

TEST_F(ObjectReceiverTest, BytesThatDoNotHashToTheirIdAreRefused) {
  std::string bytes = "honest";
  std::string pack = std::string(kPackMagic) +
                     PackObjectHeader(ObjectKind::kBlob, ObjectId::Of("other"), bytes.size()) +
                     bytes + std::string(kPackEnd);
  KeepingRole role(*store_);
  {
    ObjectReceiver rx(*store_, role, 1 << 20);
    Status st = Feed(pack, rx);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), Code::kCorrupt);
  }
  ASSERT_EQ(role.refusals.size(), 1u);
  EXPECT_EQ(role.refusals[0], ObjectReceiver::Refusal::kBadHash);
  EXPECT_TRUE(role.taken.empty());
  EXPECT_FALSE(store_->Has(ObjectId::Of(bytes)));
  EXPECT_EQ(TempFiles(*store_), 0u);
}

TEST_F(ObjectReceiverTest, AMetadataObjectOverTheLimitIsRefusedBeforeItsBytes) {
  ChunkList c{4, {{ObjectId::Of("c"), 4}}};
  std::string list = EncodeChunkList(c);
  std::string big_blob(list.size() + 10, 'b');  // a blob is not held to the metadata limit
  KeepingRole role(*store_);
  ObjectReceiver rx(*store_, role, list.size() - 1);
  std::string pack = PackOf({{ObjectKind::kBlob, big_blob}, {ObjectKind::kChunkList, list}});
  // Stop right after the chunk list's header: the refusal comes before a byte.
  size_t header_end = pack.find('\n', pack.find("chunklist ")) + 1;
  PackParser parser(rx);
  Status st = parser.Feed(std::string_view(pack).substr(0, header_end));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kTooLarge);
  EXPECT_NE(st.message().find("over the limit"), std::string::npos) << st.message();
  ASSERT_EQ(role.refusals.size(), 1u);
  EXPECT_EQ(role.refusals[0], ObjectReceiver::Refusal::kTooLarge);
  ASSERT_EQ(role.taken.size(), 1u);  // the blob before it
}

TEST_F(ObjectReceiverTest, TheRolesRefusalStopsTheStream) {
  class Refusing : public KeepingRole {
   public:
    using KeepingRole::KeepingRole;
    Status Accept(ObjectKind, const ObjectId&, uint64_t) override {
      return Corrupt("not asked for");
    }
  };
  Refusing role(*store_);
  ObjectReceiver rx(*store_, role, 1 << 20);
  Status st = Feed(PackOf({{ObjectKind::kBlob, "x"}}), rx);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "not asked for");
  EXPECT_TRUE(role.taken.empty());
}

}  // namespace
}  // namespace converge
