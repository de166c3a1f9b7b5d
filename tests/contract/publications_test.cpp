// Contract: publications (create, list with filters and pages, get by prefix).
#include "fixtures.h"
#include "api/wire.h"
#include "store/db.h"

namespace converge::testing {
namespace {

class PublicationsTest : public ContractTest {
 protected:
  void SetUp() override {
    owner_ = NewUser("owner");
    repo_ = NewRepo(owner_);
    tree_ = MakeTree(repo_);
    Reply r =
        As(owner_).PostBytes(Base() + "/objects/pack", PackOf(tree_.objects), kPackContentType);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  std::string Base() { return "/v1/repos/" + repo_; }
  nlohmann::json Request(const std::string& note = "") {
    return {{"snap", tree_.snap().hex()}, {"scope", "main"}, {"gate", "dev-intake"},
            {"lane", "default"},          {"note", note},    {"workspace_id", "ws-1"},
            {"client_version", "0.1.0"},  {"host", "laptop"}};
  }
  Reply Publish(const std::string& token, const nlohmann::json& body) {
    return As(token).Post(Base() + "/publications", body);
  }

  std::string owner_, repo_;
  TestTree tree_;
};

TEST_F(PublicationsTest, CreateStoresAnImmutableRecord) {
  Reply r = Publish(owner_, Request("first"));
  ASSERT_EQ(r.status, 201) << r.body;
  nlohmann::json p = r.json();
  EXPECT_EQ(p["repo"], repo_);
  EXPECT_EQ(p["snap"], tree_.snap().hex());
  EXPECT_EQ(p["scope"], "main");
  EXPECT_EQ(p["gate"], "dev-intake");
  EXPECT_EQ(p["lane"], "default");
  EXPECT_EQ(p["publisher"], HandleOf(owner_));
  EXPECT_EQ(p["publisher_id"], As(owner_).Get("/v1/whoami").json()["user"]["id"]);
  EXPECT_EQ(p["workspace_id"], "ws-1");
  EXPECT_EQ(p["client_version"], "0.1.0");
  EXPECT_EQ(p["host"], "laptop");
  EXPECT_EQ(p["note"], "first");
  EXPECT_TRUE(p["created_at"].is_string());
  // The id is the hash of the record without it: anyone can check it.
  wire::Publication pub;
  ASSERT_TRUE(wire::FromJson(p, pub).ok());
  EXPECT_EQ(p["id"], ObjectId::Of(wire::PublicationIdInput(pub)).hex());
  nlohmann::json without = p;
  without.erase("id");
  EXPECT_EQ(p["id"], ObjectId::Of(without.dump()).hex());

  Reply got = As(owner_).Get(Base() + "/publications/" + p["id"].get<std::string>());
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.json(), p);
  // Publishing the same snap again is a new record, never a merge or a refusal.
  Reply second = Publish(owner_, Request("first"));
  ASSERT_EQ(second.status, 201);
  EXPECT_NE(second.json()["id"], p["id"]);
}

TEST_F(PublicationsTest, ChecksRoleLaneSnapScopeAndGate) {
  std::string reader = NewUser("reader"), publisher = NewUser("pub"),
              stranger = NewUser("stranger");
  Grant(repo_, HandleOf(reader), "read");
  Grant(repo_, HandleOf(publisher), "publish");

  Reply r = Publish(reader, Request());
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.message().find("publish"), std::string::npos) << r.body;
  Reply lane = Publish(publisher, Request());
  EXPECT_EQ(lane.status, 403) << "a publisher outside the lane";
  EXPECT_NE(lane.message().find("lane 'default'"), std::string::npos) << lane.body;
  EXPECT_EQ(Publish(stranger, Request()).status, 404);
  EXPECT_EQ(Anonymous().Post(Base() + "/publications", Request()).status, 401);

  ASSERT_EQ(
      As(owner_).Put(Base() + "/lanes/default/members/" + HandleOf(publisher), nullptr).status,
      200);
  EXPECT_EQ(Publish(publisher, Request()).status, 201);

  nlohmann::json unknown_snap = Request();
  unknown_snap["snap"] = Blob("no such snap").hex();
  Reply s = Publish(owner_, unknown_snap);
  EXPECT_EQ(s.status, 422);
  EXPECT_NE(s.message().find(unknown_snap["snap"].get<std::string>()), std::string::npos);
  nlohmann::json blob_as_snap = Request();
  blob_as_snap["snap"] = tree_.objects[0].hex();
  EXPECT_EQ(Publish(owner_, blob_as_snap).status, 422);
  nlohmann::json bad_id = Request();
  bad_id["snap"] = "abc";
  EXPECT_EQ(Publish(owner_, bad_id).status, 400);
  nlohmann::json scope = Request();
  scope["scope"] = "nope";
  EXPECT_EQ(Publish(owner_, scope).status, 404);
  nlohmann::json gate = Request();
  gate["gate"] = "review";
  EXPECT_EQ(Publish(owner_, gate).status, 404);
  nlohmann::json no_lane = Request();
  no_lane["lane"] = "ghosts";
  EXPECT_EQ(Publish(owner_, no_lane).status, 404);
  nlohmann::json partial = Request();
  partial.erase("gate");
  EXPECT_EQ(Publish(owner_, partial).status, 400);
  nlohmann::json control = Request();
  control["host"] = "bad\nhost";
  EXPECT_EQ(Publish(owner_, control).status, 400);
  // A server admin may publish anywhere.
  EXPECT_EQ(Publish(server().admin_token(), Request()).status, 201);
}

TEST_F(PublicationsTest, ListIsNewestFirstFilteredAndPaged) {
  ASSERT_EQ(As(owner_).Post(Base() + "/scopes", {{"name", "release/1.0"}}).status, 201);
  ASSERT_EQ(As(owner_).Post(Base() + "/lanes", {{"name", "docs"}}).status, 201);
  ASSERT_EQ(As(owner_).Put(Base() + "/lanes/docs/members/" + HandleOf(owner_), nullptr).status,
            200);
  std::vector<std::string> ids;
  for (int i = 0; i < 7; i++) {
    nlohmann::json req = Request("n" + std::to_string(i));
    if (i % 2) req["scope"] = "release/1.0";
    if (i == 6) req["lane"] = "docs";
    Reply r = Publish(owner_, req);
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(r.json()["id"]);
  }
  Reply all = As(owner_).Get(Base() + "/publications");
  ASSERT_EQ(all.status, 200);
  ASSERT_EQ(all.json()["publications"].size(), 7u);
  EXPECT_TRUE(all.json()["next"].is_null());
  for (size_t i = 0; i < 7; i++) EXPECT_EQ(all.json()["publications"][i]["id"], ids[6 - i]);

  Reply rel = As(owner_).Get(Base() + "/publications?scope=release/1.0");
  ASSERT_EQ(rel.json()["publications"].size(), 3u);
  for (const auto& p : rel.json()["publications"]) EXPECT_EQ(p["scope"], "release/1.0");
  EXPECT_EQ(As(owner_).Get(Base() + "/publications?lane=docs").json()["publications"].size(), 1u);
  EXPECT_EQ(As(owner_)
                .Get(Base() + "/publications?gate=dev-intake&scope=main")
                .json()["publications"]
                .size(),
            4u);
  EXPECT_EQ(As(owner_).Get(Base() + "/publications?gate=review").json()["publications"].size(), 0u);

  std::vector<std::string> paged;
  std::string url = Base() + "/publications?limit=3";
  for (int pages = 0; pages < 10; pages++) {
    Reply page = As(owner_).Get(url);
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_LE(page.json()["publications"].size(), 3u);
    for (const auto& p : page.json()["publications"]) paged.push_back(p["id"]);
    if (page.json()["next"].is_null()) break;
    url = Base() + "/publications?limit=3&before=" + page.json()["next"].get<std::string>();
  }
  EXPECT_EQ(paged, std::vector<std::string>(ids.rbegin(), ids.rend()));
  EXPECT_EQ(As(owner_).Get(Base() + "/publications?limit=0").status, 400);
  EXPECT_EQ(As(owner_).Get(Base() + "/publications?limit=1001").status, 400);
  EXPECT_EQ(As(owner_).Get(Base() + "/publications?before=x").status, 400);

  std::string reader = NewUser("reader");
  Grant(repo_, HandleOf(reader), "read");
  EXPECT_EQ(As(reader).Get(Base() + "/publications").json()["publications"].size(), 7u);
  EXPECT_EQ(Anonymous().Get(Base() + "/publications").status, 401);
}

TEST_F(PublicationsTest, GetByUniquePrefix) {
  Reply r = Publish(owner_, Request());
  ASSERT_EQ(r.status, 201);
  std::string id = r.json()["id"];
  for (size_t n : {4u, 10u, 64u}) {
    Reply g = As(owner_).Get(Base() + "/publications/" + id.substr(0, n));
    EXPECT_EQ(g.status, 200) << n;
    EXPECT_EQ(g.json()["id"], id);
  }
  EXPECT_EQ(As(owner_).Get(Base() + "/publications/" + id.substr(0, 3)).status, 400);
  EXPECT_EQ(As(owner_).Get(Base() + "/publications/ZZZZ").status, 400);
  std::string other = id[0] == 'f' ? "0000" : "ffff";
  EXPECT_EQ(As(owner_).Get(Base() + "/publications/" + other + id.substr(4)).status, 404);
  EXPECT_EQ(Anonymous().Get(Base() + "/publications/" + id).status, 401);
  std::string stranger = NewUser("stranger");
  EXPECT_EQ(As(stranger).Get(Base() + "/publications/" + id).status, 404);
  // Another repo's publication is not found here.
  std::string repo2 = NewRepo(owner_);
  EXPECT_EQ(As(owner_).Get("/v1/repos/" + repo2 + "/publications/" + id).status, 404);
}

TEST_F(PublicationsTest, AmbiguousPrefixIs409) {
  // Two records whose ids share a prefix take ~2^16 publications to meet by
  // chance; write two such rows straight into the server's database instead.
  {
    Result<Db> db = server().OpenDb();
    ASSERT_TRUE(db.ok());
    Result<Stmt> repo = db->Prepare("SELECT id FROM repos WHERE name = ?");
    ASSERT_TRUE(repo.ok());
    repo->Bind(1, repo_);
    ASSERT_TRUE(repo->Step().value());
    int64_t repo_id = repo->Int(0);
    for (const char* tail : {"0", "1"}) {
      Result<Stmt> q = db->Prepare(
          "INSERT INTO publications (id, repo_id, snap, scope, gate, lane, publisher_id, "
          "publisher_handle, created_at, workspace_id, client_version, host, note) VALUES "
          "(?, ?, ?, 'main', 'dev-intake', 'default', 1, 'admin', '2026-01-01T00:00:00.000000Z', "
          "'', '', '', '')");
      ASSERT_TRUE(q.ok());
      q->Bind(1, "abcdef" + std::string(57, tail[0]) + "9")
          .Bind(2, repo_id)
          .Bind(3, tree_.snap().hex());
      ASSERT_TRUE(q->Run().ok());
    }
  }
  Reply r = As(owner_).Get(Base() + "/publications/abcdef");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.code(), "conflict");
  EXPECT_EQ(As(owner_).Get(Base() + "/publications/abcdef0").status, 200);
}

}  // namespace
}  // namespace converge::testing
