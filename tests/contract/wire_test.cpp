// Pack format version 2 against a real server (docs/pack.md, "Version 2",
// "Versions"): negotiated, compressed either way, every object verified
// after decompression, bombs and lies refused with nothing kept, and a
// client that knows only version 1 served as before.
#include <gtest/gtest.h>

#include <cstring>

#include "fixtures.h"

namespace converge::testing {
namespace {

class WireTest : public OwnedRepoTest {
 protected:
  // POST .../objects/fetch with an Accept header ("" for none).
  Reply FetchAccepting(const nlohmann::json& ids, const std::string& accept) {
    httplib::Client cli("127.0.0.1", server().port());
    cli.set_bearer_token_auth(owner_);
    httplib::Headers headers;
    if (!accept.empty()) headers.emplace("Accept", accept);
    httplib::Result r =
        cli.Post((Base() + "/objects/fetch").c_str(), headers, ids.dump(), "application/json");
    Reply out;
    if (!r) return out;
    out.status = r->status;
    out.body = r->body;
    out.headers = r->headers;
    return out;
  }
  Reply UploadV2(const std::string& body) {
    return Owner().PostBytes(Base() + "/objects/pack", body, PackContentType(2));
  }
  static nlohmann::json IdsOf(const TestTree& t) {
    return {{"blobs", {t.objects[0].hex(), t.objects[1].hex()}},
            {"manifests", {t.objects[2].hex(), t.objects[3].hex()}},
            {"snaps", {t.snap().hex()}}};
  }
  // The refusal of a one-object upload: 422 naming pack object #1, and the
  // object not kept.
  void ExpectRefusedAndNotKept(const Reply& r, const TestObject& o, const std::string& why) {
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_NE(r.message().find("pack object #1 (blob " + o.hex() + ")"), std::string::npos)
        << r.body;
    EXPECT_NE(r.message().find(why), std::string::npos) << r.body;
    EXPECT_TRUE(Lacks(o));
    EXPECT_EQ(Owner().Get(o.Path(repo_)).status, 404);
  }
};

TEST_F(WireTest, TheServerSaysWhichPackVersionsItTakes) {
  Reply r = Owner().Post(Base() + "/objects/missing", {{"blobs", {Blob("x").hex()}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header(kPackVersionsHeader), "1, 2");
  EXPECT_EQ(r.header(kPackObjectsHeader), "100000") << "the default max_ids_per_request";
}

TEST_F(WireTest, AVersionTwoPackInEitherModeIsTakenAndServedBack) {
  for (bool stream : {false, true}) {
    TestTree t = MakeTree(stream ? "v2-stream" : "v2-plain");
    Reply up = UploadV2(PackV2Of(t.objects, stream));
    ASSERT_EQ(up.status, 200) << up.body;
    EXPECT_EQ(up.json()["objects"], 5);
    EXPECT_EQ(up.json()["stored"], 5);
    for (const TestObject& o : t.objects) {
      Reply get = Owner().Get(o.Path(repo_));
      ASSERT_EQ(get.status, 200) << get.body;
      EXPECT_EQ(get.body, o.bytes);
    }
    Reply fetch = FetchAccepting(IdsOf(t), PackContentType(2));
    ASSERT_EQ(fetch.status, 200) << fetch.body;
    EXPECT_EQ(fetch.header("Content-Type"), PackContentType(2));
    ASSERT_EQ(fetch.body.substr(0, kPackMagicV2.size()), kPackMagicV2);
    std::vector<PackedObject> got = ParsePack(fetch.body);
    ASSERT_EQ(got.size(), 5u);
    bool compressed = false;
    for (const PackedObject& p : got) {
      EXPECT_EQ(ObjectId::Of(p.bytes), p.id);
      compressed |= p.encoding == Encoding::kZstd;
    }
    EXPECT_TRUE(compressed) << "the 1000-byte blob is stored, and sent, compressed";
  }
}

TEST_F(WireTest, AClientThatKnowsOnlyVersionOneIsServedAsBefore) {
  TestTree t = MakeTree("v1");
  Reply up = Owner().PostBytes(Base() + "/objects/pack", PackOf(t.objects), kPackContentType);
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(up.json()["stored"], 5);
  for (const std::string& accept :
       {std::string(), std::string("*/*"), std::string(kPackContentType)}) {
    Reply fetch = FetchAccepting(IdsOf(t), accept);
    ASSERT_EQ(fetch.status, 200) << fetch.body;
    EXPECT_EQ(fetch.header("Content-Type"), kPackContentType) << "Accept: " << accept;
    EXPECT_EQ(fetch.body.substr(0, kPackMagic.size()), kPackMagic);
    std::vector<PackedObject> got = ParsePack(fetch.body);
    ASSERT_EQ(got.size(), 5u);
    for (const PackedObject& p : got) EXPECT_EQ(ObjectId::Of(p.bytes), p.id);
  }
}

TEST_F(WireTest, AFrameThatInflatesPastItsDeclaredSizeIsRefusedAndNothingKept) {
  // 4 MiB of zeros in a frame rewritten to declare 1000 bytes.
  std::string frame = ZstdFrame(std::string(4 << 20, '\0'));
  unsigned fhd = static_cast<unsigned char>(frame[4]);
  ASSERT_EQ(fhd >> 6, 2u);
  uint32_t declared = 1000;
  std::memcpy(frame.data() + 5 + ((fhd & 0x20) ? 0 : 1), &declared, 4);
  TestObject o = Blob(std::string(1000, '\0'));
  Reply r = UploadV2(PackV2Body(V2Record(o.kind, o.id, 1000, Encoding::kZstd, frame)));
  // zstd itself stops at its first block past the declared size; the
  // receiver would at its first byte past it.
  ExpectRefusedAndNotKept(r, o, "declared to hold 1000 bytes");
}

TEST_F(WireTest, AFrameOfAnotherSizeThanItsHeaderIsRefusedAndNothingKept) {
  TestObject o = Blob(std::string(4000, 'w'));
  Reply r = UploadV2(PackV2Body(V2Record(o.kind, o.id, 5000, Encoding::kZstd, ZstdFrame(o.bytes))));
  ExpectRefusedAndNotKept(r, o, "declares 4000 bytes, not the 5000");
}

TEST_F(WireTest, BytesThatDoNotHashToTheIdOnceDecompressedAreRefusedAndNothingKept) {
  TestObject claimed = Blob(std::string(3000, 'c'));
  std::string other(3000, 'o');
  for (bool stream : {false, true}) {
    Reply r = UploadV2(PackV2Body(
        V2Record(claimed.kind, claimed.id, other.size(), Encoding::kZstd, ZstdFrame(other)),
        stream));
    ExpectRefusedAndNotKept(r, claimed, "does not match its content");
    EXPECT_TRUE(Lacks(Blob(other)));
  }
}

TEST_F(WireTest, AnObjectAgainstABaseIsTakenOnlyAgainstTheReposOwn) {
  // The base is the owner's in this repo; the same bytes' ID is another
  // repo's too, and a third base is nowhere.
  TestObject held = Blob(std::string(5000, 'h') + "v1");
  ASSERT_EQ(UploadV2(PackV2Of({held})).status, 200);
  TestObject next = Blob(held.bytes + " and v2");
  std::optional<std::string> delta = CompressAgainst(next.bytes, held.bytes);
  ASSERT_TRUE(delta.has_value());
  Reply ok = UploadV2(PackV2Body(
      V2Record(next.kind, next.id, next.bytes.size(), Encoding::kZstdDelta, *delta, held.id)));
  ASSERT_EQ(ok.status, 200) << ok.body;
  Reply get = Owner().Get(next.Path(repo_));
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(get.body, next.bytes);

  std::string other_owner = NewUser("other");
  std::string other_repo = NewRepo(other_owner);
  TestObject theirs = Blob(std::string(5000, 't') + "secret");
  ASSERT_EQ(As(other_owner)
                .PostBytes("/v1/repos/" + other_repo + "/objects/pack", PackV2Of({theirs}),
                           PackContentType(2))
                .status,
            200);
  TestObject probe = Blob(theirs.bytes + "?");
  Reply refused =
      UploadV2(PackV2Body(V2Record(probe.kind, probe.id, probe.bytes.size(), Encoding::kZstdDelta,
                                   *CompressAgainst(probe.bytes, theirs.bytes), theirs.id)));
  ExpectRefusedAndNotKept(refused, probe, "which is not in the repo");
  TestObject nowhere = Blob(std::string(5000, 'n'));
  TestObject probe2 = Blob(nowhere.bytes + "?");
  Reply unknown = UploadV2(
      PackV2Body(V2Record(probe2.kind, probe2.id, probe2.bytes.size(), Encoding::kZstdDelta,
                          *CompressAgainst(probe2.bytes, nowhere.bytes), nowhere.id)));
  EXPECT_EQ(unknown.status, refused.status);
  std::string a = refused.message(), b = unknown.message();
  for (const auto& [id, with] : {std::pair{theirs.hex(), "BASE"}, std::pair{probe.hex(), "ID"}})
    a.replace(a.find(id), id.size(), with);
  for (const auto& [id, with] : {std::pair{nowhere.hex(), "BASE"}, std::pair{probe2.hex(), "ID"}})
    b.replace(b.find(id), id.size(), with);
  EXPECT_EQ(a, b) << "another repo's object is refused exactly as one that exists nowhere";
}

// A manifest sent against a base: the entries it shares with the base are
// vouched for by it (the repo holds the base with everything under it), and
// every entry that differs is checked as in any upload (docs/pack.md).
TEST_F(WireTest, AManifestAgainstABaseIsCheckedWhereverItDiffersFromIt) {
  TestObject a = Blob("alpha"), b = Blob("bravo"), c = Blob("charlie, never uploaded");
  TestObject base = ManifestOf({FileEntry("a.txt", a), FileEntry("b.txt", b)});
  ASSERT_EQ(UploadV2(PackV2Of({a, b, base})).status, 200);
  auto against_base = [&](const TestObject& m) {
    std::optional<std::string> delta = CompressAgainst(m.bytes, base.bytes);
    EXPECT_TRUE(delta.has_value());
    return UploadV2(PackV2Body(V2Record(m.kind, m.id, m.bytes.size(), Encoding::kZstdDelta,
                                        delta.value_or(""), base.id)));
  };
  // Unchanged entries, one renamed (a name the base lacks), one added.
  TestObject ok = ManifestOf({FileEntry("a.txt", a), FileEntry("b2.txt", b),
                              FileEntry("b.txt", b), FileEntry("z.txt", a)});
  Reply taken = against_base(ok);
  EXPECT_EQ(taken.status, 200) << taken.body;
  // A changed entry naming an object the repo lacks.
  TestObject missing = ManifestOf({FileEntry("a.txt", a), FileEntry("b.txt", c)});
  Reply r1 = against_base(missing);
  EXPECT_EQ(r1.status, 422) << r1.body;
  EXPECT_NE(r1.message().find(c.hex()), std::string::npos) << r1.body;
  // The base's object under the base's name, with another size.
  Entry lying = FileEntry("a.txt", a);
  lying.size = 4;
  TestObject resized = ManifestOf({lying, FileEntry("b.txt", b)});
  Reply r2 = against_base(resized);
  EXPECT_EQ(r2.status, 422) << r2.body;
  EXPECT_NE(r2.message().find("says 4 bytes"), std::string::npos) << r2.body;
  // A blob the base names, under another name with another size.
  Entry moved = FileEntry("c.txt", b);
  moved.size = 99;
  Reply r3 = against_base(ManifestOf({FileEntry("a.txt", a), FileEntry("b.txt", b), moved}));
  EXPECT_EQ(r3.status, 422) << r3.body;
  EXPECT_NE(r3.message().find("says 99 bytes"), std::string::npos) << r3.body;
}

}  // namespace
}  // namespace converge::testing
