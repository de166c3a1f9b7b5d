// The identity records (store/records/identity.h) on a real server database.
#include <gtest/gtest.h>

#include "store/db.h"
#include "store/records/identity.h"
#include "support/server_db.h"

namespace converge {
namespace {

class IdentityRecordsTest : public testing::ServerDbTest {
 protected:
  UserRow AddUser(const std::string& handle, bool admin = false) {
    Result<UserRow> u = UserRecords(*db_).Insert(handle, admin, "2026-01-01T00:00:00Z");
    EXPECT_TRUE(u.ok()) << u.status().message();
    return u.ok() ? *u : UserRow{};
  }

  TokenRow AddToken(const std::string& id, int64_t user_id,
                    std::optional<std::string> parent = std::nullopt,
                    std::string created_at = "2026-01-01T00:00:00Z") {
    TokenRow t;
    t.id = id;
    t.user_id = user_id;
    t.secret_hash = std::string("\0\x01\xff hash", 8);  // raw bytes, NUL included
    t.label = "label of " + id;
    t.created_at = std::move(created_at);
    t.parent_id = std::move(parent);
    EXPECT_TRUE(TokenRecords(*db_).Insert(t).ok());
    return t;
  }

  std::optional<TokenRow> Token(const std::string& id) {
    Result<std::optional<TokenRow>> t = TokenRecords(*db_).ById(id);
    EXPECT_TRUE(t.ok()) << t.status().message();
    return t.ok() ? *t : std::nullopt;
  }
};
CONVERGE_ON_BOTH_ENGINES(IdentityRecordsTest);

TEST_P(IdentityRecordsTest, UsersCreateAndLookUp) {
  UserRecords users(*db_);
  ASSERT_EQ(*users.Count(), 0);
  UserRow admin = AddUser("admin", true);
  UserRow alice = AddUser("alice");
  EXPECT_GT(admin.id, 0);
  EXPECT_NE(alice.id, admin.id);
  EXPECT_EQ(*users.Count(), 2);

  Result<std::optional<UserRow>> by_handle = users.ByHandle("alice");
  ASSERT_TRUE(by_handle.ok() && by_handle->has_value());
  EXPECT_EQ((*by_handle)->id, alice.id);
  EXPECT_FALSE((*by_handle)->admin);
  EXPECT_EQ((*by_handle)->created_at, "2026-01-01T00:00:00Z");

  Result<std::optional<UserRow>> by_id = users.ById(admin.id);
  ASSERT_TRUE(by_id.ok() && by_id->has_value());
  EXPECT_EQ((*by_id)->handle, "admin");
  EXPECT_TRUE((*by_id)->admin);

  EXPECT_FALSE(users.ByHandle("bob")->has_value());
  EXPECT_FALSE(users.ById(alice.id + 100)->has_value());

  // A taken handle is the database's constraint: kConflict, and no new row.
  Result<UserRow> again = users.Insert("alice", false, "2026-01-02T00:00:00Z");
  EXPECT_EQ(again.status().code(), Code::kConflict);
  std::vector<UserRow> all = *users.List();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].handle, "admin");
  EXPECT_EQ(all[1].handle, "alice");
}

TEST_P(IdentityRecordsTest, TokensInsertLookUpAndList) {
  UserRow admin = AddUser("admin", true);
  UserRow alice = AddUser("alice");
  TokenRow a = AddToken("00000000000000aa", alice.id, std::nullopt, "2026-01-02T00:00:00Z");
  AddToken("00000000000000bb", admin.id);
  AddToken("00000000000000cc", alice.id, a.id, "2026-01-03T00:00:00Z");

  std::optional<TokenRow> got = Token(a.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->user_id, alice.id);
  EXPECT_EQ(got->user_handle, "alice");
  EXPECT_FALSE(got->user_admin);
  EXPECT_EQ(got->secret_hash, a.secret_hash);
  EXPECT_EQ(got->label, a.label);
  EXPECT_FALSE(got->last_used_at || got->expires_at || got->revoked_at || got->parent_id);
  EXPECT_TRUE(Token("00000000000000bb")->user_admin);
  EXPECT_EQ(Token("00000000000000cc")->parent_id, a.id);
  EXPECT_FALSE(Token("00000000000000dd"));

  EXPECT_EQ(TokenRecords(*db_).Insert(a).code(), Code::kConflict);  // the id is taken

  ASSERT_TRUE(TokenRecords(*db_).Touch(a.id, "2026-02-01T00:00:00Z").ok());
  EXPECT_EQ(Token(a.id)->last_used_at, "2026-02-01T00:00:00Z");

  std::vector<TokenRow> mine = *TokenRecords(*db_).List(std::string("alice"));
  ASSERT_EQ(mine.size(), 2u);  // oldest first
  EXPECT_EQ(mine[0].id, "00000000000000aa");
  EXPECT_EQ(mine[1].id, "00000000000000cc");
  EXPECT_EQ(TokenRecords(*db_).List(std::nullopt)->size(), 3u);
  EXPECT_TRUE(TokenRecords(*db_).List(std::string("nobody"))->empty());
}

TEST_P(IdentityRecordsTest, RevokeKeepsTheFirstTimeAndFollowsTheParentChain) {
  UserRow alice = AddUser("alice");
  // a <- b <- c, a <- d (revoked already), e on its own.
  AddToken("000000000000000a", alice.id);
  AddToken("000000000000000b", alice.id, "000000000000000a");
  AddToken("000000000000000c", alice.id, "000000000000000b");
  AddToken("000000000000000d", alice.id, "000000000000000a");
  AddToken("000000000000000e", alice.id);
  TokenRecords tokens(*db_);
  ASSERT_TRUE(tokens.Revoke("000000000000000d", "2026-01-05T00:00:00Z").ok());

  ASSERT_TRUE(tokens.Revoke("000000000000000a", "2026-01-06T00:00:00Z").ok());
  ASSERT_TRUE(tokens.Revoke("000000000000000a", "2026-01-07T00:00:00Z").ok());
  EXPECT_EQ(Token("000000000000000a")->revoked_at, "2026-01-06T00:00:00Z");

  Result<int64_t> n = tokens.RevokeBoundTo("000000000000000a", "2026-01-06T00:00:00Z");
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 2);  // b and c; d was revoked before
  EXPECT_EQ(Token("000000000000000b")->revoked_at, "2026-01-06T00:00:00Z");
  EXPECT_EQ(Token("000000000000000c")->revoked_at, "2026-01-06T00:00:00Z");
  EXPECT_EQ(Token("000000000000000d")->revoked_at, "2026-01-05T00:00:00Z");
  EXPECT_FALSE(Token("000000000000000e")->revoked_at);
  EXPECT_EQ(*tokens.RevokeBoundTo("000000000000000a", "2026-01-08T00:00:00Z"), 0);
  EXPECT_EQ(*tokens.RevokeBoundTo("000000000000000e", "2026-01-08T00:00:00Z"), 0);
}

}  // namespace
}  // namespace converge
