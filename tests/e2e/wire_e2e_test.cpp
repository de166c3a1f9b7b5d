// Pack version 2 end to end (docs/pack.md, "Version 2"), through the built
// binary: a publish goes compressed, a changed file and the directories along
// its path go against their base's versions, and what a fetch brings back
// restores byte for byte; a server that does not say it takes version 2 is
// sent version 1.
#include <gtest/gtest.h>

#include "api/pack.h"
#include "client/negotiate.h"
#include "support/fake_client.h"
#include "support/objects.h"
#include "support/team.h"
#include "support/tree_helpers.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

// Source-like text: compresses, and differs from file to file.
std::string SourceText(int n) {
  std::string out = "// file " + std::to_string(n) + "\n";
  for (int i = 0; i < 400; i++)
    out += "int f" + std::to_string(n * 1000 + i) + "(int x) { return x * " + std::to_string(i) +
           "; }\n";
  return out;
}

class WireE2eTest : public TeamTest {
 protected:
  void SetUp() override {
    StartTeam();
    alice_ = NewUser("alice");
    bob_ = NewUser("bob");
    ASSERT_NO_FATAL_FAILURE(CreateRepo("web", alice_, bob_));
    ws_ = alice_.home->path() / "ws";
    for (int i = 0; i < 40; i++)
      WriteFile(ws_ / ("src/d" + std::to_string(i % 4)) / ("f" + std::to_string(i) + ".c"),
                SourceText(i));
    WriteFile(ws_ / "noise.bin", PseudoRandomBytes(1 << 20, 3));  // incompressible
    WriteFile(ws_ / "big.bin", PseudoRandomBytes(5 << 20, 4));    // a chunk list
    ASSERT_EQ(alice_.Run({"init", ws_.string()}).exit_code, 0);
    ASSERT_EQ(alice_.Run({"remote", "set", "--url", url_, "--repo", "web"}, ws_).exit_code, 0);
  }

  json SnapAndPublish(const std::string& message) {
    EXPECT_EQ(alice_.Run({"snap", "-m", message}, ws_).exit_code, 0);
    return alice_.Json({"publish"}, ws_);
  }

  Person alice_, bob_;
  fs::path ws_;
};

TEST_F(WireE2eTest, PublishesCompressedSendsChangesAgainstTheirBaseAndRestoresExactly) {
  json first = SnapAndPublish("first");
  ASSERT_TRUE(first.contains("publication")) << first;
  EXPECT_EQ(first["pack_version"], 2);
  uint64_t raw = first["bytes_uploaded"], packs = first["pack_bytes"];
  uint64_t random = (1u << 20) + (5u << 20), text = raw - random;
  EXPECT_LT(packs, random + text / 2) << first << ": the text goes compressed";
  EXPECT_GT(packs, random) << "random bytes cannot shrink";
  EXPECT_LT(packs, random + random / 50 + text) << "and cost next to nothing more";
  EXPECT_GE(first["bytes_sent"].get<uint64_t>(), packs) << "negotiation and publication too";

  // One line appended to one file: it and the directories along its path
  // go against the versions the repo holds.
  std::string edited = SourceText(5) + "int added(void) { return 1; }\n";
  WriteFile(ws_ / "src/d1/f5.c", edited);
  json second = SnapAndPublish("second");
  ASSERT_TRUE(second.contains("publication")) << second;
  EXPECT_EQ(second["objects_uploaded"], 5) << second;  // the file, src/d1, src, the root, the snap
  const json& blob = second["uploaded_by_kind"]["blob"];
  EXPECT_EQ(blob["objects"], 1) << second;
  EXPECT_EQ(blob["bytes"], edited.size());
  EXPECT_LT(blob["encoded"].get<uint64_t>(), 200u) << second;
  const json& dirs = second["uploaded_by_kind"]["manifest"];
  EXPECT_EQ(dirs["objects"], 3) << second;
  EXPECT_LT(dirs["encoded"].get<uint64_t>(), dirs["bytes"].get<uint64_t>() / 2) << second;
  EXPECT_LT(second["bytes_sent"].get<uint64_t>(), 2500u) << second;

  fs::path bob_ws = bob_.home->path() / "ws";
  ASSERT_EQ(bob_.Run({"init", bob_ws.string()}).exit_code, 0);
  ASSERT_EQ(bob_.Run({"remote", "set", "--url", url_, "--repo", "web"}, bob_ws).exit_code, 0);
  json fetched = bob_.Json({"fetch"}, bob_ws);
  ASSERT_TRUE(fetched.contains("bytes_received")) << fetched;
  // The objects' own bytes, and less than that over the wire: the text came
  // as the server stores it, compressed.
  EXPECT_GT(fetched["bytes_fetched"].get<uint64_t>(), raw);
  EXPECT_LT(fetched["bytes_received"].get<uint64_t>(), random + text / 2) << fetched;
  for (const json* p : {&first, &second}) {
    std::string snap = (*p)["publication"]["snap"].get<std::string>();
    fs::path out = bob_.home->path() / ("out-" + snap.substr(0, 12));
    RunResult r = bob_.Run({"restore", snap, "--to", out.string()}, bob_ws);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    if (p == &second) {
      EXPECT_EQ(DescribeTree(out), DescribeTree(ws_));
    }
  }
  RunResult fsck = bob_.Run({"fsck"}, bob_ws);
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
}

// Without a base (a fresh workspace), negotiation walks the tree; under a
// directory the repo lacks, a small file is sent without asking (the server
// drops it if it holds it) and a large one is asked about (and not sent).
TEST_F(WireE2eTest, UnderANewDirectorySmallFilesAreSentUnaskedAndLargeOnesAsked) {
  ASSERT_TRUE(SnapAndPublish("first").contains("publication"));
  fs::path other = alice_.home->path() / "other";
  std::string small = SourceText(1), large = SourceText(2) + SourceText(3) + SourceText(4) +
                                            SourceText(5) + SourceText(6);
  ASSERT_LT(small.size(), kAskBlobsFrom);
  ASSERT_GE(large.size(), kAskBlobsFrom);
  WriteFile(ws_ / "src/d0/small.c", small);
  WriteFile(ws_ / "src/d0/large.c", large);
  ASSERT_TRUE(SnapAndPublish("both held").contains("publication"));
  WriteFile(other / "moved/small.c", small);
  WriteFile(other / "moved/large.c", large);
  ASSERT_EQ(alice_.Run({"init", other.string()}).exit_code, 0);
  ASSERT_EQ(alice_.Run({"remote", "set", "--url", url_, "--repo", "web"}, other).exit_code, 0);
  ASSERT_EQ(alice_.Run({"snap", "-m", "moved"}, other).exit_code, 0);
  json pub = alice_.Json({"publish"}, other);
  ASSERT_TRUE(pub.contains("publication")) << pub;
  const json& blobs = pub["uploaded_by_kind"]["blob"];
  EXPECT_EQ(blobs["objects"], 1) << pub;
  EXPECT_EQ(blobs["bytes"], small.size()) << pub;
}

class OldServerTest : public FakeServerClientTest {};

TEST_F(OldServerTest, AServerThatDoesNotSayItTakesVersionTwoGetsVersionOne) {
  WriteFile(ws_ / "a.txt", SourceText(1));
  WriteFile(ws_ / "sub/b.txt", SourceText(2));
  ASSERT_EQ(Run({"snap", "-m", "one"}).exit_code, 0);
  for (bool advertised : {false, true}) {
    SCOPED_TRACE(advertised ? "advertised" : "not advertised");
    server_.AdvertisePackVersions(advertised ? std::optional<std::string>("1, 2") : std::nullopt);
    size_t before = server_.uploads().size();
    RunResult r = Run({"--json", "publish", "--lane", "default"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json out = json::parse(r.out);
    EXPECT_EQ(out["pack_version"], advertised ? 2 : 1) << out;
    std::vector<std::string> uploads = server_.uploads();
    ASSERT_EQ(uploads.size(), before + 1);
    std::string_view magic = advertised ? kPackMagicV2 : kPackMagic;
    EXPECT_EQ(uploads.back().substr(0, magic.size()), magic);
    std::vector<PackedObject> got = ParsePack(uploads.back());
    EXPECT_EQ(got.size(), 5u);  // two blobs, two manifests, the snap
    for (const PackedObject& o : got) EXPECT_EQ(ObjectId::Of(o.bytes), o.id);
  }
}

class UploadModeTest : public FakeServerClientTest {};

// Blobs go first, like files together (extension, name, larger first), then
// the rest, each after what it names.
TEST_F(UploadModeTest, BlobsGoFirstOrderedByExtensionThenNameThenSize) {
  server_.AdvertisePackVersions("1, 2");
  WriteFile(ws_ / "z/b.c", SourceText(1));
  WriteFile(ws_ / "a.h", SourceText(2));
  WriteFile(ws_ / "y/a.c", SourceText(3));
  WriteFile(ws_ / "x/a.c", SourceText(44) + "bigger\n");
  ASSERT_EQ(Run({"snap", "-m", "order"}).exit_code, 0);
  RunResult r = Run({"--json", "publish", "--lane", "default"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<PackedObject> got = ParsePack(server_.uploads().back());
  std::vector<ObjectId> blobs;
  bool rest = false;
  for (const PackedObject& o : got) {
    if (o.kind != ObjectKind::kBlob) rest = true;
    else
      EXPECT_FALSE(rest) << "a blob after a manifest";
    if (o.kind == ObjectKind::kBlob) blobs.push_back(o.id);
  }
  std::vector<ObjectId> want = {ObjectId::Of(SourceText(44) + "bigger\n"),
                                ObjectId::Of(SourceText(3)), ObjectId::Of(SourceText(1)),
                                ObjectId::Of(SourceText(2))};
  EXPECT_EQ(blobs, want);
}

// A pack is one zstd stream unless less than a tenth of its bytes compressed
// at rest: random data goes as it is stored, with no time spent compressing.
TEST_F(UploadModeTest, APackOfWhatDidNotCompressGoesPlainAndTextAsAStream) {
  server_.AdvertisePackVersions("1, 2");
  WriteFile(ws_ / "noise.bin", PseudoRandomBytes(3 << 20, 5));
  WriteFile(ws_ / "a.txt", SourceText(1));
  ASSERT_EQ(Run({"snap", "-m", "noise"}).exit_code, 0);
  RunResult r = Run({"--json", "publish", "--lane", "default"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(server_.uploads().size(), 1u);
  std::string plain = server_.uploads().back();
  ASSERT_GT(plain.size(), kPackMagicV2.size());
  EXPECT_EQ(plain[kPackMagicV2.size()], '\0') << "mode 0: as stored";
  EXPECT_GT(plain.size(), 3u << 20);
  EXPECT_LT(plain.size(), (3u << 20) + 8000);

  // The fake server holds nothing, so this pack has the noise again: the
  // text must be more than a tenth of it.
  for (int i = 0; i < 40; i++) WriteFile(ws_ / ("t" + std::to_string(i) + ".c"), SourceText(i));
  ASSERT_EQ(Run({"snap", "-m", "text"}).exit_code, 0);
  r = Run({"--json", "publish", "--lane", "default"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string stream = server_.uploads().back();
  EXPECT_EQ(stream[kPackMagicV2.size()], '\1') << "mode 1: one zstd stream";
  for (const PackedObject& o : ParsePack(stream)) EXPECT_EQ(ObjectId::Of(o.bytes), o.id);
}

}  // namespace
}  // namespace converge::testing
