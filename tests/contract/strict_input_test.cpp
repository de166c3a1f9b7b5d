// Contract: request bodies with a field the route does not know are refused
// (400 naming the field), never silently ignored; a snap's created_at must be
// an RFC 3339 UTC time.
#include "fixtures.h"

namespace converge::testing {
namespace {

class StrictInputTest : public OwnedRepoTest {
 protected:
  // 400 "invalid" whose message names `field`.
  static void ExpectRefused(const Reply& r, const std::string& field, const std::string& what) {
    EXPECT_EQ(r.status, 400) << what << ": " << r.body;
    EXPECT_EQ(r.code(), "invalid") << what;
    EXPECT_NE(r.message().find("unknown field '" + field + "'"), std::string::npos)
        << what << ": " << r.body;
  }
};

TEST_F(StrictInputTest, UnknownFieldsInRequestBodiesAre400) {
  Api owner = As(owner_);
  nlohmann::json gate = {{"id", "dev-intake"}, {"upstream", nlohmann::json::array()}};
  nlohmann::json typo_gate = gate;
  typo_gate["upstreams"] = {"dev-intake"};
  ExpectRefused(owner.Put(Base() + "/gate-graph", {{"gates", {typo_gate}}}), "upstreams", "a gate");
  ExpectRefused(owner.Put(Base() + "/gate-graph", {{"gates", {gate}}, {"version", 2}}), "version",
                "the gate graph");
  std::string blob = Blob("strict").hex();
  ExpectRefused(owner.Post(Base() + "/objects/missing", {{"blob", {blob}}}), "blob",
                "objects/missing");
  ExpectRefused(owner.Post(Base() + "/objects/fetch", {{"blobs", {blob}}, {"manifest", {}}}),
                "manifest", "objects/fetch");
  ExpectRefused(owner.Post(Base() + "/publications", {{"snap", blob},
                                                      {"scope", "main"},
                                                      {"gate", "dev-intake"},
                                                      {"lane", "default"},
                                                      {"notes", "typo"}}),
                "notes", "a publication");
  ExpectRefused(owner.Post(Base() + "/lanes", {{"name", "qa"}, {"members", {"x"}}}), "members",
                "a lane");
  ExpectRefused(owner.Post(Base() + "/scopes", {{"name", "qa"}, {"parent", "main"}}), "parent",
                "a scope");
  ExpectRefused(owner.Put(Base() + "/members/" + HandleOf(owner_), {{"role", "admin"}, {"x", 1}}),
                "x", "a member");
  ExpectRefused(owner.Post("/v1/tokens", {{"label", "l"}, {"expires_in_day", 1}}), "expires_in_day",
                "a token");
  ExpectRefused(Admin().Post("/v1/users", {{"handle", Unique("u")}, {"admn", true}}), "admn",
                "a user");
  ExpectRefused(Admin().Post("/v1/repos", {{"name", Unique("r")}, {"admins", "x"}}), "admins",
                "a repo");

  // Nothing of the refused requests happened.
  Reply graph = owner.Get(Base() + "/gate-graph");
  EXPECT_EQ(graph.json()["gates"], nlohmann::json::array({gate}));
  Reply lanes = owner.Get(Base() + "/lanes");
  EXPECT_EQ(lanes.json().size(), 1u);
  // The same bodies without the stray field are fine.
  EXPECT_EQ(owner.Post(Base() + "/objects/missing", {{"blobs", {blob}}}).status, 200);
  EXPECT_EQ(owner.Put(Base() + "/gate-graph", {{"gates", {gate}}}).status, 200);
}

// A snap whose created_at is not "YYYY-MM-DDTHH:MM:SS[.frac]Z" is refused
// like any other malformed snap (422), and nothing is stored.
TEST_F(StrictInputTest, ASnapsCreatedAtMustBeRfc3339Utc) {
  Api owner = As(owner_);
  TestTree tree = MakeTree("created-at");
  std::vector<TestObject> leaves(tree.objects.begin(), tree.objects.end() - 1);
  Upload(owner, repo_, leaves);
  const TestObject& root = leaves.back();
  auto snap_at = [&](const std::string& at) {
    Snap s;
    s.root = root.id;
    s.created_at = at;
    s.message = "when?";
    s.workspace_id = "ws-test";
    std::string bytes = EncodeSnap(s);
    return TestObject{ObjectKind::kSnap, bytes, ObjectId::Of(bytes)};
  };
  for (const char* bad :
       {"yesterday", "", "2026-01-01", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00",
        "2026-01-01T00:00:00+01:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "2026-01-01T24:00:00Z", "2026-01-01T00:00:00.Z", "2026-01-01t00:00:00z",
        "2026-01-01T00:00:00Z\n", "+2026-01-01T00:00:00Z"}) {
    TestObject snap = snap_at(bad);
    Reply r = owner.PutBytes(snap.Path(repo_), snap.bytes);
    EXPECT_EQ(r.status, 422) << "'" << bad << "': " << r.body;
    EXPECT_NE(r.message().find("created_at"), std::string::npos) << r.body;
    Reply in_pack = owner.PostBytes(Base() + "/objects/pack", PackOf({snap}), kPackContentType);
    EXPECT_EQ(in_pack.status, 422) << "'" << bad << "' in a pack: " << in_pack.body;
    EXPECT_EQ(owner.Get(snap.Path(repo_)).status, 404) << bad;
  }
  for (const char* good : {"2026-01-01T00:00:00Z", "2024-02-29T23:59:60.123456Z"}) {
    TestObject snap = snap_at(good);
    Reply r = owner.PutBytes(snap.Path(repo_), snap.bytes);
    EXPECT_EQ(r.status, 201) << good << ": " << r.body;
  }
}

}  // namespace
}  // namespace converge::testing
