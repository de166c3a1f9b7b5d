// Contract: the tree depth limit (docs/objects.md). A manifest or snap whose
// tree nests directories more than 256 levels deep is refused with 422 when
// it is uploaded; a tree stored before the server recorded depths is measured
// when the server starts, and a snap of one past the limit cannot be published.
#include "fixtures.h"
#include "store/cas.h"
#include "store/db.h"
#include "store/object_records.h"
#include "store/tree_depth.h"

namespace converge::testing {
namespace {

constexpr size_t kDepthLimit = 256;

// Manifests chain[0] (empty) ... chain[n], chain[i] holding directory "d"
// = chain[i - 1]: chain[i]'s tree is i levels deep. Leaves first.
std::vector<TestObject> Chain(size_t n, const std::string& seed) {
  std::vector<TestObject> chain = {ManifestOf({FileEntry(seed, Blob(seed))})};
  for (size_t i = 1; i <= n; i++) chain.push_back(ManifestOf({DirEntry("d", chain.back())}));
  return chain;
}

class DepthTest : public OwnedRepoTest {
 protected:
  Reply Publish(const TestObject& snap) {
    return Owner().Post(Base() + "/publications", {{"snap", snap.hex()},
                                                   {"scope", "main"},
                                                   {"gate", "dev-intake"},
                                                   {"lane", "default"}});
  }

};

TEST_F(DepthTest, ATreeAtTheLimitIsTakenAndOnePastItIs422) {
  static_assert(kDepthLimit == kMaxTreeDepth, "docs/objects.md and this test say 256");
  std::vector<TestObject> chain = Chain(kDepthLimit + 1, "pack");
  std::vector<TestObject> objects = {Blob("pack")};
  objects.insert(objects.end(), chain.begin(), chain.end());
  Reply r = Owner().PostBytes(Base() + "/objects/pack", PackOf(objects), kPackContentType);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.code(), "corrupt");
  EXPECT_NE(r.message().find("limit of 256"), std::string::npos) << r.body;
  EXPECT_NE(r.message().find("257 levels deep"), std::string::npos) << r.body;
  EXPECT_NE(r.message().find(chain[kDepthLimit + 1].hex()), std::string::npos) << r.body;
  EXPECT_TRUE(Lacks(chain[kDepthLimit + 1]));
  EXPECT_FALSE(Lacks(chain[kDepthLimit])) << "what came before it in the pack is kept";

  // 256 levels deep is within the limit: it is stored and can be published.
  TestObject snap = SnapOf(chain[kDepthLimit], "at the limit");
  Reply up = Owner().PutBytes(snap.Path(repo_), snap.bytes);
  EXPECT_EQ(up.status, 201) << up.body;
  Reply pub = Publish(snap);
  EXPECT_EQ(pub.status, 201) << pub.body;
}

TEST_F(DepthTest, OnePastTheLimitIs422ObjectByObjectToo) {
  std::vector<TestObject> chain = Chain(kDepthLimit + 1, "put");
  Upload(Owner(), repo_, {Blob("put")});
  for (size_t i = 0; i <= kDepthLimit; i++) {
    Reply r = Owner().PutBytes(chain[i].Path(repo_), chain[i].bytes);
    ASSERT_EQ(r.status, 201) << i << ": " << r.body;
  }
  Reply deep = Owner().PutBytes(chain[kDepthLimit + 1].Path(repo_), chain[kDepthLimit + 1].bytes);
  EXPECT_EQ(deep.status, 422) << deep.body;
  EXPECT_NE(deep.message().find("limit of 256"), std::string::npos) << deep.body;
  EXPECT_TRUE(Lacks(chain[kDepthLimit + 1]));
  // Two subtrees within the limit side by side are as deep as the deeper one.
  TestObject wide = ManifestOf({DirEntry("a", chain[3]), DirEntry("b", chain[kDepthLimit - 1])});
  EXPECT_EQ(Owner().PutBytes(wide.Path(repo_), wide.bytes).status, 201) << "256 deep";
  TestObject past = ManifestOf({DirEntry("x", wide), DirEntry("y", chain[1])});
  EXPECT_EQ(Owner().PutBytes(past.Path(repo_), past.bytes).status, 422) << "257 deep";
}

class DepthUpgradeTest : public ContractTest {
 protected:
  // Each test restarts the server: give each its own.
  void SetUp() override { server_ = std::make_unique<ServerProcess>(); }
  static void SetUpTestSuite() {}
};

// Objects written behind the server's back, as a server from before depths
// were recorded would have stored them: files in the CAS, rows with no depth.
void StoreLegacy(const ServerProcess& server, const std::string& repo,
                 const std::vector<TestObject>& objects) {
  Result<ObjectStore> store = ObjectStore::Open(server.data_dir());
  ASSERT_TRUE(store.ok()) << store.status().message();
  Result<Db> db = server.OpenDb();
  ASSERT_TRUE(db.ok()) << db.status().message();
  Result<Stmt> repo_id = db->Prepare("SELECT id FROM repos WHERE name = ?");
  ASSERT_TRUE(repo_id.ok());
  repo_id->Bind(1, repo);
  ASSERT_TRUE(repo_id->Step().value());
  int64_t id = repo_id->Int(0);
  for (const TestObject& o : objects) {
    ASSERT_TRUE(store->Put(o.bytes).ok());
    Result<Stmt> row = db->Prepare(
        "INSERT INTO objects (id, kind, size, content_size) VALUES (?, ?, ?, ?)");
    ASSERT_TRUE(row.ok());
    int64_t size = static_cast<int64_t>(o.bytes.size());
    ObjectId oid = *ObjectId::FromHex(o.hex());
    ASSERT_TRUE(row->BindBlob(1, IdBytes(oid)).Bind(2, KindCode(o.kind)).Bind(3, size)
                    .Bind(4, o.kind == ObjectKind::kBlob ? size : 0)
                    .Run()
                    .ok());
    Result<Stmt> link =
        db->Prepare("INSERT INTO repo_objects (repo_id, kind, object_id) VALUES (?, ?, ?)");
    ASSERT_TRUE(link.ok());
    ASSERT_TRUE(
        link->Bind(1, id).Bind(2, KindCode(o.kind)).BindBlob(3, IdBytes(oid)).Run().ok());
  }
}

TEST_F(DepthUpgradeTest, ALegacyTreePastTheLimitIsMeasuredAndCannotBePublished) {
  std::string owner = NewUser("owner");
  std::string repo = NewRepo(owner);
  std::vector<TestObject> chain = Chain(300, "legacy");
  std::vector<TestObject> objects = {Blob("legacy")};
  objects.insert(objects.end(), chain.begin(), chain.end());
  TestObject deep_snap = SnapOf(chain[300], "too deep");
  TestObject fine_snap = SnapOf(chain[200], "fine");
  objects.push_back(deep_snap);
  objects.push_back(fine_snap);
  ASSERT_EQ(server().Stop(), 0) << server().Log();
  StoreLegacy(server(), repo, objects);
  server().Start();
  std::string measured = "measured the tree depth of " + std::to_string(objects.size()) + " objects";
  EXPECT_NE(server().Log().find(measured), std::string::npos) << server().Log();

  auto publish = [&](const TestObject& snap) {
    return As(owner).Post("/v1/repos/" + repo + "/publications", {{"snap", snap.hex()},
                                                                 {"scope", "main"},
                                                                 {"gate", "dev-intake"},
                                                                 {"lane", "default"}});
  };
  Reply deep = publish(deep_snap);
  EXPECT_EQ(deep.status, 422) << deep.body;
  EXPECT_NE(deep.message().find("300 levels deep"), std::string::npos) << deep.body;
  EXPECT_NE(deep.message().find("limit of 256"), std::string::npos) << deep.body;
  EXPECT_EQ(publish(fine_snap).status, 201);
  // Nothing new can be built on top of it either.
  TestObject on_top = SnapOf(chain[300], "another try");
  EXPECT_EQ(As(owner).PutBytes(on_top.Path(repo), on_top.bytes).status, 422);
  // Measured once: the next start has nothing left to measure.
  server().Restart();
  EXPECT_EQ(server().Log().find(measured), server().Log().rfind("measured the tree depth of"));
}

}  // namespace
}  // namespace converge::testing
