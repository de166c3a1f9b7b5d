// The audit log in-process (server/audit.h, docs/api.md "Audit"): every state
// change and every refusal writes one row under its action, seq has no gaps,
// the chain and its signed head verify with AuditChainVerifier, and who may
// read which part of the log.
#include "service_fixture.h"

namespace converge::testing {
namespace {

using AuditServiceTest = ServiceTest;

TEST_F(AuditServiceTest, EveryActionWritesItsRowAndTheChainVerifies) {
  int64_t start = LastAudit().seq;
  Caller alice = NewUser("alice");  // user.create, token.create
  Caller bob = NewUser("bob");      // user.create, token.create
  wire::IssuedToken t = Must(identity().CreateToken(alice, {std::nullopt, "x", std::nullopt}));
  Must(identity().RevokeToken(alice, t.id));                                // token.revoke
  NewRepo("web", alice);                                                    // repo.create
  Grant("web", bob, "publish");                                             // member.set
  Must(registry().CreateLane(alice, "web", "l"));                           // lane.create
  Must(registry().AddLaneMember(alice, "web", "l", "bob"));                 // lane.member.add
  Must(registry().RemoveLaneMember(alice, "web", "l", "bob"));              // lane.member.remove
  Must(registry().CreateScope(alice, "web", "s"));                          // scope.create
  Must(registry().SetGateGraph(alice, "web", {{{"dev-intake", {}, {}}}}));  // gate_graph.set
  TestTree tree = MakeTree("audit");
  Upload(alice, "web", tree.objects);  // (not audited)
  wire::Publication p = Must(publications().Create(alice, "web", PublishOf(tree.snap())));
  Must(registry().RemoveMember(alice, "web", "bob"));  // member.remove
  (void)registry().GetRepo(bob, "web");                // refused: not_found
  (void)registry().CreateLane(admin(), "web", "l");    // conflict: no row
  (void)identity().ListUsers(alice);                   // refused: forbidden

  std::vector<std::pair<std::string, std::string>> want = {{"user.create", "ok"},
                                                           {"token.create", "ok"},
                                                           {"user.create", "ok"},
                                                           {"token.create", "ok"},
                                                           {"token.create", "ok"},
                                                           {"token.revoke", "ok"},
                                                           {"repo.create", "ok"},
                                                           {"member.set", "ok"},
                                                           {"lane.create", "ok"},
                                                           {"lane.member.add", "ok"},
                                                           {"lane.member.remove", "ok"},
                                                           {"scope.create", "ok"},
                                                           {"gate_graph.set", "ok"},
                                                           {"publication.create", "ok"},
                                                           {"member.remove", "ok"},
                                                           {"repo.read", "refused: not_found"},
                                                           {"user.list", "refused: forbidden"}};
  std::vector<wire::AuditEntry> rows = AuditRows();
  std::vector<std::pair<std::string, std::string>> got;
  for (const wire::AuditEntry& e : rows) {
    if (e.seq > start) got.emplace_back(e.action, e.outcome);
  }
  EXPECT_EQ(got, want);
  for (size_t i = 0; i < rows.size(); i++) {
    EXPECT_EQ(rows[i].seq, static_cast<int64_t>(i) + 1);
    EXPECT_EQ(rows[i].prev_hash, i == 0 ? kAuditGenesis : rows[i - 1].hash);
  }
  EXPECT_EQ(rows.back().actor, "alice");
  EXPECT_EQ(rows.back().remote_addr, "127.0.0.1");
  EXPECT_EQ(rows[rows.size() - 4].target, p.id);

  AuditVerdict verdict = VerifyChain();
  EXPECT_TRUE(verdict.ok()) << (verdict.problems.empty() ? "" : verdict.problems[0].message);
  EXPECT_EQ(verdict.rows_checked, static_cast<int64_t>(rows.size()));
  EXPECT_EQ(verdict.head.seq, rows.back().seq);
  EXPECT_EQ(verdict.head.hash, rows.back().hash);
}

TEST_F(AuditServiceTest, RepoAdminsReadTheirRepoAndOnlyServerAdminsTheWholeLog) {
  Caller alice = NewUser("alice"), bob = NewUser("bob");
  NewRepo("web", alice);
  NewRepo("other", bob);
  Grant("web", bob, "publish");
  wire::AuditPage web = Must(audit().ListRepo(alice, "web", 100, std::nullopt));
  ASSERT_FALSE(web.entries.empty());
  for (const wire::AuditEntry& e : web.entries) EXPECT_EQ(e.repo, "web");
  for (size_t i = 1; i < web.entries.size(); i++)
    EXPECT_GT(web.entries[i - 1].seq, web.entries[i].seq);  // newest first
  EXPECT_TRUE(HasCode(audit().ListRepo(bob, "web", 100, std::nullopt).status(), Code::kPermission));
  EXPECT_TRUE(
      HasCode(audit().ListRepo(alice, "other", 100, std::nullopt).status(), Code::kNotFound));
  EXPECT_TRUE(HasCode(audit().ListAll(alice, 100, std::nullopt).status(), Code::kPermission));
  EXPECT_TRUE(HasCode(audit().Head(alice).status(), Code::kPermission));
  // Anyone may have the key; it is the one the head is signed with.
  wire::AuditKeyInfo key = Must(audit().Key());
  EXPECT_EQ(key.public_key, Must(audit().Head(admin())).public_key);
  EXPECT_EQ(key.fingerprint.rfind("ed25519:", 0), 0u);
  // Paging the repo's log walks every row once.
  std::vector<int64_t> seqs;
  std::optional<int64_t> before;
  for (;;) {
    wire::AuditPage page = Must(audit().ListRepo(alice, "web", 1, before));
    for (const wire::AuditEntry& e : page.entries) seqs.push_back(e.seq);
    if (!page.next) break;
    before = std::stoll(*page.next);
  }
  ASSERT_EQ(seqs.size(), Must(audit().ListRepo(alice, "web", 1000, std::nullopt)).entries.size());
  EXPECT_TRUE(VerifyChain().ok());
}

TEST_F(AuditServiceTest, ReopeningTheDataDirKeepsTheChainAndItsKey) {
  Caller alice = NewUser("alice");
  NewRepo("web", alice);
  std::string fingerprint = Must(audit().Key()).fingerprint;
  int64_t seq = LastAudit().seq;
  authority_->Close();
  authority_.reset();
  ServerConfig config;
  config.data_dir = dir_->path() / "data";
  authority_ = Must(Authority::Open(config));
  ASSERT_TRUE(authority_);
  EXPECT_FALSE(authority_->bootstrapped());
  EXPECT_EQ(Must(audit().Key()).fingerprint, fingerprint);
  EXPECT_EQ(LastAudit().seq, seq);
  Must(registry().CreateScope(alice, "web", "after"));
  EXPECT_TRUE(VerifyChain().ok());
}

}  // namespace
}  // namespace converge::testing
