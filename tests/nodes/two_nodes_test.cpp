// Two `converge serve` nodes acting as one authority (docs/server.md,
// "Running several nodes"): one PostgreSQL database (a fresh schema of the
// test cluster, CONVERGE_TEST_PG) and one data dir, driven through the built
// binary as people use it, straight to each node or through a real nginx
// that round-robins over both. Started at once on an empty database they make
// one admin; what one node acknowledges or revokes holds on the other at the
// next request; 16 clients spread over both publish and fetch with zero
// errors; a node SIGKILLed mid-publish loses nothing and the retry succeeds.
// Skipped, saying so, without CONVERGE_TEST_PG (scripts/test.sh sets it).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "support/nginx.h"
#include "support/nodes.h"
#include "support/objects.h"
#include "support/people.h"
#include "support/server.h"
#include "support/server_db.h"
#include "support/tree_helpers.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;
using Tree = std::map<std::string, std::string>;
using Clock = std::chrono::steady_clock;

// Where a node finds its database: the three ways an operator can say it.
enum class DbFrom { kFlag, kEnv, kConfigFile };

size_t CountIn(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) n++;
  return n;
}

// Bytes in the regular files directly under `dir`, counted without throwing
// while they come and go.
uint64_t BytesIn(const fs::path& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::error_code fec;
    uint64_t size = it->file_size(fec);
    if (!fec) n += size;
  }
  return n;
}

size_t FilesUnder(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code fec;
    if (it->is_regular_file(fec)) n++;
  }
  return n;
}

// A field of the publication in `converge publish --json`'s answer ("" when
// there is none).
std::string PublicationField(const json& answer, const char* key) {
  if (!answer.is_object() || !answer.contains("publication") || !answer["publication"].is_object())
    return "";
  return answer["publication"].value(key, "");
}

// "ed25519:..." from a node's start-up line.
std::string AuditKeyOf(const std::string& log) {
  std::smatch m;
  static const std::regex re("audit log signed with key (ed25519:[0-9a-f]+)");
  return std::regex_search(log, m, re) ? m[1].str() : "";
}

// The IDs `publications` lists through `port`, all pages.
std::set<std::string> ListedPublications(int port, const std::string& token,
                                         const std::string& repo) {
  std::set<std::string> ids;
  Api api(port, token);
  std::string next;
  for (int page = 0; page < 100; page++) {
    Reply r = api.Get("/v1/repos/" + repo + "/publications?limit=1000" +
                      (next.empty() ? "" : "&before=" + next));
    EXPECT_EQ(r.status, 200) << r.body;
    const json& j = r.json();
    if (!j.is_object() || !j["publications"].is_array()) break;
    for (const json& p : j["publications"]) ids.insert(p.value("id", ""));
    if (!j["next"].is_string()) break;
    next = j["next"].get<std::string>();
  }
  return ids;
}

class TwoNodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (TestPgUrl().empty()) GTEST_SKIP() << kNoTestPg;
    Result<std::unique_ptr<PgTestSchema>> schema = PgTestSchema::Make();
    ASSERT_TRUE(schema.ok()) << schema.status().message();
    schema_ = std::move(*schema);
    data_ = dir_ / "data";
  }

  // A node of the shared data dir and database, told where the database is
  // in the way `from` says. Not started.
  std::unique_ptr<ServerNode> NewNode(const std::string& name, DbFrom from,
                                      std::vector<std::string> args = {}) {
    NodeOptions o;
    o.data_dir = data_;
    o.log = dir_ / (name + ".log");
    o.args = std::move(args);
    if (from == DbFrom::kFlag) {
      o.args.push_back("--db");
      o.args.push_back(schema_->url());
    } else if (from == DbFrom::kEnv) {
      o.env["CONVERGE_DB"] = schema_->url();
    }
    return std::make_unique<ServerNode>(std::move(o));
  }

  // Starts node A (--db) and node B (CONVERGE_DB) at once on the empty
  // database, or both from DATA/server.json's "db" when `config` is given
  // (written there first, with "db" added).
  void StartBoth(std::vector<std::string> args = {}, json config = nullptr) {
    DbFrom a_from = DbFrom::kFlag, b_from = DbFrom::kEnv;
    if (!config.is_null()) {
      config["db"] = schema_->url();
      WriteFile(data_ / "server.json", config.dump());
      a_from = b_from = DbFrom::kConfigFile;
    }
    a_ = NewNode("a", a_from, args);
    b_ = NewNode("b", b_from, args);
    a_->Launch();
    b_->Launch();
    a_->WaitHealthy();
    b_->WaitHealthy();
    admin_token_ = ReadFileOrDie(data_ / "initial-admin-token");
    while (!admin_token_.empty() && admin_token_.back() == '\n') admin_token_.pop_back();
  }

  // The admin, logged in to `url`, at a home of their own.
  Person AdminAt(const std::string& url) {
    Person p = MakePerson("admin", admin_token_, url);
    p.Login();
    return p;
  }

  // A user the admin makes through `url`, logged in there.
  Person UserAt(const std::string& url, const std::string& handle) {
    Person p = MakePerson(handle, Api(PortOf(url), admin_token_).CreateUser(handle), url);
    p.Login();
    return p;
  }

  static int PortOf(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

  // A publisher of repo `repo` in its lane default (set up through `port`).
  void MakePublisher(int port, const std::string& repo, const std::string& handle) {
    Api api(port, admin_token_);
    Reply role = api.Put("/v1/repos/" + repo + "/members/" + handle, {{"role", "publish"}});
    ASSERT_EQ(role.status, 200) << role.body;
    Reply lane = api.Put("/v1/repos/" + repo + "/lanes/default/members/" + handle, json::object());
    ASSERT_EQ(lane.status, 200) << lane.body;
  }

  void MakeRepo(int port, const std::string& name) {
    Reply r = Api(port, admin_token_).Post("/v1/repos", {{"name", name}});
    ASSERT_EQ(r.status, 201) << r.body;
  }

  fs::path NewWorkspace(const Person& p, const std::string& name, const std::string& url,
                        const std::string& repo) {
    fs::path ws = p.home->path() / name;
    EXPECT_EQ(p.Run({"init", ws.string()}).exit_code, 0);
    RunResult r = p.Run({"remote", "set", "--url", url, "--repo", repo}, ws);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ws;
  }

  // `serve --fsck` and `serve --verify-audit` of the shared data dir and
  // database: both clean. `when` names the moment for failures.
  void ExpectDataDirClean(const std::string& when) {
    RunResult fsck = Converge(
        {"serve", "--fsck", "--data-dir", data_.string(), "--db", schema_->url(), "--json"});
    EXPECT_EQ(fsck.exit_code, 0) << when << ": " << fsck.out << fsck.err;
    json j = json::parse(fsck.out, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.value("ok", false)) << when << ": " << fsck.out;
    EXPECT_EQ(j.value("objects_checked", size_t{0}), FilesUnder(data_ / "objects"))
        << when << ": " << fsck.out;
    RunResult verify =
        Converge({"serve", "--verify-audit", "--data-dir", data_.string(), "--db", schema_->url()});
    EXPECT_EQ(verify.exit_code, 0) << when << ": " << verify.out << verify.err;
    EXPECT_NE(verify.out.find("audit log OK"), std::string::npos) << verify.out << verify.err;
  }

  TempDir dir_;
  std::unique_ptr<PgTestSchema> schema_;  // dropped after the nodes are gone
  fs::path data_;
  std::unique_ptr<ServerNode> a_, b_;
  std::string admin_token_;
};

// Subdirectories, an executable, a symlink, an empty file and directory, and
// a 3 MB file (a chunk list).
void BuildTree(const fs::path& root) {
  WriteFile(root / "README", "hello, two nodes\n");
  WriteFile(root / "build.sh", "#!/bin/sh\necho built\n", /*executable=*/true);
  WriteFile(root / "src/main.c", "int main() { return 0; }\n");
  WriteFile(root / "src/lib/empty", "");
  fs::create_directories(root / "empty-dir");
  fs::create_symlink("README", root / "link");
  WriteFile(root / "blob.bin", PseudoRandomBytes(3 << 20, 11));
}

TEST_F(TwoNodesTest, StartedAtOnceOnAnEmptyDatabaseTheyMakeOneAdmin) {
  StartBoth();
  std::string logs = a_->Log() + b_->Log();
  EXPECT_EQ(CountIn(logs, "initial admin token written"), 1u) << logs;
  EXPECT_EQ(CountIn(logs, "metadata in PostgreSQL"), 2u) << logs;

  Api via_a(a_->port(), admin_token_), via_b(b_->port(), admin_token_);
  Reply users = via_b.Get("/v1/users");
  ASSERT_EQ(users.status, 200) << users.body;
  ASSERT_EQ(users.json().size(), 1u) << users.body;
  EXPECT_EQ(users.json()[0]["handle"], "admin");
  Reply tokens = via_a.Get("/v1/tokens");
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_EQ(tokens.json().size(), 1u) << tokens.body;

  Reply audit = via_a.Get("/v1/audit");
  ASSERT_EQ(audit.status, 200) << audit.body;
  std::string rows = audit.json()["entries"].dump();
  EXPECT_EQ(CountIn(rows, "\"user.create\""), 1u) << rows;
  EXPECT_EQ(CountIn(rows, "\"token.create\""), 1u) << rows;

  // One signing key, whichever node made it, and no half-made one left.
  std::string key_a = AuditKeyOf(a_->Log()), key_b = AuditKeyOf(b_->Log());
  EXPECT_FALSE(key_a.empty()) << a_->Log();
  EXPECT_EQ(key_a, key_b);
  for (const auto& e : fs::directory_iterator(data_))
    EXPECT_EQ(e.path().filename().string().find(".new-"), std::string::npos) << e.path();
  ExpectDataDirClean("after both first starts");

  // Restarts make no second admin.
  a_->Stop();
  b_->Stop();
  fs::remove(data_ / "initial-admin-token");
  a_->Launch();
  b_->Launch();
  a_->WaitHealthy();
  b_->WaitHealthy();
  EXPECT_FALSE(fs::exists(data_ / "initial-admin-token"));
  Reply again = Api(b_->port(), admin_token_).Get("/v1/users");
  EXPECT_EQ(again.json().size(), 1u) << again.body;
}

TEST_F(TwoNodesTest, AlicePublishesThroughANodeAndBobRestoresThroughTheOther) {
  StartBoth();
  MakeRepo(a_->port(), "web");
  Person alice = UserAt(a_->url(), "alice");
  Person bob = UserAt(b_->url(), "bob");
  MakePublisher(b_->port(), "web", "alice");
  Reply read = Api(a_->port(), admin_token_).Put("/v1/repos/web/members/bob", {{"role", "read"}});
  ASSERT_EQ(read.status, 200) << read.body;

  fs::path alice_ws = NewWorkspace(alice, "ws", a_->url(), "web");
  BuildTree(alice_ws);
  ASSERT_EQ(alice.Run({"snap", "-m", "first"}, alice_ws).exit_code, 0);
  json pub = alice.Json({"publish", "-m", "through A"}, alice_ws);
  std::string id = PublicationField(pub, "id");
  ASSERT_FALSE(id.empty()) << pub;

  fs::path bob_ws = NewWorkspace(bob, "ws", b_->url(), "web");
  json fetched = bob.Json({"fetch"}, bob_ws);
  ASSERT_EQ(fetched["publications"].size(), 1u) << fetched;
  EXPECT_EQ(fetched["publications"][0]["id"], id);
  fs::path out = bob.home->path() / "restored";
  RunResult r = bob.Run({"restore", id.substr(0, 8), "--to", out.string()}, bob_ws);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DescribeTree(out), DescribeTree(alice_ws));

  // Each publication A acknowledges is there through B at once: the record,
  // its snap and the files it names.
  Api bob_at_b(b_->port(), bob.token);
  for (int round = 0; round < 4; round++) {
    WriteFile(alice_ws / "src/main.c", "int main() { return " + std::to_string(round) + "; }\n");
    WriteFile(alice_ws / ("new-" + std::to_string(round)), PseudoRandomBytes(70000, round));
    std::string snap = alice.Json({"snap"}, alice_ws).value("id", "");
    json p = alice.Json({"publish"}, alice_ws);
    std::string pid = PublicationField(p, "id");
    Reply got = bob_at_b.Get("/v1/repos/web/publications/" + pid);
    EXPECT_EQ(got.status, 200) << "round " << round << ": " << got.body;
    EXPECT_EQ(got.json().value("snap", ""), snap);
    EXPECT_EQ(bob_at_b.Get("/v1/repos/web/snaps/" + snap).status, 200) << round;
  }
  ASSERT_EQ(bob.Run({"fetch"}, bob_ws).exit_code, 0);
  std::string newest = alice.Json({"snaps", "-n", "1"}, alice_ws)[0].value("id", "");
  fs::path out2 = bob.home->path() / "restored2";
  r = bob.Run({"restore", newest, "--to", out2.string()}, bob_ws);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DescribeTree(out2), DescribeTree(alice_ws));
  ExpectDataDirClean("after the publications");
}

TEST_F(TwoNodesTest, ATokenRevokedThroughOneNodeIsRefusedByTheOtherAtTheNextRequest) {
  StartBoth();
  Person admin_a = AdminAt(a_->url()), admin_b = AdminAt(b_->url());
  Api(a_->port(), admin_token_).CreateUser("bob");
  json made = admin_a.Json({"token", "create", "--user", "bob", "--label", "second"});
  std::string id = made.value("id", ""), secret = made.value("token", "");
  ASSERT_FALSE(secret.empty()) << made;

  Api bob_at_a(a_->port(), secret), bob_at_b(b_->port(), secret);
  EXPECT_EQ(bob_at_b.Get("/v1/whoami").status, 200);
  EXPECT_EQ(bob_at_a.Get("/v1/whoami").status, 200);
  ASSERT_EQ(admin_a.Run({"token", "revoke", id}).exit_code, 0);
  EXPECT_EQ(bob_at_b.Get("/v1/whoami").status, 401);
  EXPECT_EQ(bob_at_a.Get("/v1/whoami").status, 401);

  // The other way round, and for a web session: signed in with the form one
  // node served, posted to the other, the session cookie works on both; the
  // token revoked through B ends it on A at the next page.
  json third = admin_b.Json({"token", "create", "--user", "bob", "--label", "web"});
  httplib::Client web_a("127.0.0.1", a_->port()), web_b("127.0.0.1", b_->port());
  auto form = web_a.Get("/signin");
  ASSERT_TRUE(form && form->status == 200);
  std::smatch m;
  static const std::regex csrf_re("name=\"csrf\" value=\"([0-9a-f]+)\"");
  ASSERT_TRUE(std::regex_search(form->body, m, csrf_re)) << form->body;
  std::string csrf = m[1].str();
  std::string signin_cookie = form->get_header_value("Set-Cookie");
  signin_cookie = signin_cookie.substr(0, signin_cookie.find(';'));
  auto in = web_b.Post("/signin", {{"Cookie", signin_cookie}},
                       httplib::Params{{"token", third.value("token", "")}, {"csrf", csrf}});
  ASSERT_TRUE(in) << httplib::to_string(in.error());
  ASSERT_EQ(in->status, 303) << in->body;
  std::string session;
  auto cookies = in->headers.equal_range("Set-Cookie");
  for (auto it = cookies.first; it != cookies.second; ++it)
    if (it->second.rfind("converge_session=", 0) == 0)
      session = it->second.substr(0, it->second.find(';'));
  ASSERT_FALSE(session.empty());
  auto page_a = web_a.Get("/", {{"Cookie", session}});
  ASSERT_TRUE(page_a);
  EXPECT_EQ(page_a->status, 200);
  ASSERT_EQ(admin_b.Run({"token", "revoke", third.value("id", "")}).exit_code, 0);
  auto after = web_a.Get("/", {{"Cookie", session}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 303);
  EXPECT_EQ(after->get_header_value("Location"), "/signin");
  EXPECT_EQ(Api(a_->port(), third.value("token", "")).Get("/v1/whoami").status, 401);
  ExpectDataDirClean("after the revocations");
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
  // Readiness: both are being received (a temp file each in tmp/).
  for (auto until = Clock::now() + std::chrono::seconds(60);
       Clock::now() < until && FilesUnder(data_ / "tmp") < size_t{kConnections};
       std::this_thread::sleep_for(std::chrono::milliseconds(5))) {
  }
  ASSERT_EQ(FilesUnder(data_ / "tmp"), size_t{kConnections});

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

// Node A is SIGKILLed while a large publish through it is in flight (the
// pack's objects in the shared tmp/), while bob keeps publishing and fetching
// through node B. A restarts on the same data dir and database, the
// interrupted publish run again succeeds, and nothing acknowledged is lost.
TEST_F(TwoNodesTest, ANodeKilledMidPublishLosesNothingWhileTheOtherServes) {
  StartBoth();
  MakeRepo(a_->port(), "proj");
  Person alice = UserAt(a_->url(), "alice");
  Person bob = UserAt(b_->url(), "bob");
  MakePublisher(a_->port(), "proj", "alice");
  MakePublisher(b_->port(), "proj", "bob");
  fs::path alice_ws = NewWorkspace(alice, "ws", a_->url(), "proj");
  for (int k = 0; k < 8; k++)
    WriteFile(alice_ws / "big" / ("part" + std::to_string(k) + ".bin"),
              PseudoRandomBytes(3 << 20, 100 + k));
  WriteFile(alice_ws / "small.txt", "small\n");
  ASSERT_EQ(alice.Run({"snap", "-m", "large"}, alice_ws).exit_code, 0);
  fs::path bob_ws = NewWorkspace(bob, "ws", b_->url(), "proj");

  // Bob, through B only, the whole time: small rounds (under 1 MiB in all).
  std::atomic<bool> a_down{false}, stop{false};
  std::atomic<int> rounds_while_down{0};
  std::mutex mu;
  std::vector<std::string> errors;
  std::set<std::string> acked;
  std::thread bob_loop([&] {
    for (int round = 0; !stop; round++) {
      bool down_at_start = a_down;
      WriteFile(bob_ws / "note.txt", "round " + std::to_string(round) + "\n");
      WriteFile(bob_ws / "data" / ("r" + std::to_string(round)),
                PseudoRandomBytes(8000, static_cast<uint32_t>(round)));
      std::string what = "snap";
      RunResult r = bob.Run({"snap"}, bob_ws);
      std::string id;
      if (r.exit_code == 0) {
        what = "publish";
        r = bob.Run({"publish", "--json"}, bob_ws);
        json j = json::parse(r.out, nullptr, false);
        id = PublicationField(j, "id");
      }
      if (r.exit_code == 0) {
        what = "fetch";
        r = bob.Run({"fetch"}, bob_ws);
      }
      std::lock_guard<std::mutex> lock(mu);
      if (!id.empty()) acked.insert(id);
      if (r.exit_code != 0) {
        errors.push_back("bob, round " + std::to_string(round) + ": " + what + ": " + r.err);
        if (errors.size() > 5) return;
      } else if (down_at_start && a_down) {
        rounds_while_down++;
      }
    }
  });

  std::atomic<bool> alice_done{false};
  RunResult first;
  std::thread alice_publish([&] {
    first = alice.Run({"publish", "--json"}, alice_ws);
    alice_done = true;
  });
  // SIGKILL A once its upload is under way: over 1 MiB of the pack in tmp/.
  bool in_flight = false;
  for (auto until = Clock::now() + std::chrono::seconds(60); Clock::now() < until && !alice_done;
       std::this_thread::sleep_for(std::chrono::microseconds(200))) {
    if (BytesIn(data_ / "tmp") >= (1u << 20)) {
      in_flight = true;
      break;
    }
  }
  a_->Kill();
  a_down = true;
  alice_publish.join();
  EXPECT_TRUE(in_flight) << "the publish ended before its upload was seen under way: " << first.out
                         << first.err;
  if (first.exit_code == 0) {  // acknowledged before the kill after all: it must stay
    json j = json::parse(first.out, nullptr, false);
    std::lock_guard<std::mutex> lock(mu);
    acked.insert(PublicationField(j, "id"));
  } else {
    EXPECT_EQ(first.exit_code, 1) << first.err;
  }

  // B serves whole rounds while A is down.
  for (auto until = Clock::now() + std::chrono::seconds(60);
       Clock::now() < until && rounds_while_down < 1;
       std::this_thread::sleep_for(std::chrono::milliseconds(5))) {
  }
  EXPECT_GE(rounds_while_down.load(), 1) << ::testing::PrintToString(errors);

  a_->Start();  // the same port, data dir and database
  a_down = false;
  json again = alice.Json({"publish"}, alice_ws);
  stop = true;
  bob_loop.join();
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors) << b_->Log();
  std::string alice_id = PublicationField(again, "id");
  ASSERT_FALSE(alice_id.empty()) << again;
  if (first.exit_code != 0) {
    EXPECT_GT(again.value("objects_uploaded", 0), 0) << again;
  }
  acked.insert(alice_id);

  // Every acknowledged publication, through either node.
  std::set<std::string> via_a = ListedPublications(a_->port(), admin_token_, "proj");
  std::set<std::string> via_b = ListedPublications(b_->port(), admin_token_, "proj");
  for (const std::string& id : acked) {
    EXPECT_EQ(via_a.count(id), 1u) << id;
    EXPECT_EQ(via_b.count(id), 1u) << id;
  }
  EXPECT_EQ(via_a, via_b);
  // Alice's work, byte for byte, through B.
  ASSERT_EQ(bob.Run({"fetch"}, bob_ws).exit_code, 0);
  fs::path out = bob.home->path() / "alices";
  std::string snap = PublicationField(again, "snap");
  RunResult r = bob.Run({"restore", snap, "--to", out.string()}, bob_ws);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DescribeTree(out), DescribeTree(alice_ws));
  ExpectDataDirClean("beside the running nodes");

  // With both stopped, what the kill left in tmp/ is named as young temp
  // files, never as damage.
  EXPECT_EQ(a_->Stop(), 0);
  EXPECT_EQ(b_->Stop(), 0);
  RunResult fsck =
      Converge({"serve", "--fsck", "--data-dir", data_.string(), "--db", schema_->url(), "--json"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  json report = json::parse(fsck.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << fsck.out;
  EXPECT_TRUE(report.value("ok", false)) << fsck.out;
  for (const json& p : report["problems"]) {
    EXPECT_EQ(p.value("severity", ""), "warning") << p;
    EXPECT_EQ(p.value("subject", "").rfind((data_ / "tmp").string(), 0), 0u) << p;
    EXPECT_NE(p.value("problem", "").find("temp file"), std::string::npos) << p;
    // Not "removed at the next start": a node leaves a young temp alone.
    EXPECT_NE(p.value("problem", "").find("over an hour ago"), std::string::npos) << p;
  }
}

}  // namespace
}  // namespace converge::testing
