// Issue 11 item 1, end to end through the built binary: a published tree
// holding proj/cfg/config.json (a remote on the publisher's own server) and a
// symlink proj/.converge -> cfg must not turn a reader's restored copy into a
// workspace that sends the reader's token to that server. Each layer is held
// on its own: capture leaves every .converge out; fetch and restore refuse a
// tree holding one (from a hostile server, or any store); workspace discovery
// refuses a .converge that is a symlink, not a directory, or someone else's;
// and a token is sent only to the server it is for. (The server's refusal of
// such a manifest is in contract/objects_test.cpp.)
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "store/objects.h"
#include "support/fake_server.h"
#include "support/team.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

// The publisher's workspace config: a remote on a server of their choosing.
std::string PlantedConfig(const std::string& url) {
  json remote = {{"url", url},
                 {"repo", FakeServer::kRepo},
                 {"scope", "main"},
                 {"gate", "dev-intake"},
                 {"lane", ""}};
  return json({{"version", 1}, {"workspace_id", "planted"}, {"remote", remote}}).dump(2) + "\n";
}

// ROOT/proj/cfg/config.json naming `url`, and the symlink ROOT/proj/.converge -> cfg.
void PlantOnDisk(const fs::path& root, const std::string& url) {
  WriteFile(root / "proj/cfg/config.json", PlantedConfig(url));
  fs::create_symlink("cfg", root / "proj/.converge");
}

bool ExistsNoFollow(const fs::path& p) {
  return fs::exists(fs::symlink_status(p));
}

// Every file under `dir` (symlinks not followed), relative to it.
std::vector<std::string> PathsUnder(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it)
    out.push_back(it->path().lexically_relative(dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

// Whether any request `server` received carried `token`.
bool Received(const FakeServer& server, const std::string& token) {
  for (const FakeServer::Seen& r : server.requests())
    if (r.authorization.find(token) != std::string::npos) return true;
  return false;
}

// What `server` was sent, for a failure message (a token's first characters only).
std::string Authorizations(const FakeServer& server) {
  std::string out;
  for (const FakeServer::Seen& r : server.requests())
    out += r.method + " " + r.path + " [" + r.authorization.substr(0, 16) + "...]\n";
  return out;
}

class PlantedWorkspaceTest : public TeamTest {
 protected:
  void SetUp() override {
    StartTeam();
    mallory_ = NewUser("mallory");
    bob_ = NewUser("bob");
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"repo", "create", "web"},
             {"repo", "grant", "web", "mallory", "--role", "publish"},
             {"lane", "add", "default", "mallory", "--repo", "web"},
             {"repo", "grant", "web", "bob", "--role", "read"}}) {
      RunResult r = admin_.Run(args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }

  fs::path NewWorkspace(const Person& p, const std::string& name, const std::string& url) {
    fs::path ws = p.home->path() / name;
    EXPECT_EQ(p.Run({"init", ws.string()}).exit_code, 0);
    EXPECT_EQ(p.Run({"remote", "set", "--url", url, "--repo", "web"}, ws).exit_code, 0);
    return ws;
  }

  // Bob as a CI job runs him: his token in CONVERGE_TOKEN, for CONVERGE_URL.
  RunResult BobWithEnvToken(const std::vector<std::string>& args, const fs::path& cwd,
                            const std::string& token_url) {
    RunOptions o = bob_.Env(cwd);
    o.env["CONVERGE_TOKEN"] = bob_.token;
    o.env["CONVERGE_URL"] = token_url;
    return Converge(args, o);
  }

  Person mallory_, bob_;
  FakeServer attacker_;  // the publisher's own server: it records what it is sent
};

// The attack as the issue tells it, against a real server: capture leaves
// the symlink out, so the reader's copy holds no .converge and a command run
// in it talks to no one but the reader's own server.
TEST_F(PlantedWorkspaceTest, APublishedTreeCannotPlantAWorkspace) {
  fs::path mws = NewWorkspace(mallory_, "ws", url_);
  WriteFile(mws / "README", "nothing to see\n");
  PlantOnDisk(mws, attacker_.url());
  RunResult snap = mallory_.Run({"snap", "-m", "planted"}, mws);
  ASSERT_EQ(snap.exit_code, 0) << snap.err;
  EXPECT_NE(snap.err.find("warning: skipped 'proj/.converge'"), std::string::npos) << snap.err;
  RunResult pub = mallory_.Run({"publish", "--json"}, mws);
  ASSERT_EQ(pub.exit_code, 0) << pub.err;

  fs::path bws = NewWorkspace(bob_, "ws", url_);
  RunResult fetch = BobWithEnvToken({"fetch"}, bws, url_);
  ASSERT_EQ(fetch.exit_code, 0) << fetch.err;
  json pubs = bob_.Json({"publications"}, bws);
  ASSERT_FALSE(pubs.empty()) << pubs;
  std::string pub_id = pubs[0].value("id", "");
  fs::path copy = bob_.home->path() / "copy";
  RunResult restore = bob_.Run({"restore", pub_id, "--to", copy.string()}, bws);
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_TRUE(fs::exists(copy / "proj/cfg/config.json"));
  EXPECT_FALSE(ExistsNoFollow(copy / "proj/.converge"));

  // In the copy, with the token in the environment as CI has it.
  RunResult planted = BobWithEnvToken({"fetch"}, copy / "proj", url_);
  ExpectError(planted, "not a converge workspace");
  EXPECT_TRUE(attacker_.requests().empty()) << Authorizations(attacker_);
}

// A server that holds such a tree anyway (a hostile one, or one from before
// the rule) cannot deliver it: fetch and restore refuse it, so no copy exists
// to run a command in, and the token never reaches the publisher's server.
TEST_F(PlantedWorkspaceTest, AServedTreeHoldingDotConvergeIsRefused) {
  FakeServer hostile;
  std::string config = PlantedConfig(attacker_.url());
  Entry file;
  file.name = "config.json";
  file.id = hostile.Put(ObjectKind::kBlob, config);
  file.size = config.size();
  Entry cfg;
  cfg.name = "cfg";
  cfg.type = EntryType::kDir;
  cfg.id = hostile.Put(ObjectKind::kManifest, EncodeManifest(Manifest{{file}}));
  Entry link;
  link.name = ".converge";
  link.type = EntryType::kSymlink;
  link.target = "cfg";
  Entry proj;
  proj.name = "proj";
  proj.type = EntryType::kDir;
  proj.id = hostile.Put(ObjectKind::kManifest, EncodeManifest(Manifest{{link, cfg}}));
  Snap s;
  s.root = hostile.Put(ObjectKind::kManifest, EncodeManifest(Manifest{{proj}}));
  s.created_at = "2026-01-02T03:04:05Z";
  s.message = "planted";
  s.workspace_id = "planted";
  ObjectId snap = hostile.Put(ObjectKind::kSnap, EncodeSnap(s));
  hostile.Publish(snap, "planted");

  fs::path bws = NewWorkspace(bob_, "ws", hostile.url());
  RunOptions o = bob_.Env(bws);
  o.env["CONVERGE_TOKEN"] = "bob-secret-for-the-hostile-server";
  o.env["CONVERGE_URL"] = hostile.url();
  ExpectError(Converge({"fetch"}, o), "reserved");
  fs::path copy = bob_.home->path() / "copy";
  RunResult restore = Converge({"restore", snap.hex(), "--to", copy.string()}, o);
  EXPECT_EQ(restore.exit_code, 1) << restore.err;
  EXPECT_FALSE(ExistsNoFollow(copy));
  // Had a copy been made, a command in it must still not leak the token.
  if (fs::is_directory(copy / "proj")) {
    RunOptions in = o;
    in.cwd = copy / "proj";
    (void)Converge({"fetch"}, in);
  }
  EXPECT_FALSE(Received(attacker_, "bob-secret")) << Authorizations(attacker_);
}

// A .converge left on disk some other way (an older converge, a tarball, a
// git checkout) is never used: not followed as a symlink, not written
// through, and not skipped in favour of a parent either.
TEST_F(PlantedWorkspaceTest, DiscoveryRefusesAPlantedDotConverge) {
  fs::path top = bob_.home->path() / "copy";
  PlantOnDisk(top, attacker_.url());
  fs::path proj = top / "proj";
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"snap"}, {"fetch"}, {"status"}, {"remote", "show"}, {"publish"}}) {
    SCOPED_TRACE(args[0]);
    ExpectError(bob_.Run(args, proj),
                "'" + (proj / ".converge").string() + "' as a workspace: it is a symlink");
    ExpectError(BobWithEnvToken(args, proj, url_), "it is a symlink");
  }
  // `init` there does not write through the symlink either.
  ExpectError(bob_.Run({"init"}, proj), "it is a symlink");
  EXPECT_EQ(PathsUnder(top / "proj/cfg"), std::vector<std::string>{"config.json"});
  EXPECT_TRUE(attacker_.requests().empty()) << Authorizations(attacker_);

  // A symlink to an empty directory: init still refuses, and writes nothing there.
  fs::path other = bob_.home->path() / "other";
  fs::create_directories(other / "elsewhere");
  fs::create_symlink("elsewhere", other / ".converge");
  ExpectError(bob_.Run({"init", other.string()}), "it is a symlink");
  EXPECT_TRUE(fs::is_empty(other / "elsewhere"));

  // A file named .converge, and a real .converge whose config.json is a symlink.
  fs::path file_ws = bob_.home->path() / "file";
  WriteFile(file_ws / ".converge", PlantedConfig(attacker_.url()));
  ExpectError(bob_.Run({"status"}, file_ws), "it is not a directory");
  fs::path linked = bob_.home->path() / "linked";
  fs::create_directories(linked / ".converge");
  fs::create_symlink((top / "proj/cfg/config.json").string(), linked / ".converge/config.json");
  ExpectError(bob_.Run({"status"}, linked), "config.json' as a workspace: it is a symlink");
  EXPECT_TRUE(attacker_.requests().empty()) << Authorizations(attacker_);
}

// A real workspace someone else owns (a shared directory, a copy unpacked as
// root) is not used either. Needs root to give the files away.
TEST_F(PlantedWorkspaceTest, DiscoveryRefusesSomeoneElsesWorkspace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown a workspace to another user";
  fs::path ws = bob_.home->path() / "theirs";
  ASSERT_EQ(bob_.Run({"init", ws.string()}).exit_code, 0);
  ASSERT_EQ(bob_.Run({"status"}, ws).exit_code, 0);
  ASSERT_EQ(::chown((ws / ".converge").c_str(), 65534, 65534), 0);
  ExpectError(bob_.Run({"status"}, ws), "it belongs to uid 65534, not to you (uid 0)");
  ASSERT_EQ(::chown((ws / ".converge").c_str(), 0, 0), 0);
  ASSERT_EQ(::chown((ws / ".converge/config.json").c_str(), 65534, 65534), 0);
  ExpectError(bob_.Run({"status"}, ws), "config.json' as a workspace: it belongs to uid 65534");
}

// The token a command sends is chosen by the server it talks to, never the
// other way round: a workspace whose remote names another server gets no
// token meant for the reader's own, from the credentials file or from
// CONVERGE_TOKEN (which is for CONVERGE_URL only).
TEST_F(PlantedWorkspaceTest, ATokenGoesOnlyToTheServerItIsFor) {
  fs::path ws = NewWorkspace(bob_, "ws", attacker_.url());
  // The stored login is for url_ only.
  ExpectError(bob_.Run({"fetch"}, ws), "not logged in to " + attacker_.url());
  // CONVERGE_TOKEN is for CONVERGE_URL's server only.
  RunResult env = BobWithEnvToken({"fetch"}, ws, url_);
  ExpectError(env, "CONVERGE_TOKEN is only ever sent to CONVERGE_URL, " + url_);
  ExpectError(BobWithEnvToken({"whoami", "--url", attacker_.url()}, bob_.home->path(), url_),
              "not logged in to " + attacker_.url());
  // ... and without CONVERGE_URL it is not sent anywhere.
  RunOptions bare = bob_.Env(ws);
  bare.env["CONVERGE_TOKEN"] = bob_.token;
  ExpectError(Converge({"fetch"}, bare), "CONVERGE_TOKEN is set but CONVERGE_URL is not");
  ExpectError(Converge({"whoami", "--url", url_}, bare), "CONVERGE_URL is not");
  EXPECT_TRUE(attacker_.requests().empty()) << Authorizations(attacker_);
  EXPECT_FALSE(Received(attacker_, bob_.token));

  // CONVERGE_URL is compared in canonical form (scheme and host case, default
  // port, trailing slash), and names the server outside a workspace.
  std::string shouted = "HTTP://127.0.0.1:" + std::to_string(server_->port()) + "/";
  RunResult who = BobWithEnvToken({"whoami", "--json"}, admin_.home->path(), shouted);
  ASSERT_EQ(who.exit_code, 0) << who.err;
  EXPECT_EQ(json::parse(who.out)["user"]["handle"], "bob") << who.out;
  RunOptions to_fake = bob_.Env(ws);
  to_fake.env["CONVERGE_TOKEN"] = "a-token-for-the-fake";
  to_fake.env["CONVERGE_URL"] = attacker_.url() + "/";
  RunResult fetched = Converge({"fetch"}, to_fake);
  EXPECT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_TRUE(Received(attacker_, "Bearer a-token-for-the-fake")) << Authorizations(attacker_);
  EXPECT_FALSE(Received(attacker_, bob_.token));
}

}  // namespace
}  // namespace converge::testing
