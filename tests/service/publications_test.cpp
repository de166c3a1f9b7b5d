// Publications in-process (server/publications.h, docs/api.md
// "Publications"): what a create checks and records, listing newest first
// with filters and pages, lookup by a unique prefix, and that no id is ever
// given to two records, even for identical requests made back to back.
#include <set>

#include "service_fixture.h"
#include "store/hash.h"

namespace converge::testing {
namespace {

class PublicationsServiceTest : public AliceRepoTest {
 protected:
  void SetUp() override {
    AliceRepoTest::SetUp();
    if (HasFatalFailure()) return;
    tree_ = MakeTree("pubs");
    Upload(alice_, "web", tree_.objects);
  }
  wire::Publication Publish(const std::string& note = "") {
    return Must(publications().Create(alice_, "web", PublishOf(tree_.snap(), note)), "publishing");
  }

  TestTree tree_;
};

TEST_F(PublicationsServiceTest, CreateRecordsWhoWhatWhereAndTheIdIsTheHashOfTheRest) {
  wire::Publication p = Publish("ready");
  EXPECT_EQ(p.repo, "web");
  EXPECT_EQ(p.snap, tree_.snap().hex());
  EXPECT_EQ(p.scope, "main");
  EXPECT_EQ(p.gate, "dev-intake");
  EXPECT_EQ(p.lane, "default");
  EXPECT_EQ(p.publisher, "alice");
  EXPECT_EQ(p.publisher_id, alice_.user_id);
  EXPECT_EQ(p.note, "ready");
  EXPECT_EQ(p.workspace_id, "ws-service");
  EXPECT_EQ(p.id, ObjectId::Of(wire::PublicationIdInput(p)).hex());
  wire::AuditEntry row = LastAudit();
  EXPECT_EQ(row.action, "publication.create");
  EXPECT_EQ(row.outcome, "ok");
  EXPECT_EQ(row.target, p.id);
  EXPECT_EQ(row.repo, "web");
  EXPECT_TRUE(VerifyChain().ok());
}

TEST_F(PublicationsServiceTest, TheSameIdIsNeverCreatedTwice) {
  // Identical requests back to back, many within one clock tick: each gets a
  // record (and id) of its own.
  std::set<std::string> ids;
  for (int i = 0; i < 50; i++) ids.insert(Publish().id);
  EXPECT_EQ(ids.size(), 50u);
  PublicationQuery all;
  all.limit = 1000;
  wire::PublicationPage page = Must(publications().List(alice_, "web", all));
  EXPECT_EQ(page.publications.size(), 50u);
  for (const wire::Publication& p : page.publications)
    EXPECT_EQ(p.id, ObjectId::Of(wire::PublicationIdInput(p)).hex());
}

TEST_F(PublicationsServiceTest, CreateChecksTheSnapScopeGateAndLane) {
  wire::PublishRequest req = PublishOf(tree_.snap());
  auto refused = [&](wire::PublishRequest r, Code code) {
    return HasCode(publications().Create(alice_, "web", r).status(), code);
  };
  wire::PublishRequest r = req;
  r.snap = "nothex";
  EXPECT_TRUE(refused(r, Code::kInvalid));
  r = req;
  r.snap = MakeTree("elsewhere").snap().hex();
  EXPECT_TRUE(refused(r, Code::kCorrupt));
  r = req;
  r.snap = tree_.objects.front().hex();  // a blob the repo holds is not a snap
  EXPECT_TRUE(refused(r, Code::kCorrupt));
  r = req;
  r.scope = "nope";
  EXPECT_TRUE(refused(r, Code::kNotFound));
  r = req;
  r.gate = "nope";
  EXPECT_TRUE(refused(r, Code::kNotFound));
  r = req;
  r.lane = "nope";
  EXPECT_TRUE(refused(r, Code::kNotFound));
  EXPECT_EQ(Must(publications().List(alice_, "web", {})).publications.size(), 0u);

  // A publisher outside the lane is refused, and that is audited; a server
  // admin needs neither role nor lane.
  Caller bob = NewUser("bob");
  Grant("web", bob, "publish");
  EXPECT_TRUE(HasCode(publications().Create(bob, "web", req).status(), Code::kPermission));
  wire::AuditEntry row = LastAudit();
  EXPECT_EQ(row.action, "publication.create");
  EXPECT_EQ(row.outcome, "refused: forbidden");
  EXPECT_EQ(row.actor, "bob");
  Must(registry().CreateLane(alice_, "web", "bobs"));
  Must(registry().AddLaneMember(alice_, "web", "bobs", "bob"));
  r = req;
  r.lane = "bobs";
  EXPECT_TRUE(publications().Create(bob, "web", r).ok());
  EXPECT_TRUE(publications().Create(admin(), "web", req).ok());
  EXPECT_TRUE(VerifyChain().ok());
}

TEST_F(PublicationsServiceTest, ListIsNewestFirstFilteredAndPaged) {
  Must(registry().CreateScope(alice_, "web", "release"));
  std::vector<std::string> made;
  for (int i = 0; i < 5; i++) {
    wire::PublishRequest req = PublishOf(tree_.snap(), "n" + std::to_string(i));
    if (i % 2) req.scope = "release";
    made.push_back(Must(publications().Create(alice_, "web", req)).id);
  }
  wire::PublicationPage all = Must(publications().List(alice_, "web", {}));
  ASSERT_EQ(all.publications.size(), 5u);
  EXPECT_FALSE(all.next);
  for (size_t i = 0; i < 5; i++) EXPECT_EQ(all.publications[i].id, made[4 - i]);

  PublicationQuery release;
  release.scope = "release";
  wire::PublicationPage only = Must(publications().List(alice_, "web", release));
  ASSERT_EQ(only.publications.size(), 2u);
  EXPECT_EQ(only.publications[0].id, made[3]);

  std::vector<std::string> paged;
  PublicationQuery q;
  q.limit = 2;
  for (;;) {
    wire::PublicationPage page = Must(publications().List(alice_, "web", q));
    for (const wire::Publication& p : page.publications) paged.push_back(p.id);
    if (!page.next) break;
    EXPECT_EQ(page.publications.size(), 2u);
    q.before = std::stoll(*page.next);
  }
  EXPECT_EQ(paged, std::vector<std::string>(made.rbegin(), made.rend()));
}

TEST_F(PublicationsServiceTest, GetTakesTheIdOrAUniquePrefixOfFourOrMore) {
  wire::Publication p = Publish();
  EXPECT_EQ(Must(publications().Get(alice_, "web", p.id)).id, p.id);
  EXPECT_EQ(Must(publications().Get(alice_, "web", p.id.substr(0, 4))).id, p.id);
  EXPECT_TRUE(
      HasCode(publications().Get(alice_, "web", p.id.substr(0, 3)).status(), Code::kInvalid));
  EXPECT_TRUE(HasCode(publications().Get(alice_, "web", "ABCD").status(), Code::kInvalid));
  std::string other = p.id[0] == '0' ? "1111" : "0000";
  EXPECT_TRUE(HasCode(publications().Get(alice_, "web", other).status(), Code::kNotFound));
  // Another repo does not see it, even for its admin.
  NewRepo("other", alice_);
  EXPECT_TRUE(HasCode(publications().Get(alice_, "other", p.id).status(), Code::kNotFound));
}

}  // namespace
}  // namespace converge::testing
