// Pack format version 2 (api/pack.h, docs/pack.md "Version 2"): its object
// headers, its framing in both modes, and which version a peer is sent.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "api/pack.h"
#include "support/objects.h"
#include "support/process.h"

namespace converge {
namespace {

using testing::TestObject;

// Records what the parser hands a handler: each object's header and bytes.
struct V2Seen {
  EncodedObject header;
  std::string bytes;
  bool ended = false;
};

class V2Collect : public PackParser::Handler {
 public:
  std::vector<V2Seen> seen;
  Status Begin(ObjectKind kind, const ObjectId& id, uint64_t size) override {
    seen.push_back({EncodedObject{kind, id, size, Encoding::kRaw, size, ObjectId()}, "", false});
    return Status::Ok();
  }
  Status BeginEncoded(const EncodedObject& o) override {
    seen.push_back({o, "", false});
    return Status::Ok();
  }
  Status Data(std::string_view b) override {
    seen.back().bytes.append(b);
    return Status::Ok();
  }
  Status End() override {
    seen.back().ended = true;
    return Status::Ok();
  }
};

Status FeedV2InPieces(PackParser& parser, const std::string& body, size_t piece) {
  for (size_t i = 0; i < body.size(); i += piece)
    RETURN_IF_ERROR(parser.Feed(std::string_view(body).substr(i, piece)));
  return parser.Finish();
}

EncodedObject SampleHeader(Encoding e, uint64_t size, uint64_t stored) {
  return EncodedObject{ObjectKind::kManifest,
                       ObjectId::Of("m"),
                       size,
                       e,
                       stored,
                       e == Encoding::kZstdDelta ? ObjectId::Of("base") : ObjectId()};
}

TEST(PackV2Header, RoundTripsAndAsksForMoreUntilWhole) {
  for (Encoding e : {Encoding::kRaw, Encoding::kZstd, Encoding::kZstdDelta}) {
    for (uint64_t size :
         {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{1} << 40, ~uint64_t{0}}) {
      EncodedObject h = SampleHeader(e, size, e == Encoding::kRaw ? size : 300);
      std::string bytes = PackObjectHeaderV2(h);
      ASSERT_LE(bytes.size(), kMaxV2HeaderBytes);
      for (size_t n = 0; n < bytes.size(); n++) {
        EncodedObject got;
        bool end = true;
        Result<size_t> r = ParsePackObjectHeaderV2(bytes.substr(0, n), &got, &end);
        ASSERT_TRUE(r.ok()) << r.status().message();
        EXPECT_EQ(*r, 0u) << "a header cut at " << n << " bytes is not whole";
        EXPECT_FALSE(end);
      }
      EncodedObject got;
      bool end = true;
      Result<size_t> r = ParsePackObjectHeaderV2(bytes + "tail", &got, &end);
      ASSERT_TRUE(r.ok()) << r.status().message();
      EXPECT_EQ(*r, bytes.size());
      EXPECT_FALSE(end);
      EXPECT_EQ(got.kind, h.kind);
      EXPECT_EQ(got.id, h.id);
      EXPECT_EQ(got.size, h.size);
      EXPECT_EQ(got.encoding, h.encoding);
      EXPECT_EQ(got.stored, h.stored);
      EXPECT_EQ(got.base, h.base);
    }
  }
  EncodedObject o;
  bool end = false;
  Result<size_t> r = ParsePackObjectHeaderV2(std::string(1, '\0'), &o, &end);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 1u);
  EXPECT_TRUE(end);
}

TEST(PackV2Header, RefusesAnythingButTheCanonicalForm) {
  std::string id(32, 'i');
  for (const std::string& bad : {
           std::string("\x05\x00", 2) + id + "\x01",                           // kind 5
           std::string("\x01\x03", 2) + id + "\x01",                           // encoding 3
           std::string("\x01\x00", 2) + id + std::string("\x81\x00", 2),       // 1 in two bytes
           std::string("\x01\x00", 2) + id + std::string(9, '\xff') + "\x02",  // past 64 bits
       }) {
    EncodedObject o;
    bool end = false;
    Result<size_t> r = ParsePackObjectHeaderV2(bad, &o, &end);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalid);
  }
}

TEST(PackVersions, APeerGetsVersionTwoOnlyWhenItSaysSo) {
  EXPECT_EQ(PackVersionFromList("1, 2"), 2);
  EXPECT_EQ(PackVersionFromList("2"), 2);
  EXPECT_EQ(PackVersionFromList("1"), 1);
  EXPECT_EQ(PackVersionFromList(""), 1);  // a server from before version 2
  EXPECT_EQ(PackVersionFromList("1, 3"), 1);
  EXPECT_EQ(PackVersionAccepted("application/x-converge-pack; version=2"), 2);
  EXPECT_EQ(PackVersionAccepted("application/json, Application/X-Converge-Pack ; version=2"), 2);
  EXPECT_EQ(PackVersionAccepted("application/x-converge-pack"), 1);
  EXPECT_EQ(PackVersionAccepted("*/*"), 1);
  EXPECT_EQ(PackVersionAccepted(""), 1);  // a client from before version 2
  EXPECT_EQ(PackVersionAccepted("text/plain; version=2"), 1);
  EXPECT_EQ(PackContentType(1), "application/x-converge-pack");
  EXPECT_EQ(PackContentType(2), "application/x-converge-pack; version=2");
}

TEST(PackParserV2, EitherModeGivesTheSameObjectsFedInAnyPieces) {
  TestObject text = testing::Blob(std::string(20000, 't') + "end");
  TestObject empty = testing::Blob("");
  std::string delta_bytes = "not really a frame, but the parser does not look";
  std::string records = testing::V2Raw(empty) + testing::V2Zstd(text) +
                        testing::V2Record(ObjectKind::kBlob, ObjectId::Of("new"), 70,
                                          Encoding::kZstdDelta, delta_bytes, ObjectId::Of("old"));
  for (bool stream : {false, true}) {
    std::string body = testing::PackV2Body(records, stream);
    for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, body.size()}) {
      V2Collect c;
      PackParser parser(c);
      Status st = FeedV2InPieces(parser, body, piece);
      ASSERT_TRUE(st.ok()) << st.message() << " (stream " << stream << ", pieces of " << piece
                           << ")";
      EXPECT_EQ(parser.version(), 2);
      EXPECT_EQ(parser.objects(), 3u);
      ASSERT_EQ(c.seen.size(), 3u);
      EXPECT_EQ(c.seen[0].header.encoding, Encoding::kRaw);
      EXPECT_EQ(c.seen[0].bytes, "");
      EXPECT_EQ(c.seen[1].header.encoding, Encoding::kZstd);
      EXPECT_EQ(c.seen[1].header.size, text.bytes.size());
      EXPECT_EQ(c.seen[1].bytes, testing::ZstdFrame(text.bytes));
      EXPECT_EQ(c.seen[2].header.base, ObjectId::Of("old"));
      EXPECT_EQ(c.seen[2].bytes, delta_bytes);
      for (const V2Seen& s : c.seen) EXPECT_TRUE(s.ended);
    }
  }
}

// A stream's compressor holds small objects back until a block fills; the
// encoder flushes what waited 5 ms, so that a receiver checks a 1 % publish's
// small deltas while the sender is still encoding, not after.
TEST(PackEncoderV2, AStreamHandsOverWhatWaitedBeforeItsNextObject) {
  testing::TempDir dir;
  Result<ObjectStore> store = ObjectStore::Open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().message();
  Result<ObjectId> first = store->Put("first small object");
  Result<ObjectId> second = store->Put("second small object");
  ASSERT_TRUE(first.ok() && second.ok());
  std::string sent;
  PackEncoder encoder(*store, PackEncoder::Options{2, true}, [&](std::string_view b) {
    sent.append(b);
    return Status::Ok();
  });
  ASSERT_TRUE(encoder.Start().ok());
  ASSERT_TRUE(encoder.Add(ObjectKind::kBlob, *first, 18).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(encoder.Add(ObjectKind::kBlob, *second, 19).ok());
  V2Collect c;
  PackParser parser(c);
  ASSERT_TRUE(parser.Feed(sent).ok());
  ASSERT_EQ(c.seen.size(), 2u) << "the pack so far: " << sent.size() << " bytes";
  EXPECT_TRUE(c.seen[1].ended);
  EXPECT_EQ(c.seen[1].bytes, "second small object");
  ASSERT_TRUE(encoder.Finish().ok());
  EXPECT_EQ(encoder.bytes_out(), sent.size());
}

TEST(PackParserV2, ACutOrOverlongBodyIsInvalid) {
  std::string records = testing::V2Zstd(testing::Blob(std::string(5000, 'x')));
  for (bool stream : {false, true}) {
    std::string body = testing::PackV2Body(records, stream);
    for (size_t cut = 1; cut < body.size(); cut += std::max<size_t>(1, body.size() / 9)) {
      V2Collect c;
      PackParser parser(c);
      Status st = parser.Feed(std::string_view(body).substr(0, cut));
      if (st.ok()) st = parser.Finish();
      EXPECT_FALSE(st.ok()) << "cut at " << cut << " of " << body.size();
    }
    V2Collect c;
    PackParser parser(c);
    Status st = parser.Feed(body + "x");
    ASSERT_FALSE(st.ok()) << "stream " << stream;
    EXPECT_EQ(st.code(), Code::kInvalid);
    EXPECT_NE(st.message().find("after the end"), std::string::npos) << st.message();
  }
  V2Collect c;
  PackParser parser(c);
  Status st = parser.Feed(std::string(kPackMagicV2) + "\x02");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("mode"), std::string::npos) << st.message();
}

TEST(PackParserV2, ADamagedStreamIsInvalid) {
  std::string body =
      testing::PackV2Body(testing::V2Raw(testing::Blob(std::string(9000, 'q'))), true);
  body[kPackMagicV2.size() + 1] ^= 0x55;  // the zstd magic
  V2Collect c;
  PackParser parser(c);
  Status st = parser.Feed(body);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kInvalid);
  EXPECT_NE(st.message().find("zstd stream"), std::string::npos) << st.message();
}

TEST(PackParserV2, LimitsHoldWhateverTheEncoding) {
  std::string records = testing::V2Record(ObjectKind::kBlob, ObjectId::Of("x"), 1000,
                                          Encoding::kZstd, std::string(10, 'z'));
  PackLimits limits;
  limits.max_object_size = 999;
  V2Collect c;
  PackParser parser(c, limits);
  Status st = parser.Feed(testing::PackV2Body(records));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kTooLarge);
  EXPECT_TRUE(c.seen.empty()) << "refused before the handler heard of it";
}

TEST(PackParserV2, VersionOneStillParses) {
  V2Collect c;
  PackParser parser(c);
  ASSERT_TRUE(FeedV2InPieces(parser, testing::PackOf({testing::Blob("old client")}), 3).ok());
  EXPECT_EQ(parser.version(), 1);
  ASSERT_EQ(c.seen.size(), 1u);
  EXPECT_EQ(c.seen[0].bytes, "old client");
}

}  // namespace
}  // namespace converge
