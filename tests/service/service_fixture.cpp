#include "service_fixture.h"

namespace converge::testing {

::testing::AssertionResult HasCode(const Status& s, Code code) {
  if (s.code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected " << CodeName(code) << ", got " << (s.ok() ? "ok" : CodeName(s.code()))
         << ": " << s.message();
}

void ServiceTest::SetUp() {
  dir_ = std::make_unique<TempDir>();
  ServerConfig config;
  config.data_dir = dir_->path() / "data";
  Configure(config);
  Result<std::unique_ptr<Authority>> opened = Authority::Open(config);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  authority_ = std::move(opened).value();
  ASSERT_TRUE(authority_->bootstrapped());
  std::string token = ReadFileOrDie(authority_->data_dir().token_file());
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  Result<Caller> admin = SignIn(token);
  ASSERT_TRUE(admin.ok()) << admin.status().message();
  admin_ = *admin;
}

void ServiceTest::TearDown() {
  if (authority_) authority_->Close();
  authority_.reset();
  dir_.reset();
}

void AliceRepoTest::SetUp() {
  ServiceTest::SetUp();
  if (HasFatalFailure()) return;
  alice_ = NewUser("alice");
  NewRepo("web", alice_);
}

Result<Caller> ServiceTest::SignIn(const std::string& token) {
  return identity().Authenticate("Bearer " + token, "127.0.0.1");
}

Caller ServiceTest::NewUser(const std::string& handle, bool server_admin, std::string* token) {
  wire::CreatedUser made =
      Must(identity().CreateUser(admin_, {handle, server_admin}), "creating a user");
  if (token) *token = made.token;
  return Must(SignIn(made.token), "signing in a new user");
}

std::string ServiceTest::NewRepo(const std::string& name, const Caller& owner) {
  wire::NewRepoRequest req;
  req.name = name;
  req.admin = owner.handle;
  return Must(registry().CreateRepo(admin_, req), "creating a repo").name;
}

void ServiceTest::Grant(const std::string& repo, const Caller& who, const std::string& role) {
  Must(registry().SetMember(admin_, repo, who.handle, role), "granting a role");
}

void ServiceTest::Upload(const Caller& who, const std::string& repo,
                         const std::vector<TestObject>& list) {
  for (const TestObject& o : list) {
    auto body = [&](const ObjectIntake::Sink& sink) { return sink(o.bytes); };
    Must(objects().Put(who, repo, o.kind, o.hex(), body), "uploading an object");
  }
}

wire::PublishRequest ServiceTest::PublishOf(const TestObject& snap, const std::string& note) {
  wire::PublishRequest req;
  req.snap = snap.hex();
  req.scope = "main";
  req.gate = "dev-intake";
  req.lane = "default";
  req.note = note;
  req.workspace_id = "ws-service";
  req.client_version = "test";
  req.host = "here";
  return req;
}

std::vector<wire::AuditEntry> ServiceTest::AuditRows() {
  std::vector<wire::AuditEntry> rows;
  std::optional<int64_t> before;
  for (;;) {
    wire::AuditPage page = Must(audit().ListAll(admin_, 1000, before), "reading the audit log");
    rows.insert(rows.end(), page.entries.begin(), page.entries.end());
    if (!page.next) break;
    before = std::stoll(*page.next);
  }
  std::reverse(rows.begin(), rows.end());
  return rows;
}

wire::AuditEntry ServiceTest::LastAudit() {
  wire::AuditPage page = Must(audit().ListAll(admin_, 1, std::nullopt), "reading the audit log");
  EXPECT_EQ(page.entries.size(), 1u);
  return page.entries.empty() ? wire::AuditEntry() : page.entries.front();
}

AuditVerdict ServiceTest::VerifyChain() {
  wire::AuditHead head = Must(audit().Head(admin_), "reading the signed head");
  AuditChainVerifier verifier(head, authority_->audit_key().public_key(), std::nullopt);
  std::optional<int64_t> before = head.seq + 1;
  for (;;) {
    wire::AuditPage page = Must(audit().ListAll(admin_, 1000, before), "reading the audit log");
    for (const wire::AuditEntry& e : page.entries) verifier.Add(e);
    if (!page.next) break;
    before = std::stoll(*page.next);
  }
  return verifier.Finish();
}

}  // namespace converge::testing
