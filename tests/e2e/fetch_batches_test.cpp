// Fetch in bounded memory (client/download.h): blobs are fetched as soon as a
// request's worth of them is queued, not held until the next tree level; a
// blob received in one request and named again later is checked against its
// real size. Run through the built binary against a FakeServer.
#include <gtest/gtest.h>

#include <mutex>

#include "store/tree.h"
#include "support/fake_client.h"
#include "support/fake_server.h"
#include "support/objects.h"
#include "support/people.h"
#include "support/process.h"

namespace converge::testing {
namespace {

constexpr int kRequestIds = 10000;  // client/download.cpp's kIdsPerFetchRequest

Entry FileEntry(const std::string& name, const ObjectId& id, uint64_t size) {
  Entry e;
  e.name = name;
  e.type = EntryType::kFile;
  e.id = id;
  e.size = size;
  return e;
}

Entry DirEntry(const std::string& name, const ObjectId& id) {
  Entry e;
  e.name = name;
  e.type = EntryType::kDir;
  e.id = id;
  return e;
}

class FetchBatchesTest : public FakeServerClientTest {
 protected:
  ObjectId Tree(const std::vector<Entry>& entries) {
    return server_.Put(ObjectKind::kManifest, EncodeManifest(Manifest{entries}));
  }
  ObjectId Publish(const ObjectId& root) {
    Snap s;
    s.root = root;
    s.created_at = "2026-01-02T03:04:05Z";
    s.message = "many";
    s.workspace_id = "some-workspace";
    ObjectId snap = server_.Put(ObjectKind::kSnap, EncodeSnap(s));
    server_.Publish(snap, "many");
    return snap;
  }
  static std::string Name(int i) {
    std::string n = std::to_string(i);
    return "f" + std::string(6 - n.size(), '0') + n;
  }
  // A root of a directory "a" (one file) and `files` files f000000...: the
  // files' blobs are met at the same level as "a".
  std::vector<Entry> ManyFiles(int files) {
    std::vector<Entry> entries = {DirEntry("a", Tree({FileEntry("x", Blob("in a\n"), 5)}))};
    for (int i = 0; i < files; i++) {
      std::string content = "file " + std::to_string(i) + "\n";
      entries.push_back(FileEntry(Name(i), Blob(content), content.size()));
    }
    return entries;
  }
  ObjectId Blob(const std::string& content) { return server_.Put(ObjectKind::kBlob, content); }

  // Records what each fetch asked for.
  struct Ask {
    size_t blobs = 0, manifests = 0;
  };
  void RecordAsks() {
    server_.SetPack([this](const wire::ObjectIdSet& asked) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        asks_.push_back(
            {asked.of(ObjectKind::kBlob).size(), asked.of(ObjectKind::kManifest).size()});
      }
      return server_.FramePack(asked);
    });
  }
  std::mutex mu_;
  std::vector<Ask> asks_;
};

TEST_F(FetchBatchesTest, AFullRequestOfBlobsIsFetchedWithoutWaitingForTheNextLevel) {
  ObjectId snap = Publish(Tree(ManyFiles(kRequestIds)));
  RecordAsks();
  RunResult r = Run({"fetch"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // snap; root; then, in any order (the blobs go on a second connection
  // while the walk goes on): the 10,000 blobs at once, without "a", met at
  // their level; "a"; its file.
  ASSERT_EQ(asks_.size(), 5u);
  EXPECT_EQ(asks_[0].manifests + asks_[0].blobs, 0u);  // the snap
  EXPECT_EQ(asks_[1].manifests, 1u);
  size_t full = 0, dir = 0, file = 0;
  for (size_t i = 2; i < asks_.size(); i++) {
    full += asks_[i].blobs == static_cast<size_t>(kRequestIds) && asks_[i].manifests == 0;
    dir += asks_[i].blobs == 0 && asks_[i].manifests == 1;
    file += asks_[i].blobs == 1 && asks_[i].manifests == 0;
  }
  EXPECT_EQ(full, 1u);
  EXPECT_EQ(dir, 1u);
  EXPECT_EQ(file, 1u);
  RunResult restore = Run({"restore", snap.hex(), "--to", (top_ / "out").string()});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(ReadFileOrDie(top_ / "out" / Name(0)), "file 0\n");
  EXPECT_EQ(ReadFileOrDie(top_ / "out" / Name(kRequestIds - 1)),
            "file " + std::to_string(kRequestIds - 1) + "\n");
  EXPECT_EQ(ReadFileOrDie(top_ / "out/a/x"), "in a\n");
}

TEST_F(FetchBatchesTest, ABadBlobInALaterRequestRefusesTheWholeTransfer) {
  std::vector<Entry> entries = ManyFiles(kRequestIds + 1);
  // The one blob left over from the full request goes with the next level:
  // served with other bytes, after 10,000 good ones were received.
  for (Entry& e : entries)
    if (e.name == Name(0)) server_.PutAs(ObjectKind::kBlob, e.id, "file X\n");
  ObjectId snap = Publish(Tree(entries));
  RecordAsks();
  RunResult r = Run({"fetch"});
  ExpectError(r, "corrupt");
  EXPECT_GE(asks_.size(), 4u);  // it came after a full request of good ones
  RunResult snaps = Run({"snaps", "--json"});
  EXPECT_EQ(snaps.out.find(snap.hex()), std::string::npos) << snaps.out;
  // Nothing of the transfer is visible: not even the good blobs.
  RunResult restore = Run({"restore", snap.hex(), "--to", (top_ / "out").string()});
  EXPECT_EQ(restore.exit_code, 1) << restore.err;
  EXPECT_FALSE(fs::exists(top_ / "out"));
  for (const auto& e : fs::recursive_directory_iterator(ws_ / ".converge"))
    EXPECT_NE(e.path().extension(), ".idx") << e.path();  // no pack was made visible
}

TEST_F(FetchBatchesTest, ABlobAlreadyReceivedIsCheckedAgainstALaterNamersSize) {
  std::string content = "five\n";
  ObjectId blob = Blob(content);
  // The root names the blob with its size; "a", fetched with it, says 9.
  ObjectId a = Tree({FileEntry("again", blob, 9)});
  Publish(Tree({DirEntry("a", a), FileEntry("b", blob, content.size())}));
  RunResult r = Run({"fetch"});
  ExpectError(r, "refusing the transfer");
  EXPECT_NE(r.err.find(blob.hex()), std::string::npos) << r.err;
}

}  // namespace
}  // namespace converge::testing

namespace converge::testing {
namespace {

// Publish's negotiation (client/negotiate.h) checks each answer against the
// batch it answers: an ID it did not ask about there fails the publish.
class PublishAnswersTest : public FakeServerClientTest {};

TEST_F(PublishAnswersTest, AnAnswerNamingAnObjectNotAskedAboutFailsThePublish) {
  WriteFile(ws_ / "a.txt", "one\n");
  WriteFile(ws_ / "sub/b.txt", "two\n");
  ASSERT_EQ(Run({"snap", "-m", "one"}).exit_code, 0);
  std::string stranger = ObjectId::Of("never asked about").hex();
  server_.Override(std::string("/v1/repos/") + FakeServer::kRepo + "/objects/missing",
                   [stranger](const httplib::Request&, httplib::Response& res) {
                     nlohmann::json answer = {{"blobs", {stranger}}};
                     res.set_content(answer.dump(), "application/json");
                   });
  RunResult r = Run({"publish", "--lane", "default"});
  ExpectError(r, "not asked about");
  EXPECT_TRUE(server_.uploads().empty());
}

// The walk takes small blobs under a missing directory as missing without
// keeping them in its set of IDs seen: copies of one file in many
// directories are still uploaded once.
TEST_F(PublishAnswersTest, CopiesOfASmallFileAreUploadedOnce) {
  for (const char* dir : {"a", "b/c", "d"}) WriteFile(ws_ / dir / "same.txt", "the same\n");
  WriteFile(ws_ / "other.txt", "other\n");
  ASSERT_EQ(Run({"snap", "-m", "copies"}).exit_code, 0);
  RunResult r = Run({"--json", "publish", "--lane", "default"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(server_.uploads().size(), 1u);
  std::vector<PackedObject> got = ParsePack(server_.uploads().back());
  size_t same = 0, blobs = 0;
  for (const PackedObject& o : got) {
    if (o.kind == ObjectKind::kBlob) blobs++;
    if (o.id == ObjectId::Of("the same\n")) same++;
  }
  EXPECT_EQ(same, 1u);
  EXPECT_EQ(blobs, 2u);
  nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["bytes_uploaded"].get<uint64_t>(),
            [&] {
              uint64_t n = 0;
              for (const PackedObject& o : got) n += o.bytes.size();
              return n;
            }())
      << out;
}

}  // namespace
}  // namespace converge::testing
