// A damaged object on the server, end to end (issue 11, item 12): a byte
// flips in a published file's object; `serve --fsck` names it, `serve --fsck
// --repair` (server stopped) sets it aside, and the publisher's next
// `converge publish` uploads what went missing, after which the data dir is
// clean and a reader restores the first publication byte for byte.
#include <gtest/gtest.h>

#include <fstream>

#include "store/hash.h"
#include "store/pack_dir.h"
#include "support/people.h"
#include "support/server.h"
#include "support/store_helpers.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

TEST(RepairTest, RepairThenTheNextPublishHealsTheServer) {
  ServerProcess server;
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  Person admin{"admin", server.admin_token(), url};
  admin.Login();
  Person alice{"alice", admin.Json({"user", "create", "alice"}).value("token", ""), url};
  alice.Login();
  ASSERT_EQ(admin.Run({"repo", "create", "web", "--admin", "alice"}).exit_code, 0);

  fs::path ws = alice.home->path() / "ws";
  const std::string kContent = "the file whose object the disk damages\n" + std::string(4000, 'z');
  WriteFile(ws / "README", "hello\n");
  WriteFile(ws / "docs/guide.txt", kContent);
  ASSERT_EQ(alice.Run({"init", ws.string()}).exit_code, 0);
  ASSERT_EQ(alice.Run({"remote", "set", "--url", url, "--repo", "web"}, ws).exit_code, 0);
  ASSERT_EQ(alice.Run({"snap", "-m", "first"}, ws).exit_code, 0);
  json first = alice.Json({"publish", "-m", "first"}, ws);
  ASSERT_TRUE(first.is_object());

  ObjectId blob = ObjectId::Of(kContent);
  std::string hex = blob.hex();
  ASSERT_TRUE(StoreHas(server.data_dir(), blob));
  DamageEveryCopy(server.data_dir(), blob, 100);
  RunResult check = Converge(server.ServeArgs({"--fsck"}));
  EXPECT_EQ(check.exit_code, 1) << check.out;
  EXPECT_NE(check.out.find(hex), std::string::npos) << check.out;
  EXPECT_NE(check.err.find("--repair"), std::string::npos) << check.err;

  ASSERT_EQ(server.Stop(), 0);
  {
    // A `gc --data-dir` (it runs beside nodes, so the data dir's and the
    // node lock do not keep it out) holds the store's repack lock: the
    // repair refuses and sets nothing aside.
    Result<Fd> gc = TakeRepackLock(server.data_dir());
    ASSERT_TRUE(gc.ok()) << gc.status().message();
    RunResult refused = Converge(server.ServeArgs({"--fsck", "--repair"}));
    EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
    EXPECT_NE(refused.err.find("another repack or gc"), std::string::npos) << refused.err;
    EXPECT_TRUE(StoreHas(server.data_dir(), blob)) << "nothing was set aside";
  }
  RunResult repair = Converge(server.ServeArgs({"--fsck", "--repair"}));
  EXPECT_NE(repair.out.find("fixed: set aside the damaged copy of object " + hex),
            std::string::npos)
      << repair.out << repair.err;
  EXPECT_FALSE(StoreHas(server.data_dir(), blob)) << "the damaged copy is quarantined";
  server.Start();
  if (server.port() != std::stoi(url.substr(url.rfind(':') + 1))) {
    url = "http://127.0.0.1:" + std::to_string(server.port());
    alice.url = url;
    alice.Login();
    ASSERT_EQ(alice.Run({"remote", "set", "--url", url, "--repo", "web"}, ws).exit_code, 0);
  }

  // The same snap again: its base (itself) is no longer whole on the server,
  // so the client walks down and uploads everything the repo now lacks.
  RunResult again = alice.Run({"publish", "-m", "again"}, ws);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(ReadsBackAs(server.data_dir(), blob, kContent));
  RunResult clean = Converge(server.ServeArgs({"--fsck"}));
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;

  fs::path copy = alice.home->path() / "copy";
  fs::path ws2 = alice.home->path() / "ws2";
  ASSERT_EQ(alice.Run({"init", ws2.string()}).exit_code, 0);
  ASSERT_EQ(alice.Run({"remote", "set", "--url", url, "--repo", "web"}, ws2).exit_code, 0);
  RunResult fetch = alice.Run({"fetch"}, ws2);
  ASSERT_EQ(fetch.exit_code, 0) << fetch.err;
  std::string id = first["publication"].value("id", "");
  RunResult restore = alice.Run({"restore", id, "--to", copy.string()}, ws2);
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(ReadFileOrDie(copy / "docs/guide.txt"), kContent);
}

}  // namespace
}  // namespace converge::testing
