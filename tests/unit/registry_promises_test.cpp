// What server/repos.h, lanes.h and gate_graph.h promise, checked in process
// on a real data dir: the refusal of a duplicate names the repo, and what a
// change or a refusal writes to the audit log (action, outcome, detail).
#include <gtest/gtest.h>

#include <map>

#include "server/authority.h"
#include "server/fsck.h"
#include "support/process.h"

namespace converge {
namespace {

using testing::TempDir;

class RegistryPromisesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig config;
    config.data_dir = dir_ / "data";
    auto a = Authority::Open(config);
    ASSERT_TRUE(a.ok()) << a.status().message();
    authority_ = std::move(*a);
    admin_ = Caller{1, "admin", true, "", "127.0.0.1"};  // the first start's user
    auto bob = authority_->identity().CreateUser(admin_, {"bob", false});
    ASSERT_TRUE(bob.ok()) << bob.status().message();
    bob_ = Caller{bob->user.id, "bob", false, "", "127.0.0.1"};
    ASSERT_TRUE(reg().CreateRepo(admin_, {"r", std::nullopt}).ok());
  }
  void TearDown() override {
    if (authority_) authority_->Close();
  }

  Registry& reg() { return authority_->registry(); }

  // The repo's audit rows, oldest first.
  std::vector<wire::AuditEntry> Audit() {
    auto page = authority_->audit().ListRepo(admin_, "r", 100, std::nullopt);
    EXPECT_TRUE(page.ok());
    std::vector<wire::AuditEntry> rows(page->entries.rbegin(), page->entries.rend());
    return rows;
  }
  const wire::AuditEntry& Last(const std::vector<wire::AuditEntry>& rows) { return rows.back(); }

  TempDir dir_;
  std::unique_ptr<Authority> authority_;
  Caller admin_, bob_;
};

TEST_F(RegistryPromisesTest, DuplicatesAreConflictsNamingTheRepo) {
  auto repo = reg().CreateRepo(admin_, {"r", std::nullopt});
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), Code::kConflict);
  EXPECT_EQ(repo.status().message(), "repository 'r' already exists");

  auto lane = reg().CreateLane(admin_, "r", "default");
  ASSERT_FALSE(lane.ok());
  EXPECT_EQ(lane.status().code(), Code::kConflict);
  EXPECT_EQ(lane.status().message(), "lane 'default' already exists in repo 'r'");

  auto scope = reg().CreateScope(admin_, "r", "main");
  ASSERT_FALSE(scope.ok());
  EXPECT_EQ(scope.status().code(), Code::kConflict);
  EXPECT_EQ(scope.status().message(), "scope 'main' already exists in repo 'r'");

  // A taken name with an unknown first admin is still the conflict.
  auto both = reg().CreateRepo(admin_, {"r", std::string("nobody")});
  EXPECT_EQ(both.status().code(), Code::kConflict);
}

TEST_F(RegistryPromisesTest, ChangesAuditTheirDetail) {
  ASSERT_TRUE(reg().SetMember(admin_, "r", "bob", "publish").ok());
  EXPECT_EQ(Last(Audit()).action, "member.set");
  EXPECT_EQ(Last(Audit()).detail, "role none -> publish");

  ASSERT_TRUE(reg().AddLaneMember(admin_, "r", "default", "bob").ok());
  auto again = reg().AddLaneMember(admin_, "r", "default", "bob");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->members, (std::vector<std::string>{"admin", "bob"}));
  std::vector<wire::AuditEntry> rows = Audit();
  ASSERT_GE(rows.size(), 2u);
  EXPECT_EQ(rows[rows.size() - 2].action, "lane.member.add");
  EXPECT_EQ(rows[rows.size() - 2].target, "default:bob");
  EXPECT_EQ(rows[rows.size() - 2].detail, "");
  EXPECT_EQ(Last(rows).detail, "was a member already");

  ASSERT_TRUE(reg().RemoveMember(admin_, "r", "bob").ok());
  EXPECT_EQ(Last(Audit()).detail, "role publish -> none, and out of every lane");
  auto lane = reg().RemoveLaneMember(admin_, "r", "default", "bob");
  ASSERT_TRUE(lane.ok());
  EXPECT_EQ(lane->members, std::vector<std::string>{"admin"});
  EXPECT_EQ(Last(Audit()).action, "lane.member.remove");
  EXPECT_EQ(Last(Audit()).detail, "was not a member");

  ASSERT_TRUE(reg().CreateScope(admin_, "r", "docs").ok());
  EXPECT_EQ(Last(Audit()).action, "scope.create");
  EXPECT_EQ(Last(Audit()).outcome, "ok");
  wire::GateGraph graph{{wire::Gate{"a", {}, std::nullopt}, wire::Gate{"b", {"a"}, std::nullopt}}};
  ASSERT_TRUE(reg().SetGateGraph(admin_, "r", graph).ok());
  EXPECT_EQ(Last(Audit()).action, "gate_graph.set");
  EXPECT_EQ(Last(Audit()).detail, "gates: a, b");
  auto back = reg().GetGateGraph(admin_, "r");
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->gates.size(), 2u);
  EXPECT_EQ(back->gates[1].upstream, std::vector<std::string>{"a"});
}

TEST_F(RegistryPromisesTest, RefusalsAreAuditedAndHideTheRepo) {
  // Bob has no role: the repo is hidden, as if missing, and the attempt logged.
  auto lanes = reg().ListLanes(bob_, "r");
  ASSERT_FALSE(lanes.ok());
  EXPECT_EQ(lanes.status().code(), Code::kNotFound);
  EXPECT_EQ(lanes.status().message(), "repository 'r' not found");
  EXPECT_EQ(Last(Audit()).action, "lane.list");
  EXPECT_EQ(Last(Audit()).outcome, "refused: not_found");

  // A reader asking for an admin's change is told so, and that is logged too.
  ASSERT_TRUE(reg().SetMember(admin_, "r", "bob", "read").ok());
  auto scope = reg().CreateScope(bob_, "r", "x");
  ASSERT_FALSE(scope.ok());
  EXPECT_EQ(scope.status().code(), Code::kPermission);
  EXPECT_EQ(Last(Audit()).action, "scope.create");
  EXPECT_EQ(Last(Audit()).target, "x");
  EXPECT_EQ(Last(Audit()).outcome, "refused: forbidden");

  // Bad input is answered, not logged.
  size_t before = Audit().size();
  EXPECT_EQ(reg().CreateLane(admin_, "r", "../x").status().code(), Code::kInvalid);
  EXPECT_EQ(reg().SetMember(admin_, "r", "bob", "owner").status().code(), Code::kInvalid);
  EXPECT_EQ(Audit().size(), before);
}

// The server fsck names each publication's repo from the registry records,
// and one whose repo row is gone (possible only by editing the database).
TEST_F(RegistryPromisesTest, FsckNamesThePublicationsRepo) {
  auto db = Db::Open(authority_->data_dir().db_path(), DbRole::kServer);
  ASSERT_TRUE(db.ok()) << db.status().message();
  ASSERT_TRUE(db->Exec("PRAGMA foreign_keys=OFF").ok());
  std::string snap(64, 'a');
  for (auto [id, repo_id] : {std::pair<char, int64_t>{'1', 1}, {'2', 99}}) {
    auto q = db->Prepare(
        "INSERT INTO publications (id, repo_id, snap, scope, gate, lane, publisher_id, "
        "publisher_handle, created_at, workspace_id, client_version, host, note) VALUES "
        "(?, ?, ?, 'main', 'dev-intake', 'default', 1, 'admin', '2024-05-01T12:00:00Z', 'w', "
        "'v', 'h', '')");
    ASSERT_TRUE(q.ok());
    ASSERT_TRUE(q->Bind(1, std::string(64, id)).Bind(2, repo_id).Bind(3, snap).Run().ok());
  }
  auto report = CheckDataDir(authority_->data_dir().path());
  ASSERT_TRUE(report.ok()) << report.status().message();
  std::map<std::string, std::string> problems;
  for (const FsckProblem& p : report->problems)
    if (!p.warning) problems[p.subject] += p.problem + "\n";
  EXPECT_NE(problems["publication " + std::string(64, '1')].find(
                "names snap " + snap + ", which repo 'r' does not hold"),
            std::string::npos)
      << problems["publication " + std::string(64, '1')];
  EXPECT_EQ(problems["publication " + std::string(64, '2')],
            "belongs to repo #99, which does not exist\n");
}

}  // namespace
}  // namespace converge
