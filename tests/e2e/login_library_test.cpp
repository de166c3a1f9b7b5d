// e2e: `converge login`'s library (client/login.h) called in-process against
// a real server: a token is stored only once the server accepted it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "base/random.h"
#include "client/credentials.h"
#include "client/login.h"
#include "support/server.h"

namespace converge::testing {
namespace {

class LoginLibraryTest : public ::testing::Test {
 protected:
  // The credentials file lives under $XDG_CONFIG_HOME: a temp dir for the test.
  void SetUp() override {
    InitCrypto();
    if (const char* old = std::getenv("XDG_CONFIG_HOME")) saved_ = old;
    ::setenv("XDG_CONFIG_HOME", config_.path().c_str(), 1);
  }
  void TearDown() override {
    if (saved_)
      ::setenv("XDG_CONFIG_HOME", saved_->c_str(), 1);
    else
      ::unsetenv("XDG_CONFIG_HOME");
  }

  ServerProcess server_;
  TempDir config_;
  std::optional<std::string> saved_;
  std::string url_ = "http://127.0.0.1:" + std::to_string(server_.port());
};

TEST_F(LoginLibraryTest, AnAcceptedTokenIsStoredARefusedOneIsNot) {
  std::string bad = "cvg_0000000000000000_" + std::string(64, '0');
  Result<wire::Whoami> refused = LogIn(url_, bad, ServerFlags{});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnauthenticated);
  EXPECT_NE(refused.status().message().find("refused that token"), std::string::npos);
  EXPECT_NE(refused.status().message().find("nothing was stored"), std::string::npos);
  EXPECT_FALSE(fs::exists(Credentials::Path()));

  Result<wire::Whoami> me = LogIn(url_, server_.admin_token(), ServerFlags{});
  ASSERT_TRUE(me.ok()) << me.status().message();
  EXPECT_TRUE(me->user.admin);
  Result<Credentials> creds = Credentials::Load();
  ASSERT_TRUE(creds.ok());
  const StoredLogin* login = creds->Find(url_);
  ASSERT_NE(login, nullptr);
  EXPECT_EQ(login->token, server_.admin_token());
  EXPECT_EQ(login->user, me->user.handle);

  Result<bool> out = LogOut(url_);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(*out);
  out = LogOut(url_);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(*out);
  ASSERT_TRUE((creds = Credentials::Load()).ok());
  EXPECT_EQ(creds->Find(url_), nullptr);
}

}  // namespace
}  // namespace converge::testing
