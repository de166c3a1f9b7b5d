// Shared by the service tests: an Authority opened in-process on a fresh temp
// data dir (Authority::Open, as `converge serve` does), its admin signed in
// with the one-time token, and helpers that make people, repos and objects by
// calling the services directly with a Caller. No process, no HTTP: what is
// tested is the service layer the routes translate to.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "server/audit_verify.h"
#include "server/authority.h"
#include "support/objects.h"
#include "support/process.h"

namespace converge::testing {

// Fails the test (with the status) when `r` is not ok; returns its value.
template <class T>
T Must(Result<T> r, const char* what = "") {
  EXPECT_TRUE(r.ok()) << what << ": " << r.status().message();
  if (!r.ok()) return T();
  return std::move(r).value();
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Settings for the Authority before it opens (default: the server's defaults).
  virtual void Configure(ServerConfig& config) { (void)config; }

  Authority& authority() { return *authority_; }
  Identity& identity() { return authority_->identity(); }
  Registry& registry() { return authority_->registry(); }
  ObjectIntake& objects() { return authority_->objects(); }
  ObjectSender& sender() { return authority_->sender(); }
  Publications& publications() { return authority_->publications(); }
  AuditLog& audit() { return authority_->audit(); }
  const Caller& admin() const { return admin_; }

  // The caller behind `token`, as the HTTP layer would authenticate it.
  Result<Caller> SignIn(const std::string& token);
  // A new user made by the admin; `token` (when given) gets its first token.
  Caller NewUser(const std::string& handle, bool server_admin = false,
                 std::string* token = nullptr);
  // A new repo (made by the server admin) whose first admin is `owner`.
  std::string NewRepo(const std::string& name, const Caller& owner);
  void Grant(const std::string& repo, const Caller& who, const std::string& role);
  // Uploads `objects` to `repo` one by one as `who`.
  void Upload(const Caller& who, const std::string& repo, const std::vector<TestObject>& list);
  // A publish request for `snap` to main / dev-intake / default.
  static wire::PublishRequest PublishOf(const TestObject& snap, const std::string& note = "");

  // The whole audit log, oldest first.
  std::vector<wire::AuditEntry> AuditRows();
  // The newest audit row.
  wire::AuditEntry LastAudit();
  // Verifies the whole chain against the data dir's key with
  // AuditChainVerifier, paging the log as `converge audit --verify` does.
  AuditVerdict VerifyChain();

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Authority> authority_;
  Caller admin_;
};

// A ServiceTest with a user, alice_, who administers a repo, "web".
class AliceRepoTest : public ServiceTest {
 protected:
  void SetUp() override;
  Caller alice_;
};

// Whether `s` failed with `code`.
::testing::AssertionResult HasCode(const Status& s, Code code);

}  // namespace converge::testing
