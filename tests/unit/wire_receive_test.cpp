// Objects that travel compressed (docs/pack.md, "Version 2"): the receiver
// (store/object_receiver.h) decompresses in bounded memory, holds a frame to
// its declared size, re-hashes, and keeps a verified frame as it came; the
// store hands a compressed copy out as its frame (ObjectStore::StreamStored).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "api/pack.h"
#include "store/memory_budget.h"
#include "support/objects.h"
#include "support/process.h"

namespace converge {
namespace {

using testing::TempDir;
using testing::TestObject;

// Text that compresses (about 4x), deterministic.
std::string WireText(size_t n, int seed) {
  std::string out;
  uint32_t x = static_cast<uint32_t>(seed) * 2654435761u + 1;
  static const char* kWords[] = {"alpha ", "beta ", "gamma ", "delta\n", "epsilon ", "zeta "};
  while (out.size() < n) {
    x = x * 1103515245u + 12345u;
    out += kWords[(x >> 16) % 6];
    if ((x >> 8) % 7 == 0) out += std::to_string(x % 1000);
  }
  out.resize(n);
  return out;
}

// Adds what it is given to a write batch (as the server and the client do);
// gives bases from a map.
class BatchRole : public ObjectReceiver::Role {
 public:
  explicit BatchRole(WriteBatch& batch) : batch_(batch) {}
  std::map<ObjectId, std::string> bases;
  std::vector<ObjectReceiver::Refusal> refusals;
  std::vector<bool> kept_frame;

  Status Refused(ObjectReceiver::Refusal r, ObjectKind, const ObjectId&, uint64_t,
                 const Status& why) override {
    refusals.push_back(r);
    return why;
  }
  Result<std::string> Base(ObjectKind kind, const ObjectId& base) override {
    auto it = bases.find(base);
    if (it == bases.end()) return ObjectReceiver::Role::Base(kind, base);
    return it->second;
  }
  Status Take(ReceivedObject&& o) override {
    kept_frame.push_back(o.frame.held());
    return AddReceived(batch_, std::move(o));
  }

 private:
  WriteBatch& batch_;
};

class WireReceiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = ObjectStore::Open(dir_.path());
    ASSERT_TRUE(s.ok());
    store_.emplace(std::move(*s));
    batch_.emplace(*store_);
    role_.emplace(*batch_);
  }
  void TearDown() override { MemoryBudget::Global().set_limit(MemoryBudget::kDefaultLimit); }

  // Receives a version 2 pack of `records` (fed 1000 bytes at a time) and
  // commits what was taken.
  Status Receive(const std::string& records, bool stream = false) {
    ObjectReceiver rx(*store_, *role_, 1 << 20);
    PackParser parser(rx);
    std::string body = testing::PackV2Body(records, stream);
    Status st;
    for (size_t i = 0; i < body.size() && st.ok(); i += 1000)
      st = parser.Feed(std::string_view(body).substr(i, 1000));
    if (st.ok()) st = parser.Finish();
    Status committed = batch_->Commit();
    return st.ok() ? committed : st;
  }
  size_t Temps() const {
    return static_cast<size_t>(
        std::distance(fs::directory_iterator(store_->root() / "tmp"), fs::directory_iterator()));
  }

  TempDir dir_;
  std::optional<ObjectStore> store_;
  std::optional<WriteBatch> batch_;
  std::optional<BatchRole> role_;
};

TEST_F(WireReceiveTest, AFrameIsVerifiedAndStoredAsItCame) {
  TestObject text = testing::Blob(WireText(300000, 1));
  std::string frame = testing::ZstdFrame(text.bytes);
  ASSERT_TRUE(Receive(testing::V2Zstd(text)).ok());
  ASSERT_EQ(role_->kept_frame, std::vector<bool>{true});
  Result<ObjectStore::Location> at = store_->Locate(text.id);
  ASSERT_TRUE(at.ok());
  EXPECT_TRUE(at->compressed);
  EXPECT_EQ(at->length, frame.size()) << "the frame as it came, not compressed again";
  Result<std::string> back = store_->Read(text.id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, text.bytes);
}

TEST_F(WireReceiveTest, AStreamOfRawAndCompressedObjectsArrivesWhole) {
  TestObject a = testing::Blob(WireText(70000, 2)), b = testing::Blob(WireText(2 << 20, 3));
  ASSERT_TRUE(Receive(testing::V2Raw(a) + testing::V2Zstd(b), true).ok());
  EXPECT_EQ(*store_->Read(a.id), a.bytes);
  EXPECT_EQ(*store_->Read(b.id), b.bytes);
}

TEST_F(WireReceiveTest, AFrameThatInflatesPastItsDeclaredSizeIsRefused) {
  // A frame of 4 MiB of zeros whose header is rewritten to declare 1000
  // bytes, sent as a 1000-byte object: a bomb (4000x).
  std::string zeros(4 << 20, '\0');
  std::string frame = testing::ZstdFrame(zeros);
  unsigned fhd = static_cast<unsigned char>(frame[4]);
  ASSERT_EQ(fhd >> 6, 2u) << "a 4-byte content size";
  size_t at = 5 + ((fhd & 0x20) ? 0 : 1);
  uint32_t declared = 1000;
  std::memcpy(frame.data() + at, &declared, 4);
  ObjectId id = ObjectId::Of(std::string(1000, '\0'));
  Status st = Receive(testing::V2Record(ObjectKind::kBlob, id, 1000, Encoding::kZstd, frame));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kCorrupt) << st.message();
  ASSERT_EQ(role_->refusals.size(), 1u);
  EXPECT_EQ(role_->refusals[0], ObjectReceiver::Refusal::kBadEncoding);
  EXPECT_FALSE(store_->Has(id));
  EXPECT_EQ(Temps(), 0u);
}

TEST_F(WireReceiveTest, AFrameOfAnotherSizeThanDeclaredIsRefusedFromItsHeader) {
  TestObject text = testing::Blob(WireText(4000, 4));
  std::string records = testing::V2Record(ObjectKind::kBlob, text.id, 5000, Encoding::kZstd,
                                          testing::ZstdFrame(text.bytes));
  Status st = Receive(records);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kCorrupt);
  EXPECT_NE(st.message().find("declares 4000 bytes, not the 5000"), std::string::npos)
      << st.message();
  EXPECT_FALSE(store_->Has(text.id));
}

TEST_F(WireReceiveTest, BytesThatDoNotHashToTheIdAfterDecompressionAreRefused) {
  std::string honest = WireText(50000, 5);
  ObjectId claimed = ObjectId::Of("something else");
  Status st = Receive(testing::V2Record(ObjectKind::kBlob, claimed, honest.size(), Encoding::kZstd,
                                        testing::ZstdFrame(honest)));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kCorrupt);
  ASSERT_EQ(role_->refusals.size(), 1u);
  EXPECT_EQ(role_->refusals[0], ObjectReceiver::Refusal::kBadHash);
  EXPECT_FALSE(store_->Has(claimed));
  EXPECT_FALSE(store_->Has(ObjectId::Of(honest)));
  EXPECT_EQ(Temps(), 0u);
}

TEST_F(WireReceiveTest, BrokenFramesAreRefused) {
  TestObject text = testing::Blob(WireText(60000, 6));
  std::string frame = testing::ZstdFrame(text.bytes);
  std::string no_size;  // a streamed frame: no content size in its header
  {
    StreamCompressor z(1, 20);
    auto put = [&](std::string_view b) {
      no_size.append(b);
      return Status::Ok();
    };
    ASSERT_TRUE(z.Write(text.bytes, put).ok());
    ASSERT_TRUE(z.Finish(put).ok());
  }
  std::string cut = frame.substr(0, frame.size() - 10);
  std::string trailing = frame + "x";
  std::string skippable = std::string("\x50\x2a\x4d\x18\x00\x00\x00\x00", 8);
  for (const std::string& bad : {no_size, cut, trailing, skippable, std::string("zzzzzzzzzz")}) {
    role_->refusals.clear();
    Status st = Receive(
        testing::V2Record(ObjectKind::kBlob, text.id, text.bytes.size(), Encoding::kZstd, bad));
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), Code::kCorrupt) << st.message();
    ASSERT_EQ(role_->refusals.size(), 1u) << st.message();
    EXPECT_EQ(role_->refusals[0], ObjectReceiver::Refusal::kBadEncoding) << st.message();
  }
  EXPECT_FALSE(store_->Has(text.id));
  EXPECT_EQ(Temps(), 0u);
}

TEST_F(WireReceiveTest, AnObjectSentAgainstItsBaseIsRebuiltFromIt) {
  std::string old_text = WireText(100000, 7);
  TestObject now = testing::Blob(old_text + "\nbench edit 1\n");
  ObjectId base = ObjectId::Of(old_text);
  std::optional<std::string> delta = CompressAgainst(now.bytes, old_text);
  ASSERT_TRUE(delta.has_value());
  EXPECT_LT(delta->size(), 100u) << "an appended line costs next to nothing";
  std::string record = testing::V2Record(ObjectKind::kBlob, now.id, now.bytes.size(),
                                         Encoding::kZstdDelta, *delta, base);
  // A receiver that takes no base (a client's fetch) refuses it.
  Status refused = Receive(record);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), Code::kCorrupt);
  EXPECT_EQ(role_->refusals.back(), ObjectReceiver::Refusal::kBadEncoding);
  // Against other bytes than the base it was made with, it is refused.
  role_->bases[base] = WireText(100000, 8);
  EXPECT_FALSE(Receive(record).ok());
  EXPECT_FALSE(store_->Has(now.id));
  role_->bases[base] = old_text;
  ASSERT_TRUE(Receive(record).ok());
  EXPECT_EQ(*store_->Read(now.id), now.bytes);
  EXPECT_TRUE(store_->Locate(now.id)->compressed) << "stored on its own, compressed again";
  EXPECT_EQ(Temps(), 0u);
}

TEST_F(WireReceiveTest, WithoutMemoryToSpareAFrameIsStoredAnywayAndADeltaWaits) {
  TestObject text = testing::Blob(WireText(200000, 9));
  std::string old_text = WireText(1000, 10);
  TestObject now = testing::Blob(old_text + "more");
  role_->bases[ObjectId::Of(old_text)] = old_text;
  std::optional<std::string> delta = CompressAgainst(now.bytes, old_text);
  ASSERT_TRUE(delta.has_value());
  MemoryBudget::Global().set_limit(0);
  ASSERT_TRUE(Receive(testing::V2Zstd(text)).ok());
  EXPECT_EQ(role_->kept_frame, std::vector<bool>{false});
  EXPECT_EQ(*store_->Read(text.id), text.bytes);
  Status st = Receive(testing::V2Record(ObjectKind::kBlob, now.id, now.bytes.size(),
                                        Encoding::kZstdDelta, *delta, ObjectId::Of(old_text)));
  MemoryBudget::Global().set_limit(MemoryBudget::kDefaultLimit);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kUnavailable) << st.message();
  EXPECT_EQ(MemoryBudget::Global().used(), 0u);
}

TEST_F(WireReceiveTest, TheStoreHandsACompressedCopyOutAsItsVerifiedFrame) {
  for (size_t size : {size_t{50000}, size_t{8} << 20}) {
    std::string text = WireText(size, 11);
    ObjectId id = ObjectId::Of(text);
    WriteBatch b(*store_);
    ASSERT_TRUE(b.Put(text).ok());
    ASSERT_TRUE(b.Commit().ok());
    Result<ObjectStore::Location> at = store_->Locate(id);
    ASSERT_TRUE(at.ok() && at->compressed);
    std::string frame;
    bool zstd = false;
    ASSERT_TRUE(store_
                    ->StreamStored(id,
                                   [&](const ObjectStore::StoredForm& f, std::string_view p) {
                                     zstd = f.zstd;
                                     EXPECT_EQ(f.stored, at->length);
                                     frame.append(p);
                                     return Status::Ok();
                                   })
                    .ok());
    EXPECT_TRUE(zstd);
    ASSERT_EQ(frame.size(), at->length);
    std::string raw(size, '\0');
    ASSERT_TRUE(DecompressStored(frame, raw.data(), size).ok());
    EXPECT_EQ(raw, text);
  }
  // A loose copy goes raw.
  Result<ObjectId> loose = store_->Put("a loose object");
  ASSERT_TRUE(loose.ok());
  ASSERT_TRUE(store_
                  ->StreamStored(*loose,
                                 [&](const ObjectStore::StoredForm& f, std::string_view p) {
                                   EXPECT_FALSE(f.zstd);
                                   EXPECT_EQ(f.stored, 14u);
                                   EXPECT_EQ(p, "a loose object");
                                   return Status::Ok();
                                 })
                  .ok());
}

TEST_F(WireReceiveTest, ADamagedCompressedCopyNeverReachesTheSinkWhole) {
  std::string text = WireText(8 << 20, 12);  // a frame of more than one 1 MiB piece
  ObjectId id = ObjectId::Of(text);
  WriteBatch b(*store_);
  ASSERT_TRUE(b.Put(text).ok());
  ASSERT_TRUE(b.Commit().ok());
  Result<ObjectStore::Location> at = store_->Locate(id);
  ASSERT_TRUE(at.ok() && at->compressed);
  {
    fs::permissions(at->file, fs::perms::owner_write, fs::perm_options::add);
    Fd fd(::open(at->file.c_str(), O_RDWR));
    ASSERT_TRUE(fd.valid());
    // Near the end of the frame: past the first piece read.
    char c;
    off_t where = static_cast<off_t>(at->offset + at->length - 200);
    ASSERT_EQ(::pread(fd.get(), &c, 1, where), 1);
    c ^= 0x5a;
    ASSERT_EQ(::pwrite(fd.get(), &c, 1, where), 1);
  }
  uint64_t got = 0;
  Status st = store_->StreamStored(id, [&](const ObjectStore::StoredForm&, std::string_view p) {
    got += p.size();
    return Status::Ok();
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kCorrupt) << st.message();
  EXPECT_LT(got, at->length) << "the last piece was withheld";
}

}  // namespace
}  // namespace converge
