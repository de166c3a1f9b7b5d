// Shared by the contract tests: one real server per test suite, unique names
// so tests in a suite never collide (builders for objects and packs are in
// support/objects.h).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/objects.h"
#include "support/server.h"

namespace converge::testing {

// A suite sharing one server. Names made with Unique() never repeat.
class ContractTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<ServerProcess>(); }
  static void TearDownTestSuite() { server_.reset(); }

  static ServerProcess& server() { return *server_; }
  static Api Admin() { return Api(server_->port(), server_->admin_token()); }
  static Api Anonymous() { return Api(server_->port()); }
  static Api As(const std::string& token) { return Api(server_->port(), token); }

  static std::string Unique(const std::string& prefix) {
    static int n = 0;
    return prefix + std::to_string(++n);
  }
  // A new user; returns its token.
  static std::string NewUser(const std::string& prefix = "u") {
    return Admin().CreateUser(Unique(prefix));
  }
  // A well-formed token no server issued (its id from `i`): fails as unknown.
  static std::string UnknownToken(int i);
  // How many of the newest 1000 audit rows are `action` from `remote_addr`.
  static int AuditRowsFrom(const std::string& action, const std::string& remote_addr);
  // The status of GET /v1/whoami with `token` and `header_lines` ("Name:
  // value\r\n" each), sent to `port` from the loopback address `source`.
  static int WhoamiStatusFrom(const std::string& source, int port, const std::string& token,
                              const std::string& header_lines = "");
  static std::string HandleOf(const std::string& token) {
    return As(token).Get("/v1/whoami").json()["user"]["handle"].get<std::string>();
  }
  // A new repo with `owner` as its admin (server admins create repos);
  // returns its name.
  static std::string NewRepo(const std::string& owner_token) {
    std::string name = Unique("repo");
    Reply r = Admin().Post("/v1/repos", {{"name", name}, {"admin", HandleOf(owner_token)}});
    EXPECT_EQ(r.status, 201) << r.body;
    return name;
  }
  // Grants `handle` `role` on `repo` (as the admin).
  static void Grant(const std::string& repo, const std::string& handle, const std::string& role) {
    Reply r = Admin().Put("/v1/repos/" + repo + "/members/" + handle, {{"role", role}});
    EXPECT_EQ(r.status, 200) << r.body;
  }
  static void Upload(Api api, const std::string& repo, const std::vector<TestObject>& objects) {
    for (const TestObject& o : objects) {
      Reply r = api.PutBytes(o.Path(repo), o.bytes);
      EXPECT_TRUE(r.status == 201 || r.status == 200) << o.Path(repo) << ": " << r.body;
    }
  }

  static std::unique_ptr<ServerProcess> server_;
};

// A ContractTest with a fresh user, owner_, who administers a fresh repo, repo_.
class OwnedRepoTest : public ContractTest {
 protected:
  void SetUp() override {
    owner_ = NewUser("owner");
    repo_ = NewRepo(owner_);
  }
  Api Owner() { return As(owner_); }
  std::string Base() { return "/v1/repos/" + repo_; }
  // Whether the repo lacks (kind, id), by objects/missing.
  bool Lacks(const TestObject& o) {
    std::string key = std::string(KindName(o.kind)) + "s";
    Reply r = Owner().Post(Base() + "/objects/missing", {{key, {o.hex()}}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json()[key].size() == 1;
  }

  std::string owner_, repo_;
};

}  // namespace converge::testing
