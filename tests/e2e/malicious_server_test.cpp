// A hostile server against the real client: `converge fetch` and `restore`,
// run through the built binary, against a FakeServer that serves crafted
// manifests, snaps, chunk lists, blobs, publications and packs. Each attack
// must end in one clear "error: ..." line and exit 1, with nothing written
// outside the workspace (a canary directory beside it stays untouched), no
// object of the bad transfer left in the workspace's store, and no restore
// target made. Legitimate but tricky content (symlinks pointing out of the
// tree, a symlink later replaced by a directory or file of the same path)
// must restore without writing through a symlink.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <map>

#include "api/pack.h"
#include "base/text.h"
#include "support/fake_client.h"
#include "support/fake_server.h"
#include "support/objects.h"
#include "support/people.h"
#include "support/process.h"
#include "workspace/snap_index.h"
#include "workspace/workspace.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

// Every path under `root`, .converge included, with its type, mode and
// content, never following a symlink; but the workspace database and lock,
// which every command may touch.
std::map<std::string, std::string> Everything(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const fs::path& p = it->path();
    if (p.filename().string().rfind("converge.db", 0) == 0) continue;
    if (p.filename() == "lock" && p.parent_path().filename() == ".converge") continue;
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    std::string what = std::to_string(st.st_mode & 07777) + " ";
    if (S_ISLNK(st.st_mode))
      what = "link -> " + fs::read_symlink(p).string();
    else if (S_ISDIR(st.st_mode))
      what += "dir";
    else if (S_ISREG(st.st_mode))
      what += "file " + ReadFileOrDie(p);
    else
      what += "other";
    out[p.lexically_relative(root).string()] = what;
  }
  return out;
}

Entry File(const std::string& name, const ObjectId& id, uint64_t size, bool chunked = false) {
  Entry e;
  e.name = name;
  e.type = EntryType::kFile;
  e.id = id;
  e.size = size;
  e.chunked = chunked;
  return e;
}

Entry Dir(const std::string& name, const ObjectId& id) {
  Entry e;
  e.name = name;
  e.type = EntryType::kDir;
  e.id = id;
  return e;
}

Entry Link(const std::string& name, const std::string& target) {
  Entry e;
  e.name = name;
  e.type = EntryType::kSymlink;
  e.target = target;
  return e;
}

// The bytes of a manifest of `entries` exactly as given (unsorted, duplicates
// and all). A name that is not UTF-8, which nlohmann cannot encode, goes in as
// the raw bytes a hostile server would send: encoded under a stand-in name,
// then swapped.
std::string ManifestBytes(std::vector<Entry> entries) {
  std::vector<std::pair<std::string, std::string>> swaps;
  for (size_t i = 0; i < entries.size(); i++) {
    if (IsValidUtf8(entries[i].name)) continue;
    std::string stand_in = "@raw-name-" + std::to_string(i) + "@";
    swaps.push_back({'"' + stand_in + '"', '"' + entries[i].name + '"'});
    entries[i].name = stand_in;
  }
  std::string bytes = EncodeManifest(Manifest{entries});
  for (const auto& [from, to] : swaps) bytes.replace(bytes.find(from), from.size(), to);
  return bytes;
}

std::string WithoutEnd(const std::string& pack) {
  return pack.substr(0, pack.size() - kPackEnd.size());
}

class MaliciousServerTest : public FakeServerClientTest {
 protected:
  void SetUp() override {
    WriteFile(canary_ / "keep.txt", "canary\n");
    FakeServerClientTest::SetUp();
  }

  ObjectId Blob(const std::string& content) { return server_.Put(ObjectKind::kBlob, content); }
  // A file entry, its blob served.
  Entry ServedFile(const std::string& name, const std::string& content) {
    return File(name, Blob(content), content.size());
  }
  // A manifest of `entries` exactly as given (unsorted, duplicates and all).
  ObjectId Tree(const std::vector<Entry>& entries) {
    return server_.Put(ObjectKind::kManifest, ManifestBytes(entries));
  }
  static std::string SnapBytes(const ObjectId& root, const std::string& message = "evil") {
    Snap s;
    s.root = root;
    s.created_at = "2026-01-02T03:04:05Z";
    s.message = message;
    s.workspace_id = "evil-workspace";
    return EncodeSnap(s);
  }
  // A snap of `root`, served and published.
  ObjectId Publish(const ObjectId& root, const std::string& message = "evil") {
    ObjectId snap = server_.Put(ObjectKind::kSnap, SnapBytes(root, message));
    server_.Publish(snap, message);
    return snap;
  }

  // `converge fetch` must fail with one error line holding `needle`, change
  // no file but the workspace database, record no snap, and leave nothing
  // for `restore --to` to make.
  void ExpectRefused(const ObjectId& snap, const std::string& needle) {
    std::map<std::string, std::string> before = Everything(top_.path());
    RunResult r = Run({"fetch"});
    ExpectError(r, needle);
    EXPECT_EQ(Everything(top_.path()), before) << "the refused fetch changed files";
    RunResult snaps = Run({"snaps", "--json"});
    EXPECT_EQ(json::parse(snaps.out, nullptr, false), json::array()) << snaps.out;
    RunResult restore = Run({"restore", snap.hex(), "--to", (top_ / "out").string()});
    EXPECT_EQ(restore.exit_code, 1) << restore.err;
    EXPECT_EQ(restore.err.rfind("error: ", 0), 0u) << restore.err;
    EXPECT_EQ(Everything(top_.path()), before) << "restore after the refused fetch changed files";
  }

  // A snap whose manifest is `entries`, published; then ExpectRefused.
  void ExpectTreeRefused(const std::vector<Entry>& entries, const std::string& needle) {
    ExpectRefused(Publish(Tree(entries)), needle);
  }

  fs::path canary_ = top_ / "canary";
};

class MaliciousNamesTest : public MaliciousServerTest {
 protected:
  // Each name as a file, a directory, a symlink, and a file one level down.
  void ExpectNamesRefused(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
      SCOPED_TRACE("name " + Quote(name));
      server_.Reset();
      ExpectTreeRefused({ServedFile(name, "pwned\n")}, "invalid manifest");
      server_.Reset();
      ExpectTreeRefused({Dir(name, Tree({ServedFile("pwned", "pwned\n")}))}, "invalid manifest");
      server_.Reset();
      ExpectTreeRefused({Link(name, canary_.string())}, "invalid manifest");
      server_.Reset();
      ExpectTreeRefused({Dir("sub", Tree({ServedFile(name, "pwned\n")}))}, "invalid manifest");
    }
  }
};

TEST_F(MaliciousNamesTest, EntryNamesThatLeaveTheDirectoryAreRefused) {
  ExpectNamesRefused({"..", ".", (canary_ / "pwned").string(), "/etc/passwd", "a/b", "../canary"});
}

// Restored, a .converge (say a symlink to a directory holding a config.json)
// would make its parent a workspace whose server the sender chose.
TEST_F(MaliciousNamesTest, EntryNamesThatPlantAWorkspaceAreRefused) {
  ExpectNamesRefused({".converge", ".CONVERGE"});
}

// Sent as raw bytes (ManifestBytes): a hostile server need not send UTF-8.
TEST_F(MaliciousNamesTest, EntryNamesThatAreNotNamesAreRefused) {
  ExpectNamesRefused({"", std::string("x\0y", 3), "bad\xff", "\xc0\xaf"});
}

TEST_F(MaliciousServerTest, DuplicateAndUnsortedEntriesAreRefused) {
  ExpectTreeRefused({ServedFile("a", "one\n"), ServedFile("a", "two\n")}, "duplicate name");
  server_.Reset();
  // A symlink out of the tree, then a file of the same name to write through it.
  ExpectTreeRefused({Link("a", (canary_ / "keep.txt").string()), ServedFile("a", "pwned\n")},
                    "duplicate name");
  server_.Reset();
  ExpectTreeRefused({ServedFile("a", "pwned\n"), Link("a", canary_.string())}, "duplicate name");
  server_.Reset();
  // A symlink "d" to a directory outside, then a directory "d" with a file in it.
  ExpectTreeRefused({Link("d", canary_.string()), Dir("d", Tree({ServedFile("x", "pwned\n")}))},
                    "duplicate name");
  server_.Reset();
  ExpectTreeRefused({ServedFile("b", "1\n"), ServedFile("a", "2\n")}, "not sorted");
}

TEST_F(MaliciousServerTest, ObjectsWhoseBytesDoNotMatchTheirIdsAreRefused) {
  // A blob.
  ObjectId good = ObjectId::Of("good\n");
  server_.PutAs(ObjectKind::kBlob, good, "evil\n");
  ExpectTreeRefused({File("a", good, 5)}, "corrupt");

  // A manifest: valid, but not the one its ID names.
  server_.Reset();
  std::string real = EncodeManifest(Manifest{{ServedFile("a", "good\n")}});
  ObjectId root = ObjectId::Of(real);
  server_.PutAs(ObjectKind::kManifest, root,
                EncodeManifest(Manifest{{Link("a", (canary_ / "keep.txt").string())}}));
  ExpectRefused(Publish(root), "does not match its content");

  // A snap.
  server_.Reset();
  ObjectId tree = Tree({ServedFile("a", "good\n")});
  ObjectId snap = ObjectId::Of(SnapBytes(tree));
  server_.PutAs(ObjectKind::kSnap, snap, SnapBytes(tree, "another message"));
  server_.Publish(snap);
  ExpectRefused(snap, "does not match its content");
}

TEST_F(MaliciousServerTest, BlobsOfTheWrongSizeAreRefused) {
  ObjectId blob = Blob("twelve bytes");
  ExpectTreeRefused({File("a", blob, 5)}, "where its manifest says 5");
}

TEST_F(MaliciousServerTest, ChunkListsThatDoNotAddUpAreRefused) {
  ObjectId a = Blob("aaaa"), b = Blob("bbbb");
  // The chunks' sizes do not add up to the list's.
  ChunkList bad{10, {{a, 4}, {b, 4}}};
  ObjectId list = server_.Put(ObjectKind::kChunkList, EncodeChunkList(bad));
  ExpectTreeRefused({File("big", list, 10, /*chunked=*/true)}, "chunk sizes add up to 8, not 10");

  // A chunk is not the size the list says.
  server_.Reset();
  a = Blob("aaaa");
  b = Blob("bbbbb");
  list = server_.Put(ObjectKind::kChunkList, EncodeChunkList(ChunkList{8, {{a, 4}, {b, 4}}}));
  ExpectTreeRefused({File("big", list, 8, /*chunked=*/true)}, "where its chunk list says 4");

  // The list adds up, but not to the size of the file naming it.
  server_.Reset();
  a = Blob("aaaa");
  b = Blob("bbbb");
  list = server_.Put(ObjectKind::kChunkList, EncodeChunkList(ChunkList{8, {{a, 4}, {b, 4}}}));
  ExpectTreeRefused({File("big", list, 10, /*chunked=*/true)},
                    "8 bytes where its manifest says 10");
}

TEST_F(MaliciousServerTest, ObjectsThatDisagreeOnASizeAreRefused) {
  ObjectId blob = Blob("hello");
  ExpectTreeRefused({File("a", blob, 5), File("b", blob, 10)}, "disagree on the size of blob");

  // A blob the workspace already holds, named with the wrong size.
  server_.Reset();
  Publish(Tree({ServedFile("a", "hello")}), "honest");
  RunResult r = Run({"fetch"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::string> before = Everything(top_.path());
  ObjectId liar = Publish(Tree({File("a", blob, 10)}), "liar");
  ExpectError(Run({"fetch"}), "with 10 bytes, but it has 5");
  EXPECT_EQ(Everything(top_.path()), before) << "the refused fetch changed files";
  ExpectError(Run({"restore", liar.hex(), "--to", (top_ / "out").string()}), "no snap matches");
}

// Objects already in the store (an older client fetched them, or the disk
// was tampered with) that do not add up: restore refuses before it writes.
TEST_F(MaliciousServerTest, RestoreRefusesFilesThatDoNotAddUp) {
  ObjectId a = ObjectId::Of("aaaa"), b = ObjectId::Of("bbbb");
  std::string list = EncodeChunkList(ChunkList{8, {{a, 4}, {b, 4}}});
  std::string twelve = "twelve bytes";
  struct Case {
    Entry entry;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {File("big", ObjectId::Of(list), 10, /*chunked=*/true),
       "adds up to 8 bytes where the manifest says 10"},
      {File("small", ObjectId::Of(twelve), 5), "has 12 bytes where its manifest says 5"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.entry.name);
    ObjectId snap_id;
    {
      Result<Workspace> ws = Workspace::Find(ws_);
      ASSERT_TRUE(ws.ok()) << ws.status().message();
      for (const std::string& bytes : {std::string("aaaa"), std::string("bbbb"), list, twelve})
        ASSERT_TRUE(ws->store().Put(bytes).ok());
      Snap snap;
      Result<ObjectId> root = ws->store().Put(EncodeManifest(Manifest{{c.entry}}));
      ASSERT_TRUE(root.ok());
      snap.root = *root;
      snap.created_at = "2026-01-02T03:04:05Z";
      snap.workspace_id = "evil-workspace";
      Result<ObjectId> id = ws->store().Put(EncodeSnap(snap));
      ASSERT_TRUE(id.ok());
      snap_id = *id;
      ASSERT_TRUE(SnapIndex(ws->db()).Add(snap_id, snap, "fetched").ok());
    }
    std::map<std::string, std::string> before = Everything(top_.path());
    ExpectError(Run({"restore", snap_id.hex(), "--to", (top_ / "out").string()}), c.needle);
    ExpectError(Run({"restore", snap_id.hex()}), c.needle);
    ExpectError(Run({"restore", "--force", snap_id.hex()}), c.needle);
    EXPECT_EQ(Everything(top_.path()), before) << "the refused restore changed files";
  }
}

TEST_F(MaliciousServerTest, ObjectsOfTheWrongKindAreRefused) {
  // Asked for a manifest, the server sends a blob of that ID.
  std::string bytes = EncodeManifest(Manifest{{ServedFile("a", "x\n")}});
  ObjectId root = ObjectId::Of(bytes);
  server_.PutAs(ObjectKind::kBlob, root, bytes);
  ExpectRefused(Publish(root), "which was not asked for");

  // A directory whose "manifest" is a blob's bytes (hashing right).
  server_.Reset();
  ObjectId hello = server_.Put(ObjectKind::kManifest, "hello\n");
  ExpectTreeRefused({Dir("d", hello)}, "invalid manifest");

  // A snap whose root is another snap.
  server_.Reset();
  ObjectId inner = server_.Put(ObjectKind::kManifest, SnapBytes(Tree({})));
  ExpectRefused(Publish(inner), "invalid manifest");

  // A file whose chunk list is a manifest.
  server_.Reset();
  ObjectId m = server_.Put(ObjectKind::kChunkList, EncodeManifest(Manifest{}));
  ExpectTreeRefused({File("f", m, 10, /*chunked=*/true)}, "invalid chunklist");
}

TEST_F(MaliciousServerTest, ObjectsNotAskedForOrNotSentAreRefused) {
  // An extra blob slipped into the pack.
  ObjectId root = Tree({ServedFile("a", "x\n")});
  std::string extra = "pwned\n";
  server_.SetPack([&](const wire::ObjectIdSet& asked) {
    return WithoutEnd(server_.FramePack(asked)) +
           PackObjectHeader(ObjectKind::kBlob, ObjectId::Of(extra), extra.size()) + extra +
           std::string(kPackEnd);
  });
  ExpectRefused(Publish(root), "which was not asked for");

  // The same object twice.
  server_.Reset();
  root = Tree({ServedFile("a", "x\n")});
  server_.SetPack([&](const wire::ObjectIdSet& asked) {
    std::string once = WithoutEnd(server_.FramePack(asked)).substr(kPackMagic.size());
    return std::string(kPackMagic) + once + once + std::string(kPackEnd);
  });
  ExpectRefused(Publish(root), "which was not asked for");

  // An object left out.
  server_.Reset();
  ExpectRefused(Publish(ObjectId::Of(EncodeManifest(Manifest{}))), "did not send");
}

TEST_F(MaliciousServerTest, BrokenPacksAreRefused) {
  struct Case {
    const char* what;
    std::function<std::string(const std::string& pack)> mangle;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"cut inside an object", [](const std::string& p) { return p.substr(0, p.size() - 10); },
       "truncated"},
      {"no end line", [](const std::string& p) { return WithoutEnd(p); }, "truncated"},
      {"empty body", [](const std::string&) { return std::string(); }, "truncated"},
      {"data after the end", [](const std::string& p) { return p + "blob"; },
       "after the end of the pack"},
      {"not a pack", [](const std::string&) { return std::string("<html>hello</html>"); },
       "not a converge pack"},
      {"garbage header",
       [](const std::string& p) { return std::string(kPackMagic) + "manifest zz 1\nx" + p; },
       "malformed pack object header"},
      {"a huge manifest",
       [](const std::string& p) {
         return WithoutEnd(p).substr(0, kPackMagic.size()) + "snap " +
                p.substr(kPackMagic.size() + 5, 64) + " 99999999999\n";
       },
       "the server sent a snap of 99999999999 bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    server_.Reset();
    ObjectId snap = Publish(Tree({ServedFile("a", "x\n")}));
    server_.SetPack(
        [&](const wire::ObjectIdSet& asked) { return c.mangle(server_.FramePack(asked)); });
    ExpectRefused(snap, c.needle);
  }
}

// A server may answer in pack version 2 (docs/pack.md): whatever it claims
// of a compressed object, the client decompresses no more than the size the
// object's header gives, re-hashes it, and takes no object sent against a
// base (a fetch never names one).
TEST_F(MaliciousServerTest, BadlyCompressedObjectsAreRefused) {
  std::string content(1000, '\0');
  struct Case {
    const char* what;
    std::function<std::string(const PackedObject& blob)> record;
    bool stream;
    std::string needle;
  };
  auto bomb = [](const PackedObject& b) {
    std::string frame = ZstdFrame(std::string(4 << 20, '\0'));
    unsigned fhd = static_cast<unsigned char>(frame[4]);
    uint32_t declared = static_cast<uint32_t>(b.bytes.size());
    std::memcpy(frame.data() + 5 + ((fhd & 0x20) ? 0 : 1), &declared, 4);
    return V2Record(b.kind, b.id, b.bytes.size(), Encoding::kZstd, frame);
  };
  const std::vector<Case> cases = {
      {"a frame that inflates past its size", bomb, false, "badly encoded"},
      {"the same in a stream", bomb, true, "badly encoded"},
      {"a frame of another size",
       [](const PackedObject& b) {
         return V2Record(b.kind, b.id, b.bytes.size(), Encoding::kZstd, ZstdFrame(b.bytes + "x"));
       },
       false, "declares 1001 bytes, not the 1000"},
      {"other bytes of the same size",
       [](const PackedObject& b) {
         return V2Record(b.kind, b.id, b.bytes.size(), Encoding::kZstd,
                         ZstdFrame(std::string(b.bytes.size(), 'e')));
       },
       false, "corrupt"},
      {"a frame against a base",
       [](const PackedObject& b) {
         std::string base(1000, 'b');
         return V2Record(b.kind, b.id, b.bytes.size(), Encoding::kZstdDelta,
                         CompressAgainst(b.bytes, base).value_or("x"), ObjectId::Of(base));
       },
       false, "no object is taken as a base here"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    server_.Reset();
    ObjectId blob = Blob(content);
    ObjectId snap = Publish(Tree({File("a", blob, content.size())}));
    server_.SetPack([&](const wire::ObjectIdSet& asked) {
      std::string records;
      for (const PackedObject& o : ParsePack(server_.FramePack(asked)))
        records += o.id == blob ? c.record(o)
                                : V2Record(o.kind, o.id, o.bytes.size(), Encoding::kRaw, o.bytes);
      return PackV2Body(records, c.stream);
    });
    ExpectRefused(snap, c.needle);
  }
}

TEST_F(MaliciousServerTest, AConnectionDroppedMidPackIsRefused) {
  ObjectId snap = Publish(Tree({ServedFile("a", std::string(5000, 'x'))}));
  server_.CutConnectionAfter(100);  // inside the snap's bytes
  ExpectRefused(snap, "the connection broke");
}

// Answers that are not what the API promises: malformed JSON, fields of the
// wrong type, raw non-UTF-8 bytes, error messages with line breaks and
// terminal escapes. The client prints one clean error line; it never crashes.
TEST_F(MaliciousServerTest, MalformedAnswersAreRefusedCleanly) {
  const std::vector<std::pair<int, std::string>> answers = {
      {500, R"({"error":{"code":5,"message":["not","a","string"]}})"},
      {403, R"({"error":{"code":{},"message":null}})"},
      {403, R"({"error":"forbidden"})"},
      {403, "{\"error\":{\"code\":\"forbidden\",\"message\":\"one\\ntwo\\u001b[31m\"}}"},
      {403, "{\"error\":{\"code\":\"forbidden\",\"message\":\"" + std::string(5000, 'x') + "\"}}"},
      {200, "{\"user\":\"bad\xff\"}"},
      {200, R"({"user":{"id":"seven","handle":7}})"},
      {200, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["},
      {200, R"([1,2)"},
      {404, "<html>not json</html>"},
  };
  std::map<std::string, std::string> before = Everything(top_.path());
  for (const auto& [status, body] : answers) {
    SCOPED_TRACE(std::to_string(status) + " " + body.substr(0, 80));
    server_.AnswerEverythingWith(status, body);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"fetch"}, {"fetch", "--publication", "abcd1234"}}) {
      RunResult r = Run(args);
      EXPECT_EQ(r.exit_code, 1) << r.err;
      EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
      EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
      EXPECT_LT(r.err.size(), 1000u) << r.err;
    }
  }
  EXPECT_EQ(Everything(top_.path()), before);
}

TEST_F(MaliciousServerTest, AlteredPublicationsAreRefused) {
  ObjectId snap = server_.Put(ObjectKind::kSnap, SnapBytes(Tree({ServedFile("a", "x\n")})));
  wire::Publication p = FakeServer::MakePublication(snap, "reviewed");
  p.note = "approved";  // after the ID was computed
  server_.List(p);
  ExpectRefused(snap, "does not match its content");
  RunResult one = Run({"fetch", "--publication", p.id.substr(0, 12)});
  ExpectError(one, "does not match its content");

  // A publication of another repo, or of no snap at all, with valid IDs.
  server_.Reset();
  snap = server_.Put(ObjectKind::kSnap, SnapBytes(Tree({ServedFile("a", "x\n")})));
  p = FakeServer::MakePublication(snap);
  p.repo = "other";
  p.id = ObjectId::Of(wire::PublicationIdInput(p)).hex();
  server_.List(p);
  ExpectRefused(snap, "a publication of repo 'other'");
  // A listing whose cursor never moves.
  server_.Reset();
  snap = server_.Put(ObjectKind::kSnap, SnapBytes(Tree({ServedFile("a", "x\n")})));
  server_.Publish(snap);
  server_.SetNextCursor("again");
  ExpectRefused(snap, "does not advance");
  server_.Reset();
  p = FakeServer::MakePublication(snap);
  p.snap = "../../etc/passwd";
  p.id = ObjectId::Of(wire::PublicationIdInput(p)).hex();
  server_.List(p);
  ExpectRefused(snap, "malformed snap ID");
  EXPECT_EQ(server_.fetches(), 0) << "objects were fetched for a refused publication";
}

// Legitimate content: a snap may hold symlinks pointing anywhere. Restoring
// another snap over them, where the same paths are a directory and a file,
// must replace the symlinks, never write through them.
TEST_F(MaliciousServerTest, RestoreNeverWritesThroughASymlinkItMade) {
  ObjectId first =
      Publish(Tree({Link("d", canary_.string()), Link("f", "../canary/keep.txt")}), "links out");
  RunResult r = Run({"fetch"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Run({"restore", first.hex()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::is_symlink(ws_ / "d"));
  ASSERT_TRUE(fs::is_symlink(ws_ / "f"));
  std::map<std::string, std::string> canary = Everything(canary_);

  ObjectId second =
      Publish(Tree({Dir("d", Tree({ServedFile("keep.txt", "pwned\n"), ServedFile("x", "pwned\n")})),
                    ServedFile("f", "pwned\n")}),
              "the same paths as a directory and a file");
  r = Run({"fetch"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (bool force : {false, true}) {
    r = force ? Run({"restore", "--force", second.hex()}) : Run({"restore", second.hex()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(fs::is_symlink(ws_ / "d"));
    EXPECT_EQ(ReadFileOrDie(ws_ / "d" / "x"), "pwned\n");
    EXPECT_FALSE(fs::is_symlink(ws_ / "f"));
    EXPECT_EQ(ReadFileOrDie(ws_ / "f"), "pwned\n");
    EXPECT_EQ(Everything(canary_), canary) << "restore wrote through a symlink";
    // Back to the symlinks, for the forced round.
    r = Run({"restore", first.hex()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Into a new directory: the symlinks are made, and nothing through them.
  r = Run({"restore", first.hex(), "--to", (top_ / "out").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(fs::read_symlink(top_ / "out" / "d"), canary_);
  EXPECT_EQ(Everything(canary_), canary);
}

// The same, when the user (not a snap) put the symlink there: a restore that
// must make directory "d" where "d" is a symlink out of the tree replaces it
// (with --force) and never writes through it.
TEST_F(MaliciousServerTest, RestoreReplacesAForeignSymlinkInTheWay) {
  ObjectId snap = Publish(Tree({Dir("d", Tree({ServedFile("keep.txt", "pwned\n")}))}));
  RunResult r = Run({"fetch"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  fs::create_directory_symlink(canary_, ws_ / "d");
  std::map<std::string, std::string> canary = Everything(canary_);
  r = Run({"restore", snap.hex()});
  ExpectError(r, "--force");
  EXPECT_EQ(Everything(canary_), canary);
  r = Run({"restore", "--force", snap.hex()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::is_symlink(ws_ / "d"));
  EXPECT_EQ(ReadFileOrDie(ws_ / "d" / "keep.txt"), "pwned\n");
  EXPECT_EQ(Everything(canary_), canary) << "restore wrote through a symlink";
}

}  // namespace
}  // namespace converge::testing
