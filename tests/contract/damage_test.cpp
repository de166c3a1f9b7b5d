// Contract: a damaged object on the server (issue 11, items 10 and 12).
//
// An upload of bytes that hash correctly always goes through the same steps:
// received, verified, made durable and made visible (a file renamed into
// place, or a new pack), whether or not some repo (this one or another)
// already holds that object.
// So it costs the same either way (no timing answer to "does another repo
// hold this?"), and it replaces a damaged copy. A single-object GET verifies
// before it answers; a pack stops before a damaged object's last byte.
// `serve --fsck` names the damage and `serve --fsck --repair` quarantines it
// so that the next publish stores the objects again. An object may have
// several copies (a single upload is a loose file, a pack upload a new copy
// in a new pack): reads pass over a damaged copy for an intact one.
#include <sys/stat.h>

#include <fstream>

#include "fixtures.h"
#include "support/store_helpers.h"
#include "support/tree_helpers.h"

namespace converge::testing {
namespace {

class DamageTest : public OwnedRepoTest {
 protected:
  std::string Base(const std::string& repo) { return "/v1/repos/" + repo; }

  static fs::path Data() { return server().data_dir(); }
  // The loose copy's file (a single-object upload's), if there is one.
  static fs::path FileOf(const TestObject& o) {
    return Data() / "objects" / o.hex().substr(0, 2) / o.hex();
  }
  static ino_t InodeOf(const TestObject& o) {
    struct stat st {};
    EXPECT_EQ(::stat(FileOf(o).c_str(), &st), 0) << FileOf(o);
    return st.st_ino;
  }
  // Whether the server's store reads the object back whole.
  static bool Intact(const TestObject& o) { return ReadsBackAs(Data(), o.id, o.bytes); }
  // Flips one byte in the middle of every stored copy: same size, wrong bytes.
  static void FlipAByte(const TestObject& o) {
    DamageEveryCopy(Data(), o.id, o.bytes.size() / 2);
    ASSERT_FALSE(Intact(o));
  }
  Reply PutPack(Api api, const std::string& repo, const std::vector<TestObject>& objects) {
    return api.PostBytes(Base(repo) + "/objects/pack", PackOf(objects), kPackContentType);
  }
  // A repo of a second user, who cannot see repo_.
  std::string OtherRepo(std::string* token) {
    *token = NewUser("other");
    return NewRepo(*token);
  }
};

// Item 10: content some other repo already holds takes the same path as new
// content (a single upload: written, synced, renamed into place, a new file;
// a pack: a new copy in a new pack), not a shortcut.
TEST_F(DamageTest, UploadOfContentAnotherRepoHoldsIsWrittenLikeNewContent) {
  TestObject b = Blob("held by the first repo only " + Unique("x"));
  ASSERT_EQ(Owner().PutBytes(b.Path(repo_), b.bytes).status, 201);
  ino_t first = InodeOf(b);
  EXPECT_EQ(CopyCount(Data(), b.id), 1u);

  std::string other;
  std::string other_repo = OtherRepo(&other);
  Reply pack = PutPack(As(other), other_repo, {b});
  ASSERT_EQ(pack.status, 200) << pack.body;
  EXPECT_EQ(pack.json()["stored"], 1);
  EXPECT_EQ(CopyCount(Data(), b.id), 2u)
      << "the pack upload skipped the write (a timing side channel)";

  std::string third_token;
  std::string third_repo = OtherRepo(&third_token);
  Reply put = As(third_token).PutBytes(b.Path(third_repo), b.bytes);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_NE(InodeOf(b), first) << "the single upload skipped the write";
  EXPECT_TRUE(Intact(b));
}

// Item 12: a correct upload replaces a damaged copy, whoever sends it and
// however (one object or a pack; a repo that holds it or one that does not).
TEST_F(DamageTest, ACorrectUploadHealsADamagedCopy) {
  TestObject b = Blob("to be damaged and healed " + Unique("y") + std::string(5000, 'h'));
  ASSERT_EQ(Owner().PutBytes(b.Path(repo_), b.bytes).status, 201);

  FlipAByte(b);
  Reply again = Owner().PutBytes(b.Path(repo_), b.bytes);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json()["stored"], false) << "the repo held it already";
  EXPECT_TRUE(Intact(b)) << "a re-upload to the repo that holds it";

  FlipAByte(b);
  EXPECT_EQ(PutPack(Owner(), repo_, {b}).status, 200);
  EXPECT_TRUE(Intact(b)) << "a pack to the repo that holds it";

  FlipAByte(b);
  std::string other;
  std::string other_repo = OtherRepo(&other);
  Reply put = As(other).PutBytes(b.Path(other_repo), b.bytes);
  EXPECT_EQ(put.status, 201) << put.body;
  EXPECT_TRUE(Intact(b)) << "an upload to another repo";

  // Bytes that do not hash to the ID never replace anything.
  std::string liar = b.bytes;
  liar[0] ^= 1;
  EXPECT_EQ(Owner().PutBytes(b.Path(repo_), liar).status, 422);
  EXPECT_TRUE(Intact(b));
  EXPECT_TRUE(fs::is_empty(server().data_dir() / "tmp"));
}

// Item 12: a GET of a damaged object is an error answered before any byte,
// never a 200 with the damaged bytes; small (one read) and large alike.
TEST_F(DamageTest, GetOfADamagedObjectIsAnErrorNotTheBytes) {
  for (size_t size : {size_t{100}, size_t{3} << 20}) {
    std::string content(size, 'g');
    content += Unique("z");
    TestObject b = Blob(content);
    ASSERT_EQ(Owner().PutBytes(b.Path(repo_), b.bytes).status, 201);
    FlipAByte(b);
    Reply get = Owner().Get(b.Path(repo_));
    EXPECT_EQ(get.status, 500) << size << ": " << get.body.substr(0, 200);
    EXPECT_EQ(get.body.find(ReadFileOrDie(FileOf(b))), std::string::npos) << size;
    EXPECT_NE(get.message().find("damaged"), std::string::npos) << get.body.substr(0, 200);
    EXPECT_NE(get.message().find(b.hex()), std::string::npos) << get.body.substr(0, 200);
    EXPECT_EQ(get.message().find(server().data_dir().string()), std::string::npos)
        << "server paths stay in the server's log";
    // Healed by the next correct upload, then served again.
    ASSERT_EQ(Owner().PutBytes(b.Path(repo_), b.bytes).status, 200);
    Reply healed = Owner().Get(b.Path(repo_));
    EXPECT_EQ(healed.status, 200);
    EXPECT_TRUE(healed.body == b.bytes) << size;
  }
}

// Item 12, packs: the answer is streamed, so a damaged object found on the way
// can only end the connection; it ends before the object's last byte, so no
// client ever holds the whole damaged object, and the pack has no end line.
TEST_F(DamageTest, APackStopsBeforeTheLastByteOfADamagedObject) {
  TestObject good = Blob("a good one first " + Unique("p"));
  // Incompressible, so stored as it is: the damaged bytes are what a client
  // could be sent.
  TestObject bad = Blob("the damaged one " + Unique("q") + PseudoRandomBytes(2000, 5));
  ASSERT_EQ(PutPack(Owner(), repo_, {good, bad}).status, 200);
  FlipAByte(bad);
  std::string ask = nlohmann::json({{"blobs", {good.hex(), bad.hex()}}}).dump();
  std::string raw =
      "POST " + Base(repo_) + "/objects/fetch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
      owner_ +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(ask.size()) +
      "\r\nConnection: close\r\n\r\n" + ask;
  std::string got = RawRequest(server().port(), raw, /*shutdown_write=*/false);
  std::string damaged = StoredBytes(*ObjectStore::Open(Data()), bad.id);
  ASSERT_EQ(damaged.size(), bad.bytes.size()) << "stored as it is";
  EXPECT_EQ(got.find(damaged), std::string::npos) << "the whole damaged object went out";
  EXPECT_EQ(got.find(kPackEnd), std::string::npos) << "the pack looked complete";
}

// Item 12: `serve --fsck` names the damage; `--repair` (server stopped) moves
// the file aside and drops the repo's claim to it and to everything naming it,
// so the next publish of that snap uploads them again; then all is clean.
TEST_F(DamageTest, RepairQuarantinesDamageAndTheNextUploadHeals) {
  TestTree t = MakeTree(Unique("repair"));
  ASSERT_EQ(PutPack(Owner(), repo_, t.objects).status, 200);
  nlohmann::json pub = {{"snap", t.snap().hex()}, {"scope", "main"},  {"gate", "dev-intake"},
                        {"lane", "default"},      {"note", "repair"}, {"workspace_id", "ws-1"},
                        {"client_version", "0"},  {"host", "laptop"}};
  ASSERT_EQ(Owner().Post(Base(repo_) + "/publications", pub).status, 201);
  const TestObject& damaged = t.objects[1];  // b.txt, under the "sub" manifest
  std::string other;
  std::string other_repo = OtherRepo(&other);
  ASSERT_EQ(As(other).PutBytes(damaged.Path(other_repo), damaged.bytes).status, 201);
  FlipAByte(damaged);

  RunResult check = Converge(server().ServeArgs({"--fsck"}));
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
  EXPECT_NE(check.out.find(damaged.hex()), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("damaged"), std::string::npos) << check.out;

  RunResult busy = Converge(server().ServeArgs({"--fsck", "--repair"}));
  EXPECT_EQ(busy.exit_code, 1) << busy.out << busy.err;
  EXPECT_NE(busy.err.find("needs the data dir to itself"), std::string::npos) << busy.err;
  EXPECT_NE(busy.err.find(server().postgres() ? "stop every one of them first" : "stop it first"),
            std::string::npos)
      << busy.err;
  EXPECT_EQ(CopyCount(Data(), damaged.id), 2u) << "nothing moved while it runs";
  EXPECT_TRUE(fs::exists(FileOf(damaged)));

  ASSERT_EQ(server().Stop(), 0);
  RunResult repair = Converge(server().ServeArgs({"--fsck", "--repair", "--json"}));
  server().Start();
  nlohmann::json report = nlohmann::json::parse(repair.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << repair.out << repair.err;
  EXPECT_FALSE(report["fixed"].empty()) << repair.out;
  // The publication's snap is no longer whole on the server: still damage,
  // until someone uploads it again.
  EXPECT_EQ(repair.exit_code, 1) << repair.out << repair.err;
  EXPECT_NE(repair.out.find("publication"), std::string::npos) << repair.out;
  // Both copies set aside: the loose file moved, the packed one's bytes
  // copied and the copy quarantined.
  EXPECT_FALSE(fs::exists(FileOf(damaged)));
  EXPECT_EQ(CopyCount(Data(), damaged.id), 0u);
  fs::path quarantined = server().data_dir() / "damaged" / damaged.hex();
  ASSERT_TRUE(fs::exists(quarantined));
  EXPECT_EQ(ReadFileOrDie(quarantined).size(), damaged.bytes.size());
  EXPECT_TRUE(fs::exists(server().data_dir() / "damaged" / (damaged.hex() + ".packed")));

  // The repo no longer claims the blob or what names it (sub, root, snap);
  // the other blob it still holds.
  std::string key_b = "blobs", key_m = "manifests", key_s = "snaps";
  Reply missing = Owner().Post(Base(repo_) + "/objects/missing",
                               {{key_b, {t.objects[0].hex(), damaged.hex()}},
                                {key_m, {t.objects[2].hex(), t.objects[3].hex()}},
                                {key_s, {t.snap().hex()}}});
  ASSERT_EQ(missing.status, 200) << missing.body;
  EXPECT_EQ(missing.json()[key_b], nlohmann::json({damaged.hex()}));
  EXPECT_EQ(missing.json()[key_m].size(), 2u);
  EXPECT_EQ(missing.json()[key_s].size(), 1u);
  // Every repo that held it lost its claim.
  Reply other_missing =
      As(other).Post(Base(other_repo) + "/objects/missing", {{key_b, {damaged.hex()}}});
  EXPECT_EQ(other_missing.json()[key_b].size(), 1u) << other_missing.body;
  // The repair is in the repo's audit log.
  Reply audit = Owner().Get(Base(repo_) + "/audit?limit=20");
  ASSERT_EQ(audit.status, 200) << audit.body;
  bool logged = false;
  for (const auto& e : audit.json()["entries"]) logged = logged || e["action"] == "object.repair";
  EXPECT_TRUE(logged) << audit.body;

  // The next upload of what it lacks heals it all.
  ASSERT_EQ(PutPack(Owner(), repo_, {damaged, t.objects[2], t.objects[3], t.snap()}).status, 200);
  EXPECT_TRUE(Intact(damaged));
  RunResult after = Converge(server().ServeArgs({"--fsck", "--json"}));
  EXPECT_EQ(after.exit_code, 0) << after.out << after.err;
}

}  // namespace
}  // namespace converge::testing
