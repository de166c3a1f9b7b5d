// The web view's session records (store/records/sessions.h) on a real server
// database: stored by hash, found, ended once.
#include <gtest/gtest.h>

#include "store/records/identity.h"
#include "store/records/sessions.h"
#include "support/server_db.h"

namespace converge {
namespace {

class SessionRecordsTest : public testing::ServerDbTest {};
CONVERGE_ON_BOTH_ENGINES(SessionRecordsTest);

TEST_P(SessionRecordsTest, InsertFindAndEnd) {
  Result<UserRow> u = UserRecords(*db_).Insert("web", false, "2026-01-01T00:00:00Z");
  ASSERT_TRUE(u.ok());
  TokenRow t;
  t.id = "0123456789abcdef";
  t.user_id = u->id;
  t.secret_hash = "h";
  t.created_at = "2026-01-01T00:00:00Z";
  ASSERT_TRUE(TokenRecords(*db_).Insert(t).ok());
  WebSessionRecords sessions(*db_);
  WebSessionRow s{std::string(64, 'a'), t.id, "2026-01-01T00:00:00Z", "2026-01-01T12:00:00Z", {}};
  ASSERT_TRUE(sessions.Insert(s).ok());
  EXPECT_EQ(sessions.Insert(s).code(), Code::kConflict);
  Result<std::optional<WebSessionRow>> got = sessions.ByHash(s.id_hash);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ((*got)->token_id, t.id);
  EXPECT_EQ((*got)->expires_at, s.expires_at);
  EXPECT_FALSE((*got)->ended_at);
  EXPECT_FALSE(*sessions.ByHash(std::string(64, 'b')));
  ASSERT_TRUE(sessions.End(s.id_hash, "2026-01-01T01:00:00Z").ok());
  ASSERT_TRUE(sessions.End(s.id_hash, "2026-01-01T02:00:00Z").ok());
  EXPECT_EQ(*(*sessions.ByHash(s.id_hash))->ended_at, "2026-01-01T01:00:00Z");
  // Pruning removes what ended or expired before the time, nothing else.
  WebSessionRow live{
      std::string(64, 'c'), t.id, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", {}};
  ASSERT_TRUE(sessions.Insert(live).ok());
  EXPECT_EQ(*sessions.Prune("2026-01-01T00:30:00Z"), 0);
  EXPECT_EQ(*sessions.Prune("2026-01-01T01:30:00Z"), 1);
  EXPECT_FALSE(*sessions.ByHash(s.id_hash));
  EXPECT_TRUE(*sessions.ByHash(live.id_hash));
  EXPECT_EQ(*sessions.Prune("2026-01-03T00:00:00Z"), 1);
}

}  // namespace
}  // namespace converge
