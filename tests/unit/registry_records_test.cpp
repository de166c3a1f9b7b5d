// The registry records (store/records/registry.h) on a real server database
// in a temp dir: round trips, duplicates refused with kConflict, and writes
// that live or die with the caller's transaction.
#include <gtest/gtest.h>

#include "store/db.h"
#include "store/records/registry.h"
#include "support/process.h"
#include "support/server_db.h"

namespace converge {
namespace {

using testing::TempDir;

constexpr const char* kNow = "2024-05-01T12:00:00Z";

class RegistryRecordsTest : public testing::ServerDbTest {
 protected:
  void SetUp() override {
    ServerDbTest::SetUp();
    if (NotSetUp()) return;
    alice_ = User("alice");
    bob_ = User("bob");
    carol_ = User("carol");
  }

  // Users belong to the identity records; a test makes its own.
  int64_t User(const std::string& handle) {
    auto q = db().Prepare("INSERT INTO users (handle, admin, created_at) VALUES (?, 0, ?) "
                          "RETURNING id");
    EXPECT_TRUE(q.ok());
    q->Bind(1, handle).Bind(2, kNow);
    auto row = q->Step();
    EXPECT_TRUE(row.ok() && *row);
    return q->Int(0);
  }

  int64_t Repo(const std::string& name, int64_t by) {
    auto id = RepoRecords(db()).Create(name, kNow, by);
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : 0;
  }

  Db& db() { return *db_; }

  // Lanes and scopes alike: makes repos "r" and "other", "qa" and "dev" in r
  // with create(repo, name), and checks that a second "qa" in r is refused
  // with kConflict naming it while "other" may have its own "qa".
  template <class F>
  std::pair<int64_t, int64_t> MakeTwoNamed(const std::string& what, F create) {
    int64_t r = Repo("r", alice_), other = Repo("other", alice_);
    EXPECT_TRUE(create(r, "qa").ok());
    EXPECT_TRUE(create(r, "dev").ok());
    Status dup = create(r, "qa");
    EXPECT_EQ(dup.code(), Code::kConflict);
    EXPECT_EQ(dup.message(), what + " 'qa' already exists");
    EXPECT_TRUE(create(other, "qa").ok());
    return {r, other};
  }

  // "NAME by CREATOR: ROLE", one a row.
  static std::vector<std::string> Listed(const Result<std::vector<RepoListingRow>>& rows) {
    EXPECT_TRUE(rows.ok());
    std::vector<std::string> out;
    if (rows.ok())
      for (const RepoListingRow& r : *rows)
        out.push_back(r.name + " by " + r.created_by + ": " + r.role);
    return out;
  }

  int64_t alice_ = 0, bob_ = 0, carol_ = 0;
};
CONVERGE_ON_BOTH_ENGINES(RegistryRecordsTest);

TEST_P(RegistryRecordsTest, RepoCreateLookupAndList) {
  RepoRecords repos(db());
  int64_t zeta = Repo("zeta", alice_);
  int64_t alpha = Repo("alpha", bob_);
  EXPECT_NE(zeta, alpha);

  auto dup = repos.Create("zeta", kNow, bob_);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kConflict);
  EXPECT_EQ(dup.status().message(), "repository 'zeta' already exists");

  auto missing = repos.Access("nope", alice_);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto seen = repos.Access("zeta", bob_);
  ASSERT_TRUE(seen.ok() && seen->has_value());
  EXPECT_EQ((*seen)->repo.id, zeta);
  EXPECT_EQ((*seen)->repo.name, "zeta");
  EXPECT_EQ((*seen)->repo.created_at, kNow);
  EXPECT_EQ((*seen)->repo.created_by, "alice");
  EXPECT_FALSE((*seen)->role.has_value());  // bob has no role on zeta

  ASSERT_TRUE(repos.SetRole(zeta, bob_, "publish").ok());
  seen = repos.Access("zeta", bob_);
  ASSERT_TRUE(seen.ok() && seen->has_value());
  EXPECT_EQ((*seen)->role, std::optional<std::string>("publish"));

  // By name; a server admin's view says "admin" everywhere.
  EXPECT_EQ(Listed(repos.ListAll()),
            (std::vector<std::string>{"alpha by bob: admin", "zeta by alice: admin"}));
  // Bob has a role on zeta only: making alpha gave him none.
  EXPECT_EQ(Listed(repos.ListFor(bob_)), std::vector<std::string>{"zeta by alice: publish"});
  EXPECT_TRUE(Listed(repos.ListFor(carol_)).empty());

  auto ids = repos.ListIds();
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 2u);
  EXPECT_EQ((*ids)[0].id, zeta);  // by id: made first
  EXPECT_EQ((*ids)[0].name, "zeta");
  EXPECT_EQ((*ids)[1].id, alpha);
}

TEST_P(RegistryRecordsTest, MembersAndRoles) {
  RepoRecords repos(db());
  int64_t r = Repo("r", alice_);
  ASSERT_TRUE(repos.SetRole(r, carol_, "admin").ok());
  ASSERT_TRUE(repos.SetRole(r, alice_, "admin").ok());
  ASSERT_TRUE(repos.SetRole(r, bob_, "read").ok());

  auto members = repos.Members(r);
  ASSERT_TRUE(members.ok());
  std::vector<std::string> got;
  for (const MemberRow& m : *members) got.push_back(m.handle + " " + m.role);
  EXPECT_EQ(got, (std::vector<std::string>{"alice admin", "bob read", "carol admin"}));

  auto admins = repos.CountAdmins(r);
  ASSERT_TRUE(admins.ok());
  EXPECT_EQ(*admins, 2);

  // A second SetRole replaces the role, it does not add a row.
  ASSERT_TRUE(repos.SetRole(r, carol_, "publish").ok());
  auto role = repos.RoleOf(r, carol_);
  ASSERT_TRUE(role.ok());
  EXPECT_EQ(*role, std::optional<std::string>("publish"));
  EXPECT_EQ(*repos.CountAdmins(r), 1);
  EXPECT_EQ(repos.Members(r)->size(), 3u);

  // The schema holds only the three roles.
  EXPECT_FALSE(repos.SetRole(r, bob_, "owner").ok());
  EXPECT_EQ(*repos.RoleOf(r, bob_), std::optional<std::string>("read"));

  auto id = repos.MemberId(r, "bob");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, std::optional<int64_t>(bob_));
  int64_t dave = User("dave");
  EXPECT_FALSE(repos.MemberId(r, "dave")->has_value());    // a user without a role
  EXPECT_FALSE(repos.MemberId(r, "nobody")->has_value());  // no such user: the same
  EXPECT_FALSE(repos.RoleOf(r, dave)->has_value());
}

TEST_P(RegistryRecordsTest, RemoveMemberTakesThemOutOfEveryLane) {
  RepoRecords repos(db());
  LaneRecords lanes(db());
  int64_t r = Repo("r", alice_);
  int64_t other = Repo("other", alice_);
  for (int64_t repo : {r, other}) {
    ASSERT_TRUE(repos.SetRole(repo, bob_, "publish").ok());
    ASSERT_TRUE(lanes.Create(repo, "qa", kNow).ok());
    ASSERT_TRUE(lanes.Create(repo, "dev", kNow).ok());
    ASSERT_TRUE(*lanes.AddMember(repo, "qa", bob_));
    ASSERT_TRUE(*lanes.AddMember(repo, "dev", bob_));
  }
  ASSERT_TRUE(repos.RemoveMember(r, bob_).ok());
  EXPECT_FALSE(repos.RoleOf(r, bob_)->has_value());
  auto emptied = lanes.List(r);  // kept: a range-for over *List() would dangle
  ASSERT_TRUE(emptied.ok());
  for (const LaneRow& l : *emptied) EXPECT_TRUE(l.members.empty()) << l.name;
  // Only that repo: bob keeps his role and lanes in the other.
  EXPECT_TRUE(repos.RoleOf(other, bob_)->has_value());
  auto kept = lanes.List(other);
  ASSERT_TRUE(kept.ok());
  for (const LaneRow& l : *kept) EXPECT_EQ(l.members, std::vector<std::string>{"bob"}) << l.name;
  // Removing someone without a role is not an error.
  EXPECT_TRUE(repos.RemoveMember(r, carol_).ok());
}

TEST_P(RegistryRecordsTest, LanesAndTheirMembers) {
  LaneRecords lanes(db());
  auto [r, other] = MakeTwoNamed("lane", [&](int64_t repo, const char* name) {
    return lanes.Create(repo, name, kNow);
  });

  auto missing = lanes.Find(r, "nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto added = lanes.AddMember(r, "qa", carol_);
  ASSERT_TRUE(added.ok());
  EXPECT_TRUE(*added);
  EXPECT_TRUE(*lanes.AddMember(r, "qa", alice_));
  auto again = lanes.AddMember(r, "qa", carol_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);  // in it already: no second row, no error
  EXPECT_FALSE(lanes.AddMember(r, "nope", carol_).ok());  // the lane must exist

  auto qa = lanes.Find(r, "qa");
  ASSERT_TRUE(qa.ok() && qa->has_value());
  EXPECT_EQ((*qa)->name, "qa");
  EXPECT_EQ((*qa)->created_at, kNow);
  EXPECT_EQ((*qa)->members, (std::vector<std::string>{"alice", "carol"}));

  auto list = lanes.List(r);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "dev");  // by name
  EXPECT_TRUE((*list)[0].members.empty());
  EXPECT_EQ((*list)[1].members, (std::vector<std::string>{"alice", "carol"}));
  EXPECT_TRUE((*lanes.List(other))[0].members.empty());

  auto removed = lanes.RemoveMember(r, "qa", carol_);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  removed = lanes.RemoveMember(r, "qa", carol_);
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE(*removed);  // not in it: nothing to remove, no error
  EXPECT_EQ((*lanes.Find(r, "qa"))->members, std::vector<std::string>{"alice"});
}

TEST_P(RegistryRecordsTest, Scopes) {
  LaneRecords lanes(db());
  auto [r, other] = MakeTwoNamed("scope", [&](int64_t repo, const char* name) {
    return lanes.CreateScope(repo, name, kNow);
  });
  auto list = lanes.ListScopes(r);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "dev");  // by name
  EXPECT_EQ((*list)[1].name, "qa");
  EXPECT_EQ((*list)[1].created_at, kNow);
  EXPECT_TRUE(*lanes.ScopeExists(r, "dev"));
  EXPECT_FALSE(*lanes.ScopeExists(r, "main"));
  EXPECT_EQ(lanes.ListScopes(other)->size(), 1u);
}

TEST_P(RegistryRecordsTest, GateGraphRoundTrip) {
  GateGraphRecords graphs(db());
  int64_t r = Repo("r", alice_);
  auto none = graphs.Load(r);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(graphs.Store(r, R"({"gates":[{"id":"a"}]})", kNow, alice_).ok());
  EXPECT_EQ(*graphs.Load(r), std::optional<std::string>(R"({"gates":[{"id":"a"}]})"));
  // A second Store replaces the graph.
  ASSERT_TRUE(graphs.Store(r, R"({"gates":[{"id":"b"}]})", "2024-05-02T00:00:00Z", bob_).ok());
  EXPECT_EQ(*graphs.Load(r), std::optional<std::string>(R"({"gates":[{"id":"b"}]})"));
  auto q = db().Prepare("SELECT COUNT(*), MAX(updated_by) FROM gate_graphs");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*q->Step());
  EXPECT_EQ(q->Int(0), 1);
  EXPECT_EQ(q->Int(1), bob_);
}

TEST_P(RegistryRecordsTest, WritesBelongToTheCallersTransaction) {
  {
    auto tx = db().BeginWrite();
    ASSERT_TRUE(tx.ok());
    int64_t r = Repo("gone", alice_);
    ASSERT_TRUE(RepoRecords(db()).SetRole(r, alice_, "admin").ok());
    ASSERT_TRUE(LaneRecords(db()).Create(r, "qa", kNow).ok());
    ASSERT_TRUE(GateGraphRecords(db()).Store(r, "{}", kNow, alice_).ok());
    // Not committed: rolled back here.
  }
  EXPECT_FALSE(RepoRecords(db()).Access("gone", alice_)->has_value());
  EXPECT_TRUE(RepoRecords(db()).ListIds()->empty());
  {
    auto tx = db().BeginWrite();
    ASSERT_TRUE(tx.ok());
    Repo("kept", alice_);
    ASSERT_TRUE(tx->Commit().ok());
  }
  EXPECT_TRUE(RepoRecords(db()).Access("kept", alice_)->has_value());
}

}  // namespace
}  // namespace converge
