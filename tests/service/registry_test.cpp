// The registries in-process (server/registry.h, docs/api.md "Routes"): what a
// new repo starts with, members and roles (a repo never loses its last
// admin), lanes and their members, scopes, and gate graphs, with the audit
// row each change writes in its transaction.
#include "service_fixture.h"

namespace converge::testing {
namespace {

class RegistryTest : public AliceRepoTest {
 protected:
  void SetUp() override {
    AliceRepoTest::SetUp();
    if (!HasFatalFailure()) bob_ = NewUser("bob");
  }
  // The newest row is `action` by `actor` on repo web, "ok".
  void ExpectAudited(const std::string& action, const std::string& actor,
                     const std::string& target) {
    wire::AuditEntry row = LastAudit();
    EXPECT_EQ(row.action, action);
    EXPECT_EQ(row.actor, actor);
    EXPECT_EQ(row.repo, "web");
    EXPECT_EQ(row.target, target);
    EXPECT_EQ(row.outcome, "ok");
  }

  Caller bob_;
};

TEST_F(RegistryTest, ANewRepoHasItsAdminScopeMainLaneDefaultAndGateDevIntake) {
  wire::RepoDetails d = Must(registry().GetRepo(alice_, "web"));
  EXPECT_EQ(d.repo.name, "web");
  EXPECT_EQ(d.repo.created_by, "admin");
  EXPECT_EQ(d.repo.role, "admin");
  ASSERT_EQ(d.members.size(), 1u);
  EXPECT_EQ(d.members[0].handle, "alice");
  EXPECT_EQ(d.members[0].role, "admin");
  ASSERT_EQ(d.lanes.size(), 1u);
  EXPECT_EQ(d.lanes[0].name, "default");
  EXPECT_EQ(d.lanes[0].members, std::vector<std::string>{"alice"});
  ASSERT_EQ(d.scopes.size(), 1u);
  EXPECT_EQ(d.scopes[0].name, "main");
  ASSERT_EQ(d.gate_graph.gates.size(), 1u);
  EXPECT_EQ(d.gate_graph.gates[0].id, "dev-intake");
  // Created by a server admin without naming one: the creator is its admin.
  Must(registry().CreateRepo(admin(), {"solo", std::nullopt}));
  EXPECT_EQ(Must(registry().GetRepo(admin(), "solo")).members[0].handle, "admin");
  wire::AuditEntry row = LastAudit();
  EXPECT_EQ(row.action, "repo.create");
  EXPECT_EQ(row.target, "solo");
  EXPECT_TRUE(
      HasCode(registry().CreateRepo(admin(), {"web", std::nullopt}).status(), Code::kConflict));
  EXPECT_TRUE(
      HasCode(registry().CreateRepo(admin(), {"a/b", std::nullopt}).status(), Code::kInvalid));
}

TEST_F(RegistryTest, ListReposShowsOnlyReadableOnesWithTheCallersRole) {
  NewRepo("other", bob_);
  Grant("other", alice_, "read");
  std::vector<wire::Repo> mine = Must(registry().ListRepos(alice_));
  ASSERT_EQ(mine.size(), 2u);
  for (const wire::Repo& r : mine) EXPECT_EQ(r.role, r.name == "web" ? "admin" : "read");
  std::vector<wire::Repo> bobs = Must(registry().ListRepos(bob_));
  ASSERT_EQ(bobs.size(), 1u);
  EXPECT_EQ(bobs[0].name, "other");
  EXPECT_EQ(Must(registry().ListRepos(NewUser("carol"))).size(), 0u);
  EXPECT_EQ(Must(registry().ListRepos(admin())).size(), 2u);
}

TEST_F(RegistryTest, MembersAreSetChangedAndRemovedAndTheLastAdminStays) {
  wire::Membership m = Must(registry().SetMember(alice_, "web", "bob", "publish"));
  EXPECT_EQ(m.role, "publish");
  ExpectAudited("member.set", "alice", "bob");
  EXPECT_TRUE(
      HasCode(registry().SetMember(alice_, "web", "bob", "owner").status(), Code::kInvalid));
  EXPECT_TRUE(
      HasCode(registry().SetMember(alice_, "web", "nobody", "read").status(), Code::kNotFound));
  EXPECT_TRUE(
      HasCode(registry().SetMember(alice_, "web", "alice", "read").status(), Code::kConflict));
  EXPECT_TRUE(HasCode(registry().RemoveMember(alice_, "web", "alice").status(), Code::kConflict));
  Must(registry().AddLaneMember(alice_, "web", "default", "bob"));
  m = Must(registry().RemoveMember(alice_, "web", "bob"));
  EXPECT_FALSE(m.role);
  ExpectAudited("member.remove", "alice", "bob");
  // Lane membership goes with the role; bob no longer sees the repo.
  EXPECT_EQ(Must(registry().ListLanes(alice_, "web"))[0].members,
            std::vector<std::string>{"alice"});
  EXPECT_TRUE(HasCode(registry().GetRepo(bob_, "web").status(), Code::kNotFound));
  EXPECT_TRUE(VerifyChain().ok());
}

TEST_F(RegistryTest, LanesAreCreatedOnceAndTakeOnlyMembersOfTheRepo) {
  wire::Lane lane = Must(registry().CreateLane(alice_, "web", "team-a"));
  EXPECT_EQ(lane.name, "team-a");
  EXPECT_TRUE(lane.members.empty());
  ExpectAudited("lane.create", "alice", "team-a");
  EXPECT_TRUE(HasCode(registry().CreateLane(alice_, "web", "team-a").status(), Code::kConflict));
  EXPECT_TRUE(HasCode(registry().CreateLane(alice_, "web", "../x").status(), Code::kInvalid));

  // A user without a role, a handle nobody has and a server admin without a
  // role get the same words (docs/api.md: lane membership hides who exists).
  Status no_role = registry().AddLaneMember(alice_, "web", "team-a", "bob").status();
  Status nobody = registry().AddLaneMember(alice_, "web", "team-a", "nobo").status();
  Status root = registry().AddLaneMember(alice_, "web", "team-a", "admin").status();
  EXPECT_TRUE(HasCode(no_role, Code::kInvalid));
  EXPECT_TRUE(HasCode(nobody, Code::kInvalid));
  EXPECT_TRUE(HasCode(root, Code::kInvalid));
  auto words = [](const Status& s, const std::string& handle) {
    std::string m = s.message();
    for (size_t at; (at = m.find(handle)) != std::string::npos;) m.replace(at, handle.size(), "H");
    return m;
  };
  EXPECT_EQ(words(no_role, "bob"), words(nobody, "nobo"));
  EXPECT_EQ(words(no_role, "bob"), words(root, "admin"));

  Grant("web", bob_, "read");
  lane = Must(registry().AddLaneMember(alice_, "web", "team-a", "bob"));
  EXPECT_EQ(lane.members, std::vector<std::string>{"bob"});
  ExpectAudited("lane.member.add", "alice", "team-a:bob");
  EXPECT_TRUE(
      HasCode(registry().AddLaneMember(alice_, "web", "nope", "bob").status(), Code::kNotFound));
  lane = Must(registry().RemoveLaneMember(alice_, "web", "team-a", "bob"));
  EXPECT_TRUE(lane.members.empty());
  EXPECT_EQ(LastAudit().action, "lane.member.remove");
  // Removing someone who is not in the lane (or nobody at all) is the same answer.
  EXPECT_TRUE(registry().RemoveLaneMember(alice_, "web", "team-a", "bob").ok());
  EXPECT_TRUE(registry().RemoveLaneMember(alice_, "web", "team-a", "nobo").ok());
  std::vector<wire::Lane> lanes = Must(registry().ListLanes(alice_, "web"));
  ASSERT_EQ(lanes.size(), 2u);
  EXPECT_TRUE(VerifyChain().ok());
}

TEST_F(RegistryTest, ScopesAreCreatedOnceAndListed) {
  EXPECT_EQ(Must(registry().CreateScope(alice_, "web", "release/1")).name, "release/1");
  ExpectAudited("scope.create", "alice", "release/1");
  EXPECT_TRUE(
      HasCode(registry().CreateScope(alice_, "web", "release/1").status(), Code::kConflict));
  EXPECT_TRUE(HasCode(registry().CreateScope(alice_, "web", "a//b").status(), Code::kInvalid));
  std::vector<wire::Scope> scopes = Must(registry().ListScopes(alice_, "web"));
  ASSERT_EQ(scopes.size(), 2u);
}

TEST_F(RegistryTest, AGateGraphMustBeNonEmptyUniqueKnownAndAcyclic) {
  wire::GateGraph good{
      {{"dev-intake", {}, std::nullopt}, {"review", {"dev-intake"}, std::string("people look")}}};
  Must(registry().SetGateGraph(alice_, "web", good));
  ExpectAudited("gate_graph.set", "alice", "gate graph");
  wire::GateGraph read = Must(registry().GetGateGraph(alice_, "web"));
  ASSERT_EQ(read.gates.size(), 2u);
  EXPECT_EQ(read.gates[1].upstream, std::vector<std::string>{"dev-intake"});
  EXPECT_EQ(read.gates[1].description, "people look");

  int64_t seq = LastAudit().seq;
  for (const wire::GateGraph& bad :
       {wire::GateGraph{}, wire::GateGraph{{{"a", {}, std::nullopt}, {"a", {}, std::nullopt}}},
        wire::GateGraph{{{"a", {"ghost"}, std::nullopt}}},
        wire::GateGraph{{{"a", {"b"}, std::nullopt}, {"b", {"a"}, std::nullopt}}}})
    EXPECT_TRUE(HasCode(registry().SetGateGraph(alice_, "web", bad).status(), Code::kInvalid));
  // Nothing changed, nothing was logged as done.
  EXPECT_EQ(Must(registry().GetGateGraph(alice_, "web")).gates.size(), 2u);
  EXPECT_EQ(LastAudit().seq, seq);
}

}  // namespace
}  // namespace converge::testing
