// Contract: stopping and starting the server on the same data dir keeps
// everything, never recreates the admin token, and a SIGKILL at any moment
// leaves no partial object visible.
#include <signal.h>
#include <sys/stat.h>

#include <thread>

#include "fixtures.h"
#include "support/store_helpers.h"

namespace converge::testing {
namespace {

class RestartTest : public ContractTest {
 protected:
  // Each test restarts the server: give each its own.
  void SetUp() override { server_ = std::make_unique<ServerProcess>(); }
  static void SetUpTestSuite() {}
};

TEST_F(RestartTest, EverythingSurvivesARestart) {
  std::string owner = NewUser("owner");
  std::string repo = NewRepo(owner);
  TestTree t = MakeTree("restart");
  ASSERT_EQ(
      As(owner)
          .PostBytes("/v1/repos/" + repo + "/objects/pack", PackOf(t.objects), kPackContentType)
          .status,
      200);
  Reply pub = As(owner).Post(
      "/v1/repos/" + repo + "/publications",
      {{"snap", t.snap().hex()}, {"scope", "main"}, {"gate", "dev-intake"}, {"lane", "default"}});
  ASSERT_EQ(pub.status, 201);
  std::string token_file = ReadFileOrDie(server().data_dir() / "initial-admin-token");
  struct stat before;
  ASSERT_EQ(::stat((server().data_dir() / "initial-admin-token").c_str(), &before), 0);
  size_t audit_before = Admin().Get("/v1/audit?limit=1000").json()["entries"].size();

  EXPECT_EQ(server().Stop(), 0) << server().Log();
  EXPECT_NE(server().Log().find("converge serve stopped"), std::string::npos);
  server().Start();

  EXPECT_EQ(As(owner).Get("/v1/whoami").status, 200);
  EXPECT_EQ(Admin().Get("/v1/whoami").status, 200);
  EXPECT_EQ(As(owner).Get("/v1/repos/" + repo).json()["lanes"][0]["members"][0], HandleOf(owner));
  Reply got =
      As(owner).Get("/v1/repos/" + repo + "/publications/" + pub.json()["id"].get<std::string>());
  EXPECT_EQ(got.json(), pub.json());
  for (const TestObject& o : t.objects) EXPECT_EQ(As(owner).Get(o.Path(repo)).body, o.bytes);
  EXPECT_EQ(ReadFileOrDie(server().data_dir() / "initial-admin-token"), token_file);
  struct stat after;
  ASSERT_EQ(::stat((server().data_dir() / "initial-admin-token").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "the token file is not rewritten";
  EXPECT_EQ(Admin().Get("/v1/audit?limit=1000").json()["entries"].size(), audit_before);
  EXPECT_EQ(server().Log().find("initial admin token written"),
            server().Log().rfind("initial admin token written"))
      << "printed on the first start only";
}

TEST_F(RestartTest, ARemovedTokenFileIsNotRecreated) {
  fs::remove(server().data_dir() / "initial-admin-token");
  server().Restart();
  EXPECT_FALSE(fs::exists(server().data_dir() / "initial-admin-token"));
  EXPECT_EQ(Admin().Get("/v1/whoami").status, 200) << "the admin token still works";
  Reply users = Admin().Get("/v1/users");
  ASSERT_EQ(users.json().size(), 1u) << "no second admin either";
}

TEST_F(RestartTest, SigkillLeavesNoPartialObject) {
  std::string owner = NewUser("owner");
  std::string repo = NewRepo(owner);
  // Start an upload, stop sending halfway, kill the server while it waits.
  // Past 8 MiB an object being received goes to a temp file (store/cas.h).
  TestObject big = Blob(std::string(12 << 20, 'k'));
  std::string head = "PUT " + big.Path(repo) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                     owner + "\r\nContent-Length: " + std::to_string(big.bytes.size()) + "\r\n\r\n";
  int port = server().port();
  std::thread sender(
      [&] { RawRequest(port, head + big.bytes.substr(0, 9 << 20), /*shutdown_write=*/false); });
  // The temp file appears once the server has received 8 MiB of the body.
  for (int i = 0; i < 2000 && fs::is_empty(server().data_dir() / "tmp"); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_FALSE(fs::is_empty(server().data_dir() / "tmp"));
  server().Kill();
  sender.join();
  server().Start();
  // A node alone cleans every temp at start; a node sharing the data dir
  // (on PostgreSQL) only hour-old ones, as a young one may be another node's
  // upload in flight (docs/server.md).
  if (!server().postgres()) {
    EXPECT_TRUE(fs::is_empty(server().data_dir() / "tmp"))
        << "a crash's temps are cleaned at start";
  }
  EXPECT_FALSE(StoreHas(server().data_dir(), big.id));
  Reply missing =
      As(owner).Post("/v1/repos/" + repo + "/objects/missing", {{"blobs", {big.hex()}}});
  EXPECT_EQ(missing.json()["blobs"].size(), 1u);
  EXPECT_EQ(As(owner).PutBytes(big.Path(repo), big.bytes).status, 201);
}

TEST_F(RestartTest, SigtermLetsRequestsInFlightFinish) {
  std::string owner = NewUser("owner");
  std::string repo = NewRepo(owner);
  TestObject big = Blob(std::string(10 << 20, 'g'));
  RawConnection conn(server().port());
  ASSERT_TRUE(conn.Send("PUT " + big.Path(repo) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                        owner + "\r\nContent-Length: " + std::to_string(big.bytes.size()) +
                        "\r\n\r\n" + big.bytes.substr(0, 9 << 20)));
  for (int i = 0; i < 2000 && fs::is_empty(server().data_dir() / "tmp"); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server().Signal(SIGTERM);
  for (int i = 0; i < 2000 && server().Log().find("received SIGTERM") == std::string::npos; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_NE(server().Log().find("received SIGTERM"), std::string::npos);
  // The server no longer accepts, but finishes what it started.
  ASSERT_TRUE(conn.Send(big.bytes.substr(9 << 20)));
  std::string answer = conn.ReadAll();
  EXPECT_EQ(answer.rfind("HTTP/1.1 201", 0), 0u) << answer;
  EXPECT_EQ(server().Wait(), 0) << server().Log();
  server().Start();
  EXPECT_EQ(As(owner).Get(big.Path(repo)).body, big.bytes);
}

TEST_F(RestartTest, ASecondServerOnTheSameDataDirIsRefused) {
  RunResult r = ConvergeRefused({"serve", "--listen", "127.0.0.1:" + std::to_string(FreePort()),
                                 "--data-dir", server().data_dir().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("another converge serve"), std::string::npos) << r.err;
  EXPECT_EQ(Admin().Get("/v1/whoami").status, 200);
}

TEST_F(RestartTest, APortInUseIsAnErrorNotAShare) {
  RunResult r =
      ConvergeRefused({"serve", "--listen", "127.0.0.1:" + std::to_string(server().port()),
                       "--data-dir", (server().data_dir().parent_path() / "other").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot listen"), std::string::npos) << r.err;
}

TEST_F(RestartTest, BadConfigFailsClearly) {
  server().Stop();
  WriteFile(server().data_dir() / "server.json", R"({"max_objet_bytes": 5})");
  RunResult r = ConvergeRefused({"serve", "--listen", "127.0.0.1:" + std::to_string(FreePort()),
                                 "--data-dir", server().data_dir().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("max_objet_bytes"), std::string::npos) << r.err;
  RunResult listen =
      ConvergeRefused({"serve", "--listen", "nowhere", "--data-dir", server().data_dir().string()});
  EXPECT_EQ(listen.exit_code, 1);
  EXPECT_NE(listen.err.find("max_objet_bytes"), std::string::npos)
      << "the config is read first: " << listen.err;
  fs::remove(server().data_dir() / "server.json");
  RunResult bad_listen =
      ConvergeRefused({"serve", "--listen", "nowhere", "--data-dir", server().data_dir().string()});
  EXPECT_EQ(bad_listen.exit_code, 1);
  EXPECT_NE(bad_listen.err.find("HOST:PORT"), std::string::npos) << bad_listen.err;
}

}  // namespace
}  // namespace converge::testing
