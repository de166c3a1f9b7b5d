// Two nodes under load and under slow clients (the fixture is
// tests/nodes/fixture.h): 16 clients through one nginx that round-robins
// every request over both nodes publish and fetch at once with zero errors,
// and leave one audit chain and a clean data dir; uploads that stall half
// way hold none of a node's database connections.
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "fixture.h"
#include "support/nginx.h"
#include "support/objects.h"
#include "support/tree_helpers.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;
using Clock = NodesClock;

// The bytes sent over loopback TCP to `port` that the listening process
// has not read yet: its sockets' receive queues and the senders' unsent or
// unacknowledged ones (/proc/net/tcp). 0 once the server read everything.
uint64_t UnreadBytesTo(int port) {
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  std::getline(tcp, line);  // the header
  uint64_t unread = 0;
  while (std::getline(tcp, line)) {
    std::istringstream in(line);
    std::string slot, local, remote, state, queues;
    in >> slot >> local >> remote >> state >> queues;
    auto port_of = [](const std::string& a) {
      return std::stoi(a.substr(a.find(':') + 1), nullptr, 16);
    };
    size_t colon = queues.find(':');
    if (colon == std::string::npos) continue;
    uint64_t tx = std::stoull(queues.substr(0, colon), nullptr, 16);
    uint64_t rx = std::stoull(queues.substr(colon + 1), nullptr, 16);
    if (port_of(local) == port) unread += rx;
    if (port_of(remote) == port) unread += tx;
  }
  return unread;
}

// 16 clients, all through one nginx that round-robins every request over both
// nodes: half are people with a workspace of their own running the real
// binary (login, init, snap, publish, fetch), half the test's HTTP client
// (objects/missing, a pack, a publication, reading it back, fetching it).
TEST_F(TwoNodesTest, SixteenClientsThroughNginxOverBothNodes) {
  // Behind a proxy every connection is the proxy's (docs/server.md).
  // Four database connections a node: requests wait for one now and then.
  StartBoth({"--trusted-proxy", "127.0.0.1"},
            json{{"max_connections_per_address", 0}, {"db_connections", 4}});
  NginxProxy nginx({a_->port(), b_->port()});
  std::string url = "http://127.0.0.1:" + std::to_string(nginx.port());
  MakeRepo(nginx.port(), "proj");
  constexpr int kClients = 16, kRounds = 2;
  std::vector<Person> people;
  for (int i = 0; i < kClients; i++) {
    std::string handle = "user" + std::to_string(i);
    people.push_back(MakePerson(handle, Api(nginx.port(), admin_token_).CreateUser(handle), url));
    MakePublisher(nginx.port(), "proj", handle);
  }

  std::mutex mu;
  std::vector<std::string> errors;
  std::set<std::string> published;
  std::vector<fs::path> spaces(kClients);
  auto failed = [&](int i, const std::string& what, const std::string& why) {
    std::lock_guard<std::mutex> lock(mu);
    errors.push_back("user" + std::to_string(i) + ": " + what + ": " + why);
  };
  auto acked = [&](const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    published.insert(id);
  };
  auto cli_client = [&](int i) {
    const Person& p = people[i];
    auto run = [&](const std::vector<std::string>& args, const fs::path& cwd) {
      RunResult r = p.Run(args, cwd);
      if (r.exit_code != 0)
        failed(i, args[0], "exit " + std::to_string(r.exit_code) + ": " + r.err);
      return r;
    };
    RunOptions login = p.Env();
    login.input = p.token + "\n";
    if (RunResult r = Converge({"login", "--url", url}, login); r.exit_code != 0)
      return failed(i, "login", r.err);
    fs::path ws = p.home->path() / "ws";
    spaces[i] = ws;
    if (run({"init", ws.string()}, p.home->path()).exit_code != 0 ||
        run({"remote", "set", "--url", url, "--repo", "proj"}, ws).exit_code != 0)
      return;
    for (int round = 0; round < kRounds; round++) {
      WriteFile(ws / "shared.txt", "the same for everyone\n");
      WriteFile(ws / "mine" / ("r" + std::to_string(round) + ".bin"),
                PseudoRandomBytes(20000, static_cast<uint32_t>(i * 10 + round)));
      if (run({"snap", "-m", "round"}, ws).exit_code != 0) return;
      RunResult pub = run({"publish", "--json"}, ws);
      if (pub.exit_code != 0) return;
      acked(PublicationField(json::parse(pub.out, nullptr, false), "id"));
      if (run({"fetch"}, ws).exit_code != 0) return;
    }
  };
  auto http_client = [&](int i) {
    Api api(nginx.port(), people[i].token, /*keep_alive=*/true);
    auto expect = [&](const std::string& what, const Reply& r, int status) {
      if (r.status != status) failed(i, what, std::to_string(r.status) + " " + r.body + r.error);
      return r.status == status;
    };
    for (int round = 0; round < kRounds; round++) {
      TestTree mine = MakeTree("user " + std::to_string(i) + " round " + std::to_string(round));
      std::vector<TestObject> objs = {Blob("the same for everyone\n")};
      objs.insert(objs.end(), mine.objects.begin(), mine.objects.end());
      json want = {
          {"blobs", json::array()}, {"manifests", json::array()}, {"snaps", json::array()}};
      for (const TestObject& o : objs) want[std::string(KindName(o.kind)) + "s"].push_back(o.hex());
      if (!expect("objects/missing", api.Post("/v1/repos/proj/objects/missing", want), 200) ||
          !expect("pack",
                  api.PostBytes("/v1/repos/proj/objects/pack", PackOf(objs), kPackContentType),
                  200))
        return;
      Reply pub = api.Post("/v1/repos/proj/publications", {{"snap", mine.snap().hex()},
                                                           {"scope", "main"},
                                                           {"gate", "dev-intake"},
                                                           {"lane", "default"}});
      if (!expect("publication", pub, 201)) return;
      std::string id = pub.json().value("id", "");
      acked(id);
      // Read back at once, most likely from the other node.
      if (!expect("read it back", api.Get("/v1/repos/proj/publications/" + id), 200)) return;
      Reply fetch = api.Post("/v1/repos/proj/objects/fetch", want);
      if (!expect("objects/fetch", fetch, 200)) return;
      std::vector<PackedObject> got = ParsePack(fetch.body);
      if (got.size() != objs.size()) failed(i, "objects/fetch", std::to_string(got.size()));
      for (const PackedObject& o : got)
        if (ObjectId::Of(o.bytes) != o.id) failed(i, "objects/fetch", "bad bytes " + o.id.hex());
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; i++) {
    if (i % 2 == 0)
      threads.emplace_back(cli_client, i);
    else
      threads.emplace_back(http_client, i);
  }
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors) << nginx.ErrorLog();
  EXPECT_EQ(published.size(), size_t{kClients * kRounds});
  EXPECT_EQ(ListedPublications(nginx.port(), admin_token_, "proj"), published);
  // Both nodes served the clients.
  EXPECT_GT(CountIn(a_->Log(), "POST /v1/repos/proj/"), 0u);
  EXPECT_GT(CountIn(b_->Log(), "POST /v1/repos/proj/"), 0u);

  // Anyone's work restores byte for byte anywhere.
  const int other = kClients - 2;
  RunResult f = people[0].Run({"fetch"}, spaces[0]);
  ASSERT_EQ(f.exit_code, 0) << f.err;
  std::string theirs = people[other].Json({"snaps", "-n", "1"}, spaces[other])[0].value("id", "");
  fs::path out = people[0].home->path() / "theirs";
  RunResult r = people[0].Run({"restore", theirs, "--to", out.string()}, spaces[0]);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DescribeTree(out), DescribeTree(spaces[other]));

  Person admin = AdminAt(url);
  RunResult verify = admin.Run({"audit", "--verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("audit log OK"), std::string::npos) << verify.out;
  ExpectDataDirClean("after 16 clients");
}

// A node holds at most db_connections database connections, and none while
// a request body streams in: uploads that stall half way (a pack, a single
// PUT) leave the node answering everyone else at once, within a client
// timeout far below the 30 s a request waits for a connection.
TEST_F(TwoNodesTest, StalledUploadsHoldNoDatabaseConnection) {
  constexpr int kConnections = 2;
  StartBoth({}, json{{"db_connections", kConnections}});
  MakeRepo(a_->port(), "proj");
  std::string token = Api(a_->port(), admin_token_).CreateUser("alice");
  MakePublisher(a_->port(), "proj", "alice");

  std::string half = PseudoRandomBytes(1 << 20, 5);
  TestObject blob = Blob(half + half);
  std::string head =
      "Host: x\r\nConnection: close\r\nAuthorization: Bearer " + token + "\r\nContent-Length: ";
  std::string pack = PackOf({blob});
  std::vector<std::unique_ptr<RawConnection>> stalled;
  for (int i = 0; i < kConnections; i++) {
    auto c = std::make_unique<RawConnection>(a_->port());
    bool as_pack = i % 2 == 0;
    std::string request = as_pack ? "POST /v1/repos/proj/objects/pack HTTP/1.1\r\nContent-Type: " +
                                        std::string(kPackContentType) + "\r\n" + head +
                                        std::to_string(pack.size()) + "\r\n\r\n" +
                                        pack.substr(0, pack.size() / 2)
                                  : "PUT " + blob.Path("proj") + " HTTP/1.1\r\n" + head +
                                        std::to_string(blob.bytes.size()) + "\r\n\r\n" + half;
    ASSERT_TRUE(c->Send(request));
    stalled.push_back(std::move(c));
  }
  // Readiness: the node has read both halves off their sockets (an object
  // in flight is held in memory below the store's budget, so no temp file
  // shows it).
  for (auto until = Clock::now() + std::chrono::seconds(60);
       Clock::now() < until && UnreadBytesTo(a_->port()) > 0;
       std::this_thread::sleep_for(std::chrono::milliseconds(5))) {
  }
  ASSERT_EQ(UnreadBytesTo(a_->port()), 0u) << "the node does not read the stalled uploads";

  httplib::Client cli("127.0.0.1", a_->port());
  cli.set_read_timeout(10, 0);
  cli.set_bearer_token_auth(token.c_str());
  auto whoami = cli.Get("/v1/whoami");
  ASSERT_TRUE(whoami) << "no answer within 10 s: " << httplib::to_string(whoami.error());
  EXPECT_EQ(whoami->status, 200) << whoami->body;
  TestTree tree = MakeTree("while others stall");
  auto put = cli.Post("/v1/repos/proj/objects/pack", PackOf(tree.objects), kPackContentType);
  ASSERT_TRUE(put) << httplib::to_string(put.error());
  EXPECT_EQ(put->status, 200) << put->body;

  // And the stalled ones finish when their bodies come.
  for (size_t i = 0; i < stalled.size(); i++) {
    ASSERT_TRUE(stalled[i]->Send(i % 2 == 0 ? pack.substr(pack.size() / 2) : half));
    std::string answer = stalled[i]->ReadAll();
    EXPECT_TRUE(answer.rfind("HTTP/1.1 200", 0) == 0 || answer.rfind("HTTP/1.1 201", 0) == 0)
        << answer.substr(0, 300);
  }
}

}  // namespace
}  // namespace converge::testing
