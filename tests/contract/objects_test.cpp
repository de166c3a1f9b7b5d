// Contract: object intake and distribution, one at a time and in packs:
// integrity (hashes, references, names, truncation), repo isolation, authz.
#include <unistd.h>

#include "fixtures.h"
#include "support/store_helpers.h"

namespace converge::testing {
namespace {

class ObjectsTest : public OwnedRepoTest {
 protected:
  bool OnDisk(const TestObject& o) { return StoreHas(server().data_dir(), o.id); }
  bool TempsEmpty() { return fs::is_empty(server().data_dir() / "tmp"); }
};

TEST_F(ObjectsTest, BlobRoundTrip) {
  TestObject b = Blob("hello, converge\n");
  Reply put = Owner().PutBytes(b.Path(repo_), b.bytes);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.json(),
            nlohmann::json(
                {{"id", b.hex()}, {"kind", "blob"}, {"size", b.bytes.size()}, {"stored", true}}));
  Reply again = Owner().PutBytes(b.Path(repo_), b.bytes);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.json()["stored"], false);
  Reply get = Owner().Get(b.Path(repo_));
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(get.body, b.bytes);
  EXPECT_EQ(get.header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(get.header("ETag"), "\"" + b.hex() + "\"");
  EXPECT_FALSE(Lacks(b));
  // The empty blob is an object too.
  TestObject empty = Blob("");
  EXPECT_EQ(Owner().PutBytes(empty.Path(repo_), "").status, 201);
  EXPECT_EQ(Owner().Get(empty.Path(repo_)).body, "");
}

TEST_F(ObjectsTest, HashMismatchIsRejectedAndNothingStored) {
  TestObject claimed = Blob("what the id says");
  std::string other = "something else entirely";
  Reply r = Owner().PutBytes(claimed.Path(repo_), other);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.code(), "corrupt");
  EXPECT_NE(r.message().find(claimed.hex()), std::string::npos) << r.body;
  EXPECT_TRUE(Lacks(claimed));
  EXPECT_FALSE(OnDisk(claimed));
  EXPECT_FALSE(OnDisk(Blob(other)));
  EXPECT_EQ(Owner().Get(claimed.Path(repo_)).status, 404);
  EXPECT_TRUE(TempsEmpty());
}

TEST_F(ObjectsTest, BadIdsAndKindsAre400Or404) {
  EXPECT_EQ(Owner().PutBytes(Base() + "/blobs/xyz", "x").status, 400);
  EXPECT_EQ(Owner().PutBytes(Base() + "/blobs/" + std::string(64, 'A'), "x").status, 400);
  EXPECT_EQ(Owner().Get(Base() + "/blobs/xyz").status, 400);
  EXPECT_EQ(Owner().PutBytes(Base() + "/trees/" + Blob("x").hex(), "x").status, 404);
  Reply missing = Owner().Post(Base() + "/objects/missing", {{"blobs", {"nothex"}}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.message().find("nothex"), std::string::npos);
}

TEST_F(ObjectsTest, ManifestNamingAMissingBlobIsRefused) {
  TestObject a = Blob("a"), b = Blob("b");
  TestObject m = ManifestOf({FileEntry("a", a), FileEntry("b", b)});
  Upload(Owner(), repo_, {a});
  Reply r = Owner().PutBytes(m.Path(repo_), m.bytes);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.code(), "corrupt");
  EXPECT_NE(r.message().find(b.hex()), std::string::npos) << "names the missing blob: " << r.body;
  EXPECT_EQ(r.message().find(a.hex()), std::string::npos) << r.body;
  EXPECT_TRUE(Lacks(m));
  Upload(Owner(), repo_, {b});
  EXPECT_EQ(Owner().PutBytes(m.Path(repo_), m.bytes).status, 201);
}

TEST_F(ObjectsTest, BadEntryNamesAre400) {
  TestObject a = Blob("content");
  Upload(Owner(), repo_, {a});
  for (const std::string& name :
       {std::string(".."), std::string("a/b"), std::string(""), std::string(".")}) {
    TestObject m = ManifestOf({FileEntry(name, a)});
    Reply r = Owner().PutBytes(m.Path(repo_), m.bytes);
    EXPECT_EQ(r.status, 400) << "name '" << name << "': " << r.body;
    EXPECT_EQ(r.code(), "invalid");
    EXPECT_NE(r.message().find("'" + name + "'"), std::string::npos) << r.body;
    EXPECT_TRUE(Lacks(m));
  }
  TestObject dup = ManifestOf({FileEntry("same", a), FileEntry("same", a)});
  Reply r = Owner().PutBytes(dup.Path(repo_), dup.bytes);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.message().find("'same'"), std::string::npos) << r.body;
}

// Issue 11 item 1: restored, an entry named .converge (a symlink to a
// directory holding a config.json, say) makes its parent look like a
// workspace whose server the publisher chose. No manifest may hold one, of
// any type, in any case: 422, nothing stored, one object at a time or packed.
TEST_F(ObjectsTest, ManifestsHoldingDotConvergeAre422AndNothingIsStored) {
  TestObject config =
      Blob(R"({"remote":{"repo":"web","url":"http://attacker.example"},"version":1,)"
           R"("workspace_id":"planted"})");
  TestObject cfg = ManifestOf({FileEntry("config.json", config)});
  Upload(Owner(), repo_, {config, cfg});
  Entry link;
  link.name = ".converge";
  link.type = EntryType::kSymlink;
  link.target = "cfg";
  Entry upper = FileEntry(".CONVERGE", config);
  for (const Entry& planted :
       {link, DirEntry(".converge", cfg), FileEntry(".converge", config), upper}) {
    SCOPED_TRACE(planted.name + " of type " + std::to_string(static_cast<int>(planted.type)));
    TestObject proj = ManifestOf({planted, DirEntry("cfg", cfg)});
    Reply r = Owner().PutBytes(proj.Path(repo_), proj.bytes);
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(r.code(), "corrupt");
    EXPECT_NE(r.message().find("'" + planted.name + "'"), std::string::npos) << r.body;
    EXPECT_NE(r.message().find("reserved"), std::string::npos) << r.body;
    EXPECT_TRUE(Lacks(proj));
    EXPECT_FALSE(OnDisk(proj));

    // The same in a pack, with the snap that would publish it.
    TestObject root = ManifestOf({DirEntry("proj", proj)});
    TestObject snap = SnapOf(root, "planted");
    Reply packed =
        Owner().PostBytes(Base() + "/objects/pack", PackOf({proj, root, snap}), kPackContentType);
    EXPECT_EQ(packed.status, 422) << packed.body;
    EXPECT_NE(packed.message().find("reserved"), std::string::npos) << packed.body;
    for (const TestObject& o : {proj, root, snap}) {
      EXPECT_TRUE(Lacks(o));
      EXPECT_FALSE(OnDisk(o));
    }
    EXPECT_TRUE(TempsEmpty());
  }
}

TEST_F(ObjectsTest, ManifestMustBeCanonicalAndSizesMustMatch) {
  TestObject a = Blob("12345");
  Upload(Owner(), repo_, {a});
  Entry wrong = FileEntry("f", a);
  wrong.size = 6;
  TestObject m = ManifestOf({wrong});
  Reply r = Owner().PutBytes(m.Path(repo_), m.bytes);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.message().find("'f'"), std::string::npos) << r.body;

  std::string spaced = ManifestOf({FileEntry("f", a)}).bytes;
  spaced.insert(1, " ");
  TestObject loose{ObjectKind::kManifest, spaced, ObjectId::Of(spaced)};
  EXPECT_EQ(Owner().PutBytes(loose.Path(repo_), loose.bytes).status, 422);
  TestObject junk{ObjectKind::kManifest, "not json", ObjectId::Of("not json")};
  EXPECT_EQ(Owner().PutBytes(junk.Path(repo_), junk.bytes).status, 422);
}

TEST_F(ObjectsTest, SnapNeedsItsRootManifest) {
  TestTree t = MakeTree("snap-root");
  Upload(Owner(), repo_, {t.objects[0], t.objects[1], t.objects[2]});
  Reply r = Owner().PutBytes(t.snap().Path(repo_), t.snap().bytes);
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.message().find(t.objects[3].hex()), std::string::npos) << r.body;
  Upload(Owner(), repo_, {t.objects[3], t.snap()});
  Reply get = Owner().Get(t.snap().Path(repo_));
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(get.body, t.snap().bytes);
}

TEST_F(ObjectsTest, ChunkListsAndChunkedFiles) {
  TestObject c1 = Blob("first chunk "), c2 = Blob("second chunk");
  ChunkList list;
  list.chunks = {{c1.id, c1.bytes.size()}, {c2.id, c2.bytes.size()}};
  list.size = c1.bytes.size() + c2.bytes.size();
  std::string bytes = EncodeChunkList(list);
  TestObject cl{ObjectKind::kChunkList, bytes, ObjectId::Of(bytes)};
  Reply early = Owner().PutBytes(cl.Path(repo_), cl.bytes);
  EXPECT_EQ(early.status, 422) << early.body;
  Upload(Owner(), repo_, {c1, c2, cl});
  Entry file = FileEntry("big.bin", cl);
  file.size = list.size;
  TestObject m = ManifestOf({file});
  EXPECT_EQ(Owner().PutBytes(m.Path(repo_), m.bytes).status, 201);
  file.size = list.size + 1;
  TestObject off = ManifestOf({file});
  EXPECT_EQ(Owner().PutBytes(off.Path(repo_), off.bytes).status, 422);
  // A chunk list is not a blob: the kinds are separate.
  Entry as_blob = FileEntry("x", Blob(cl.bytes));
  TestObject confused = ManifestOf({as_blob});
  EXPECT_EQ(Owner().PutBytes(confused.Path(repo_), confused.bytes).status, 422);
}

TEST_F(ObjectsTest, MissingAnswersByKind) {
  TestTree t = MakeTree("missing");
  Upload(Owner(), repo_, {t.objects[0], t.objects[1]});
  TestObject stranger = Blob("never uploaded");
  Reply r = Owner().Post(Base() + "/objects/missing",
                         {{"blobs", {t.objects[0].hex(), stranger.hex(), stranger.hex()}},
                          {"manifests", {t.objects[2].hex(), t.objects[0].hex()}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["blobs"], nlohmann::json::array({stranger.hex()}));
  // A blob is not a manifest, even with the same id.
  EXPECT_EQ(r.json()["manifests"], nlohmann::json::array({t.objects[2].hex(), t.objects[0].hex()}));
  EXPECT_EQ(r.json()["snaps"], nlohmann::json::array());
  EXPECT_EQ(r.json()["chunklists"], nlohmann::json::array());
}

// An object another repo holds is invisible here until uploaded here.
TEST_F(ObjectsTest, ObjectsBelongToRepos) {
  TestObject secret = Blob("only in the first repo");
  Upload(Owner(), repo_, {secret});
  std::string other = NewRepo(owner_);
  EXPECT_EQ(Owner().Get(secret.Path(other)).status, 404);
  Reply missing =
      Owner().Post("/v1/repos/" + other + "/objects/missing", {{"blobs", {secret.hex()}}});
  EXPECT_EQ(missing.json()["blobs"].size(), 1u);
  Reply fetch = Owner().Post("/v1/repos/" + other + "/objects/fetch", {{"blobs", {secret.hex()}}});
  EXPECT_EQ(fetch.status, 404);
  TestObject m = ManifestOf({FileEntry("s", secret)});
  EXPECT_EQ(Owner().PutBytes(m.Path(other), m.bytes).status, 422);
  // Uploading the bytes proves possession: then it is this repo's too.
  Reply put = Owner().PutBytes(secret.Path(other), secret.bytes);
  EXPECT_EQ(put.status, 201);
  EXPECT_EQ(put.json()["stored"], true);
  EXPECT_EQ(Owner().Get(secret.Path(other)).body, secret.bytes);
}

TEST_F(ObjectsTest, RolesDecideWhoMayReadAndUpload) {
  TestObject b = Blob("role test");
  Upload(Owner(), repo_, {b});
  std::string reader = NewUser("reader"), stranger = NewUser("stranger");
  Grant(repo_, HandleOf(reader), "read");
  TestObject nb = Blob("new from reader");
  Reply up = As(reader).PutBytes(nb.Path(repo_), nb.bytes);
  EXPECT_EQ(up.status, 403);
  EXPECT_NE(up.message().find("publish"), std::string::npos) << up.body;
  EXPECT_EQ(As(reader).PostBytes(Base() + "/objects/pack", PackOf({nb}), kPackContentType).status,
            403);
  EXPECT_EQ(As(reader).Post(Base() + "/objects/missing", {{"blobs", {b.hex()}}}).status, 403);
  EXPECT_EQ(As(reader).Get(b.Path(repo_)).body, b.bytes);
  EXPECT_EQ(As(reader).Post(Base() + "/objects/fetch", {{"blobs", {b.hex()}}}).status, 200);

  // A stranger learns nothing, not even whether the object exists.
  for (const TestObject& o : {b, nb}) {
    EXPECT_EQ(As(stranger).Get(o.Path(repo_)).status, 404);
    EXPECT_EQ(As(stranger).PutBytes(o.Path(repo_), o.bytes).status, 404);
    EXPECT_EQ(As(stranger).Post(Base() + "/objects/missing", {{"blobs", {o.hex()}}}).status, 404);
    EXPECT_EQ(As(stranger).Post(Base() + "/objects/fetch", {{"blobs", {o.hex()}}}).status, 404);
  }
  EXPECT_EQ(As(stranger).PostBytes(Base() + "/objects/pack", PackOf({nb}), kPackContentType).status,
            404);
  EXPECT_EQ(Anonymous().Get(b.Path(repo_)).status, 401);
  EXPECT_EQ(Anonymous().PutBytes(b.Path(repo_), b.bytes).status, 401);
  EXPECT_EQ(Anonymous().Post(Base() + "/objects/missing", {{"blobs", {b.hex()}}}).status, 401);
  EXPECT_EQ(Anonymous().Post(Base() + "/objects/fetch", {{"blobs", {b.hex()}}}).status, 401);
  EXPECT_EQ(Anonymous().PostBytes(Base() + "/objects/pack", PackOf({nb}), kPackContentType).status,
            401);
}

TEST_F(ObjectsTest, PackUploadAndFetchRoundTrip) {
  TestTree t = MakeTree("pack");
  std::string pack = PackOf(t.objects);
  Reply up = Owner().PostBytes(Base() + "/objects/pack", pack, kPackContentType);
  ASSERT_EQ(up.status, 200) << up.body;
  uint64_t bytes = 0;
  for (const TestObject& o : t.objects) bytes += o.bytes.size();
  EXPECT_EQ(up.json(), nlohmann::json({{"objects", 5}, {"stored", 5}, {"bytes", bytes}}));
  Reply again = Owner().PostBytes(Base() + "/objects/pack", pack, kPackContentType);
  EXPECT_EQ(again.json()["stored"], 0);

  nlohmann::json want = {{"blobs", {t.objects[0].hex(), t.objects[1].hex()}},
                         {"manifests", {t.objects[2].hex(), t.objects[3].hex()}},
                         {"snaps", {t.snap().hex()}}};
  Reply fetch = Owner().Post(Base() + "/objects/fetch", want);
  ASSERT_EQ(fetch.status, 200) << fetch.body;
  EXPECT_EQ(fetch.header("Content-Type"), kPackContentType);
  std::vector<PackedObject> got = ParsePack(fetch.body);
  ASSERT_EQ(got.size(), 5u);
  std::set<std::string> ids;
  for (const PackedObject& p : got) {
    EXPECT_EQ(ObjectId::Of(p.bytes), p.id);
    ids.insert(p.id.hex());
  }
  for (const TestObject& o : t.objects) EXPECT_TRUE(ids.count(o.hex())) << o.hex();

  TestObject absent = Blob("absent");
  Reply miss =
      Owner().Post(Base() + "/objects/fetch", {{"blobs", {t.objects[0].hex(), absent.hex()}}});
  EXPECT_EQ(miss.status, 404);
  EXPECT_NE(miss.message().find(absent.hex()), std::string::npos) << miss.body;
}

TEST_F(ObjectsTest, PackReferencesMustComeFirst) {
  TestObject a = Blob("leaf after its manifest");
  TestObject m = ManifestOf({FileEntry("a", a)});
  Reply r = Owner().PostBytes(Base() + "/objects/pack", PackOf({m, a}), kPackContentType);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.message().find(a.hex()), std::string::npos);
  EXPECT_TRUE(Lacks(m));
  EXPECT_EQ(Owner().PostBytes(Base() + "/objects/pack", PackOf({a, m}), kPackContentType).status,
            200);
  EXPECT_FALSE(Lacks(m));
}

TEST_F(ObjectsTest, ABadPackObjectKeepsTheVerifiedOnesBeforeIt) {
  TestObject a = Blob("good one"), b = Blob("good two"), c = Blob("claimed");
  std::string pack(kPackMagic);
  for (const TestObject& o : {a, b})
    pack += PackObjectHeader(o.kind, o.id, o.bytes.size()) + o.bytes;
  std::string liar = "not what c says";
  pack += PackObjectHeader(ObjectKind::kBlob, c.id, liar.size()) + liar;
  TestObject d = Blob("after the bad one");
  pack += PackObjectHeader(d.kind, d.id, d.bytes.size()) + d.bytes + std::string(kPackEnd);
  Reply r = Owner().PostBytes(Base() + "/objects/pack", pack, kPackContentType);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.message().find(c.hex()), std::string::npos) << r.body;
  EXPECT_FALSE(Lacks(a));
  EXPECT_FALSE(Lacks(b));
  EXPECT_TRUE(Lacks(c));
  EXPECT_TRUE(Lacks(d));
  EXPECT_FALSE(OnDisk(c));
  EXPECT_TRUE(TempsEmpty());
}

// The server checks a run of manifests together (one query for what the repo
// holds of all their references), exactly as if one by one: a manifest may
// not name one that comes after it in the run; a bad one in the middle keeps
// those before it, numbered as they came; a run cut short by the end of the
// stream is still checked and kept.
TEST_F(ObjectsTest, ARunOfManifestsIsCheckedAsIfOneByOne) {
  TestTree t = MakeTree("run");  // a, b, sub, root, snap
  const TestObject &a = t.objects[0], &b = t.objects[1], &sub = t.objects[2], &root = t.objects[3];
  Reply early =
      Owner().PostBytes(Base() + "/objects/pack", PackOf({a, b, root, sub}), kPackContentType);
  EXPECT_EQ(early.status, 422) << early.body;
  EXPECT_NE(early.message().find("pack object #3 (manifest " + root.hex()), std::string::npos)
      << early.body;
  EXPECT_NE(early.message().find(sub.hex()), std::string::npos) << early.body;
  EXPECT_FALSE(Lacks(b));
  EXPECT_TRUE(Lacks(root));
  EXPECT_TRUE(Lacks(sub)) << "nothing after the refused one is kept";

  TestObject lost = Blob("never uploaded");
  TestObject bad = ManifestOf({FileEntry("lost", lost)});
  Reply middle =
      Owner().PostBytes(Base() + "/objects/pack", PackOf({a, b, sub, bad, root}), kPackContentType);
  EXPECT_EQ(middle.status, 422) << middle.body;
  EXPECT_NE(middle.message().find("pack object #4 (manifest " + bad.hex()), std::string::npos)
      << middle.body;
  EXPECT_FALSE(Lacks(sub)) << "the manifest before the bad one is kept";
  EXPECT_TRUE(Lacks(bad));
  EXPECT_TRUE(Lacks(root));

  std::string cut = PackOf({root, t.snap()});
  cut.resize(cut.size() - std::string(kPackEnd).size());
  Reply truncated = Owner().PostBytes(Base() + "/objects/pack", cut, kPackContentType);
  EXPECT_EQ(truncated.status, 400) << truncated.body;
  EXPECT_FALSE(Lacks(root)) << "whole and checked before the cut: kept";
  EXPECT_FALSE(Lacks(t.snap()));
}

TEST_F(ObjectsTest, TruncatedBodiesStoreNothing) {
  // A pack without its end line.
  TestObject a = Blob("whole object in a cut pack"), b = Blob("cut short");
  std::string pack = std::string(kPackMagic) + PackObjectHeader(a.kind, a.id, a.bytes.size()) +
                     a.bytes + PackObjectHeader(b.kind, b.id, b.bytes.size()) +
                     b.bytes.substr(0, 3);
  Reply r = Owner().PostBytes(Base() + "/objects/pack", pack, kPackContentType);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.message().find("truncated"), std::string::npos) << r.body;
  EXPECT_TRUE(Lacks(b));
  EXPECT_FALSE(Lacks(a)) << "a whole, verified object before the cut is kept";

  // A body shorter than its Content-Length: the connection ends mid-object.
  TestObject big = Blob(std::string(100000, 'q'));
  std::string raw = "PUT " + big.Path(repo_) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                    owner_ + "\r\nContent-Length: " + std::to_string(big.bytes.size()) +
                    "\r\n\r\n" + big.bytes.substr(0, 5000);
  std::string answer = RawRequest(server().port(), raw);
  EXPECT_EQ(answer.find("201"), std::string::npos) << answer;
  EXPECT_TRUE(Lacks(big));
  EXPECT_FALSE(OnDisk(big));
  EXPECT_TRUE(TempsEmpty());
  EXPECT_EQ(Anonymous().Get("/healthz").status, 200);
}

TEST_F(ObjectsTest, KeepAliveSurvivesRefusedBodies) {
  Api bad(server().port(), "cvg_0000000000000000_" + std::string(64, '0'), /*keep_alive=*/true);
  TestObject b = Blob("keep-alive body");
  EXPECT_EQ(bad.PutBytes(b.Path(repo_), b.bytes).status, 401);
  EXPECT_EQ(bad.PutBytes(b.Path(repo_), b.bytes).status, 401);
  Api good(server().port(), owner_, /*keep_alive=*/true);
  EXPECT_EQ(good.PutBytes(b.Path("no-such-repo"), b.bytes).status, 404);
  EXPECT_EQ(good.PutBytes(b.Path(repo_), b.bytes).status, 201);
  EXPECT_EQ(good.Get(b.Path(repo_)).body, b.bytes);
}

long PeakRssKb(pid_t pid) {
  std::string status = ReadFileOrDie("/proc/" + std::to_string(pid) + "/status");
  size_t at = status.find("VmHWM:");
  return at == std::string::npos ? -1 : std::stol(status.substr(at + 6));
}

// A big blob streams through the server in both directions: its peak memory
// stays far below the blob's size.
TEST_F(ObjectsTest, LargeBlobsStreamWithFlatMemory) {
// GCC says __SANITIZE_ADDRESS__; clang 14 only __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define CONVERGE_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONVERGE_UNDER_ASAN 1
#endif
#endif
#ifdef CONVERGE_UNDER_ASAN
  GTEST_SKIP()
      << "ASan's allocator (quarantine, shadow memory) inflates RSS: measured in normal builds";
#endif
  const size_t size = 192u << 20;
  auto byte_at = [](size_t i) { return static_cast<char>((i * 2654435761u) >> 13); };
  Hasher h;
  std::string piece(1 << 20, '\0');
  for (size_t off = 0; off < size; off += piece.size()) {
    for (size_t i = 0; i < piece.size(); i++) piece[i] = byte_at(off + i);
    h.Update(piece);
  }
  std::string id = h.Finish().hex();
  std::string path = Base() + "/blobs/" + id;
  httplib::Client cli("127.0.0.1", server().port());
  cli.set_bearer_token_auth(owner_.c_str());
  cli.set_read_timeout(300, 0);
  cli.set_write_timeout(300, 0);
  auto put = cli.Put(
      path.c_str(), size,
      [&](size_t offset, size_t length, httplib::DataSink& sink) {
        std::string chunk(std::min<size_t>(length, 1 << 20), '\0');
        for (size_t i = 0; i < chunk.size(); i++) chunk[i] = byte_at(offset + i);
        return sink.write(chunk.data(), chunk.size());
      },
      "application/octet-stream");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 201) << put->body;
  Hasher back;
  size_t got = 0;
  auto get = cli.Get(path.c_str(), [&](const char* data, size_t len) {
    back.Update(data, len);
    got += len;
    return true;
  });
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(got, size);
  EXPECT_EQ(back.Finish().hex(), id);
  long peak = PeakRssKb(server().pid());
  EXPECT_GT(peak, 0);
  RecordProperty("server_peak_rss_kib", static_cast<int>(peak));
  EXPECT_LT(peak, 64 * 1024) << "server peak RSS " << peak << " KiB for a " << (size >> 20)
                             << " MiB blob";
}

}  // namespace
}  // namespace converge::testing
