// A SQLite data dir and its database belong together (server/authority_id.h):
// a converge.db copied in from another server's data dir is refused at
// start and by `serve --fsck`, naming both authorities, and the server
// starts again once its own database is back. (PostgreSQL's cases, where
// the database is not in the data dir: tests/nodes/authority_test.cpp.)
#include <gtest/gtest.h>

#include "support/server.h"

namespace converge::testing {
namespace {

std::string IdIn(const fs::path& data) {
  std::string s = ReadFileOrDie(data / "authority-id");
  return s.substr(0, s.find('\n'));
}

TEST(AuthorityIdE2eTest, AConvergeDbFromAnotherDataDirIsRefusedNamingBoth) {
  if (TestServersOnPostgres()) GTEST_SKIP() << "about a SQLite data dir's own converge.db";
  ServerProcess mine, theirs;
  std::string my_id = IdIn(mine.data_dir()), their_id = IdIn(theirs.data_dir());
  EXPECT_NE(my_id, their_id);
  ASSERT_EQ(mine.Stop(), 0);
  ASSERT_EQ(theirs.Stop(), 0);  // its WAL checkpointed into converge.db

  fs::path db = mine.data_dir() / "converge.db";
  fs::rename(db, mine.data_dir() / "converge.db.mine");
  for (const char* suffix : {"-wal", "-shm"})
    fs::remove(mine.data_dir() / ("converge.db" + std::string(suffix)));
  fs::copy_file(theirs.data_dir() / "converge.db", db);

  RunResult start =
      ConvergeRefused({"serve", "--listen", "127.0.0.1:0", "--data-dir", mine.data_dir().string()});
  EXPECT_EQ(start.exit_code, 1) << start.out << start.err;
  EXPECT_NE(start.err.find("belong to different authorities"), std::string::npos) << start.err;
  EXPECT_NE(start.err.find(my_id), std::string::npos) << start.err;
  EXPECT_NE(start.err.find(their_id), std::string::npos) << start.err;
  RunResult fsck = Converge({"serve", "--fsck", "--data-dir", mine.data_dir().string()});
  EXPECT_EQ(fsck.exit_code, 1) << fsck.out << fsck.err;
  EXPECT_NE(fsck.err.find("belong to different authorities"), std::string::npos) << fsck.err;

  fs::remove(db);
  fs::rename(mine.data_dir() / "converge.db.mine", db);
  mine.Start();
  EXPECT_EQ(Api(mine.port(), mine.admin_token()).Get("/v1/whoami").status, 200);
}

}  // namespace
}  // namespace converge::testing
