// The user's exit criteria end to end: alice snaps and publishes; bob, in a
// fresh workspace under another HOME, fetches and restores it byte for byte;
// the server refuses bob's publish and carol's fetch, and records provenance
// and the refusal. All through the built binary and a real `converge serve`.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include "store/tree.h"
#include "support/store_helpers.h"
#include "support/team.h"
#include "support/tree_helpers.h"
#include "workspace/publication_index.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

class ClientLoopTest : public TeamTest {
 protected:
  void SetUp() override {
    StartTeam();
    alice_ = NewUser("alice");
    bob_ = NewUser("bob");
    carol_ = NewUser("carol");
    ASSERT_NO_FATAL_FAILURE(CreateRepo("web", alice_, bob_));
    alice_ws_ = alice_.home->path() / "ws";
    BuildTree(alice_ws_);
    ASSERT_EQ(alice_.Run({"init", alice_ws_.string()}).exit_code, 0);
    ASSERT_EQ(alice_.Run({"remote", "set", "--url", url_, "--repo", "web"}, alice_ws_).exit_code,
              0);
  }

  // Subdirectories, an executable, a symlink, an empty file, an empty
  // directory and a 5 MB binary (stored as a chunk list).
  static void BuildTree(const fs::path& root) {
    WriteFile(root / "README", "hello, converge\n");
    WriteFile(root / "build.sh", "#!/bin/sh\necho built\n", /*executable=*/true);
    WriteFile(root / "src/main.c", "int main() { return 0; }\n");
    WriteFile(root / "src/lib/util.c", "int util(void) { return 1; }\n");
    WriteFile(root / "src/lib/empty", "");
    fs::create_directories(root / "empty-dir");
    fs::create_symlink("README", root / "link");
    WriteFile(root / "blob.bin", PseudoRandomBytes(5 << 20, 7));
  }

  // A fresh workspace for `p` with the remote set.
  fs::path NewWorkspace(const Person& p, const std::string& name) {
    fs::path ws = p.home->path() / name;
    EXPECT_EQ(p.Run({"init", ws.string()}).exit_code, 0);
    EXPECT_EQ(p.Run({"remote", "set", "--url", url_, "--repo", "web"}, ws).exit_code, 0);
    return ws;
  }

  std::string Snap(const std::string& message) {
    return alice_.Json({"snap", "-m", message}, alice_ws_).value("id", "");
  }

  Person alice_, bob_, carol_;
  fs::path alice_ws_;
};

TEST_F(ClientLoopTest, PublishFetchRestoreWithPermissionsAndProvenance) {
  std::string snap = Snap("first cut");
  json pub =
      alice_.Json({"publish", "--scope", "main", "--gate", "dev-intake", "-m", "ready"}, alice_ws_);
  ASSERT_TRUE(pub.contains("publication")) << pub;
  EXPECT_GT(pub["objects_uploaded"].get<int>(), 0);
  EXPECT_GT(pub["bytes_uploaded"].get<int64_t>(), 5 << 20);
  std::string pub_id = pub["publication"]["id"];
  EXPECT_EQ(pub["publication"]["snap"], snap);

  // Bob: another HOME, a fresh workspace; fetch, then restore into a new dir.
  fs::path bob_ws = NewWorkspace(bob_, "ws");
  json fetched = bob_.Json({"fetch"}, bob_ws);
  ASSERT_EQ(fetched["publications"].size(), 1u) << fetched;
  EXPECT_EQ(fetched["publications"][0]["id"], pub_id);
  EXPECT_GT(fetched["objects_fetched"].get<int>(), 0);
  EXPECT_GT(fetched["bytes_fetched"].get<int64_t>(), 5 << 20);
  fs::path restored = bob_.home->path() / "restored";
  RunResult r = bob_.Run({"restore", pub_id.substr(0, 8), "--to", restored.string()}, bob_ws);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DescribeTree(restored), DescribeTree(alice_ws_));

  // Provenance, from bob's local record of the publication.
  json pubs = bob_.Json({"publications"}, bob_ws);
  ASSERT_EQ(pubs.size(), 1u);
  const json& p = pubs[0];
  for (const char* key :
       {"id", "snap", "scope", "gate", "lane", "publisher", "created_at", "workspace_id", "note"})
    EXPECT_TRUE(p.contains(key)) << key;
  EXPECT_EQ(p["publisher"], "alice");
  EXPECT_EQ(p["scope"], "main");
  EXPECT_EQ(p["gate"], "dev-intake");
  EXPECT_EQ(p["lane"], "default");
  EXPECT_EQ(p["note"], "ready");
  std::string alice_ws_id = alice_.Json({"status"}, alice_ws_)["workspace_id"];
  EXPECT_EQ(p["workspace_id"], alice_ws_id);
  EXPECT_TRUE(std::regex_match(p["created_at"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)")))
      << p["created_at"];

  // Bob may read but not publish: refused by the server, in one clear line.
  ASSERT_EQ(bob_.Run({"snap", "-m", "bob's change"}, bob_ws).exit_code, 0);
  ExpectError(bob_.Run({"publish"}, bob_ws), "may read but not publish");

  // Carol may not even learn that the repo exists.
  fs::path carol_ws = NewWorkspace(carol_, "ws");
  ExpectError(carol_.Run({"fetch"}, carol_ws), "not found (or you have no access to it)");

  // The audit log has the publication and bob's refused attempt.
  json audit = admin_.Json({"audit", "--repo", "web"})["entries"];
  ASSERT_TRUE(audit.is_array()) << audit;
  bool published = false, refused = false;
  for (const json& e : audit) {
    if (e["action"] == "publication.create" && e["actor"] == "alice" && e["outcome"] == "ok")
      published = true;
    if (e["actor"] == "bob" && e["outcome"].get<std::string>().rfind("refused", 0) == 0)
      refused = true;
  }
  EXPECT_TRUE(published) << audit.dump(1);
  EXPECT_TRUE(refused) << audit.dump(1);
}

TEST_F(ClientLoopTest, ASecondFetchAsksOnlyForWhatChanged) {
  Snap("first");
  ASSERT_TRUE(alice_.Json({"publish"}, alice_ws_).contains("publication"));
  fs::path bob_ws = NewWorkspace(bob_, "ws");
  json first = bob_.Json({"fetch"}, bob_ws);
  int all = first.value("objects_fetched", 0);
  ASSERT_GT(all, 8) << first;

  WriteFile(alice_ws_ / "src/lib/util.c", "int util(void) { return 2; }\n");
  Snap("second");
  ASSERT_TRUE(alice_.Json({"publish"}, alice_ws_).contains("publication"));
  json second = bob_.Json({"fetch"}, bob_ws);
  // The snap, the three manifests above the file and its blob: what bob's
  // store holds already (the 5 MB binary's chunks among it) is not asked for.
  EXPECT_EQ(second.value("objects_fetched", -1), 5) << second;
}

TEST_F(ClientLoopTest, RepublishingUploadsNothingAndAnEditUploadsLittle) {
  Snap("one");
  json first = alice_.Json({"publish"}, alice_ws_);
  int total = first["objects_uploaded"];
  EXPECT_GT(first["negotiation_requests"].get<int>(), 1) << "the first publish walks the tree";
  json again = alice_.Json({"publish"}, alice_ws_);
  EXPECT_EQ(again["objects_uploaded"], 0);
  EXPECT_EQ(again["bytes_uploaded"], 0);
  EXPECT_EQ(again["negotiation_requests"], 1) << again;
  EXPECT_NE(again["publication"]["id"], first["publication"]["id"]);

  WriteFile(alice_ws_ / "src/lib/util.c", "int util(void) { return 2; }\n");
  Snap("two");
  json edit = alice_.Json({"publish"}, alice_ws_);
  // The snap, the root, src, src/lib and the changed file: nothing else, found
  // in one request by diffing against the snap published before.
  EXPECT_EQ(edit["objects_uploaded"], 5) << edit;
  EXPECT_EQ(edit["negotiation_requests"], 1) << edit;
  EXPECT_LT(edit["objects_uploaded"].get<int>(), total);
}

TEST_F(ClientLoopTest, AFetchedPublicationIsABaseForTheNextPublish) {
  std::string first = Snap("one");
  ASSERT_EQ(alice_.Run({"publish"}, alice_ws_).exit_code, 0);
  ASSERT_EQ(admin_.Run({"repo", "grant", "web", "bob", "--role", "publish"}).exit_code, 0);
  ASSERT_EQ(admin_.Run({"lane", "add", "default", "bob", "--repo", "web"}).exit_code, 0);
  fs::path bob_ws = NewWorkspace(bob_, "ws");
  ASSERT_EQ(bob_.Run({"fetch"}, bob_ws).exit_code, 0);
  RunResult r = bob_.Run({"restore", first, "--force"}, bob_ws);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  WriteFile(bob_ws / "src/main.c", "int main() { return 1; }\n");
  json snap = bob_.Json({"snap", "-m", "bob"}, bob_ws);
  // The restore left a stat cache: only the edited file is read.
  EXPECT_EQ(snap["files_read"], 1) << snap;
  std::string second = snap.value("id", "");
  json pub = bob_.Json({"publish"}, bob_ws);
  EXPECT_EQ(pub["negotiation_requests"], 1) << pub;
  EXPECT_EQ(pub["objects_uploaded"], 4) << pub;  // snap, root, src, src/main.c

  ASSERT_EQ(alice_.Run({"fetch"}, alice_ws_).exit_code, 0);
  fs::path out = alice_.home->path() / "bobs";
  r = alice_.Run({"restore", second, "--to", out.string()}, alice_ws_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DescribeTree(out), DescribeTree(bob_ws));
}

// The workspace's record of what the repo holds can be wrong (edited, or a
// server restored from an older backup): the repo's answer about the base's
// root catches it, and negotiation walks the tree instead.
TEST_F(ClientLoopTest, ABaseTheRepoDoesNotHoldFallsBackToTheWalk) {
  WriteFile(alice_ws_ / "never-published.txt", "only here\n");
  std::string local = Snap("local only");
  {
    Result<Db> db = Db::Open(alice_ws_ / ".converge" / "converge.db", DbRole::kWorkspace);
    ASSERT_TRUE(db.ok()) << db.status().message();
    ASSERT_TRUE(
        PublicationIndex(*db).SetPublishedSnap(url_, "web", *ObjectId::FromHex(local)).ok());
  }
  WriteFile(alice_ws_ / "src/main.c", "int main() { return 2; }\n");
  std::string snap = Snap("on top");
  json pub = alice_.Json({"publish"}, alice_ws_);
  ASSERT_TRUE(pub.contains("publication")) << pub;
  EXPECT_GT(pub["negotiation_requests"].get<int>(), 2) << pub;

  fs::path bob_ws = NewWorkspace(bob_, "ws");
  ASSERT_EQ(bob_.Run({"fetch"}, bob_ws).exit_code, 0);
  fs::path out = bob_.home->path() / "out";
  RunResult r = bob_.Run({"restore", snap, "--to", out.string()}, bob_ws);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DescribeTree(out), DescribeTree(alice_ws_));
}

TEST_F(ClientLoopTest, AnInterruptedPublishFinishesWhenRunAgain) {
  std::string snap = Snap("big");
  // Stop a publish part way: kill the client once the server has taken some
  // of the objects, then run it again.
  RunOptions o = alice_.Env(alice_ws_);
  WriteFile(alice_ws_ / "more.bin", PseudoRandomBytes(24 << 20, 9));
  snap = Snap("bigger");
  pid_t pid = Spawn({ConvergeBin(), "publish"}, o);
  ::usleep(300 * 1000);
  ::kill(pid, SIGKILL);
  int status;
  ::waitpid(pid, &status, 0);
  json done = alice_.Json({"publish"}, alice_ws_);
  EXPECT_EQ(done["publication"]["snap"], snap);
  fs::path bob_ws = NewWorkspace(bob_, "ws");
  json fetched = bob_.Json({"fetch"}, bob_ws);
  EXPECT_GE(fetched["publications"].size(), 1u);
  RunResult r = bob_.Run({"restore", snap, "--to", (bob_.home->path() / "r").string()}, bob_ws);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DescribeTree(bob_.home->path() / "r"), DescribeTree(alice_ws_));
}

TEST_F(ClientLoopTest, StatusOnlineAndOffline) {
  Snap("one");
  alice_.Json({"publish", "-m", "hello"}, alice_ws_);
  json s = alice_.Json({"status"}, alice_ws_);
  for (const char* key :
       {"remote", "user", "workspace_id", "snap", "dirty", "server", "publications"})
    EXPECT_TRUE(s.contains(key)) << key;
  for (const char* key : {"url", "repo", "scope", "gate", "lane"})
    EXPECT_TRUE(s["remote"].contains(key)) << key;
  EXPECT_EQ(s["server"], "reachable");
  EXPECT_EQ(s["user"], "alice");
  EXPECT_EQ(s["remote"]["lane"], "default");
  EXPECT_EQ(s["dirty"], false);
  ASSERT_TRUE(s["publications"].contains("default")) << s;
  EXPECT_EQ(s["publications"]["default"][0]["note"], "hello");

  WriteFile(alice_ws_ / "new.txt", "uncaptured\n");
  fs::path bob_ws = NewWorkspace(bob_, "ws");
  bob_.Json({"fetch"}, bob_ws);
  server_->Stop();
  json offline = bob_.Json({"status"}, bob_ws);
  EXPECT_EQ(offline["server"], "unreachable");
  EXPECT_EQ(offline["user"], "bob");
  ASSERT_FALSE(offline["publications"].empty()) << offline;
  json dirty = alice_.Json({"status"}, alice_ws_);
  EXPECT_EQ(dirty["dirty"], true);
  EXPECT_EQ(dirty["server"], "unreachable");
  // Restoring a fetched publication needs no server either.
  std::string snap = offline["publications"].begin().value()[0]["snap"];
  RunResult r = bob_.Run({"restore", snap, "--to", (bob_.home->path() / "r").string()}, bob_ws);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(ClientLoopTest, FailuresAreClearAndChangeNothing) {
  Snap("one");
  // A server that is not there.
  fs::path ws = alice_ws_;
  RunOptions with_token = alice_.Env(ws);
  with_token.env["CONVERGE_TOKEN"] = alice_.token;
  with_token.env["CONVERGE_URL"] = "http://127.0.0.1:1";
  RunResult r = Converge({"publish", "--url", "http://127.0.0.1:1"}, with_token);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot reach the converge server at http://127.0.0.1:1"), std::string::npos)
      << r.err;
  ExpectError(alice_.Run({"fetch", "--url", "not-a-url"}, ws), "must start with http");

  // A bad token is refused at login and not stored.
  Person mallory = MakePerson("mallory", "cvg_0000000000000000_" + std::string(64, '0'));
  RunOptions o = mallory.Env();
  o.input = mallory.token + "\n";
  RunResult login = Converge({"login", "--url", url_}, o);
  ExpectError(login, "refused that token");
  EXPECT_FALSE(fs::exists(mallory.home->path() / ".config/converge/credentials.json"));
  ExpectError(mallory.Run({"whoami", "--url", url_}), "not logged in");

  // The stored login is private, and no command prints the token.
  fs::path creds = alice_.home->path() / ".config/converge/credentials.json";
  struct stat st;
  ASSERT_EQ(::stat(creds.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  for (auto args :
       std::vector<std::vector<std::string>>{{"whoami"}, {"status"}, {"remote", "show"}}) {
    RunResult out = alice_.Run(args, ws);
    EXPECT_EQ(out.out.find(alice_.token), std::string::npos);
    EXPECT_EQ(out.err.find(alice_.token), std::string::npos);
  }
  // CONVERGE_TOKEN overrides the stored login for CONVERGE_URL's server.
  RunOptions env = bob_.Env();
  env.env["CONVERGE_TOKEN"] = alice_.token;
  env.env["CONVERGE_URL"] = url_;
  RunResult who = Converge({"whoami", "--json", "--url", url_}, env);
  EXPECT_EQ(json::parse(who.out)["user"]["handle"], "alice") << who.err;
  // The server log never holds a token.
  EXPECT_EQ(server_->Log().find(alice_.token.substr(21)), std::string::npos);
}

// A plain fetch trusts what the store holds below a snap it has; `fetch
// --heal` reads it and fetches again what is missing (a blob here, as after
// `fsck --fix` set it aside) or damaged (a manifest, every copy).
TEST_F(ClientLoopTest, FetchHealFetchesWhatTheStoreLostUnderAFetchedSnap) {
  std::string first = Snap("one");
  ASSERT_EQ(alice_.Run({"publish"}, alice_ws_).exit_code, 0);
  fs::path bob_ws = NewWorkspace(bob_, "ws");
  ASSERT_EQ(bob_.Run({"fetch"}, bob_ws).exit_code, 0);
  fs::path store_root = bob_ws / ".converge";
  ObjectId main_c = ObjectId::Of("int main() { return 0; }\n");
  ObjectId lib;
  {
    Result<ObjectStore> store = ObjectStore::Open(store_root);
    ASSERT_TRUE(store.ok()) << store.status().message();
    TreeReader reader(*store);
    Result<converge::Snap> snap = reader.ReadSnap(*ObjectId::FromHex(first));
    ASSERT_TRUE(snap.ok()) << snap.status().message();
    auto child = [&](const ObjectId& dir, const std::string& name) -> std::optional<ObjectId> {
      Result<Manifest> m = reader.ReadManifest(dir);
      if (!m.ok()) return std::nullopt;
      for (const Entry& e : m->entries)
        if (e.name == name) return e.id;
      return std::nullopt;
    };
    std::optional<ObjectId> src = child(snap->root, "src");
    ASSERT_TRUE(src);
    std::optional<ObjectId> found = child(*src, "lib");
    ASSERT_TRUE(found);
    lib = *found;
  }
  RemoveObject(store_root, main_c);
  DamageEveryCopy(store_root, lib, 0);
  fs::path out = bob_.home->path() / "out";
  EXPECT_NE(bob_.Run({"restore", first, "--to", out.string()}, bob_ws).exit_code, 0);
  RunResult check = bob_.Run({"fsck"}, bob_ws);
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.err.find("'converge fetch --heal'"), std::string::npos) << check.err;

  json plain = bob_.Json({"fetch"}, bob_ws);
  EXPECT_EQ(plain["objects_fetched"], 0) << plain;
  json healed = bob_.Json({"fetch", "--heal"}, bob_ws);
  EXPECT_EQ(healed["objects_fetched"], 2) << healed;
  RunResult r = bob_.Run({"restore", first, "--to", out.string()}, bob_ws);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(DescribeTree(out), DescribeTree(alice_ws_));
  // The damaged copies are still there beside the fetched ones: a warning.
  r = bob_.Run({"fsck"}, bob_ws);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // Nothing left to heal.
  EXPECT_EQ(bob_.Json({"fetch", "--heal"}, bob_ws)["objects_fetched"], 0);
}

TEST_F(ClientLoopTest, AHandEditedCredentialsFileIsReadSafely) {
  // Fields of the wrong type are ignored, never a crash.
  json damaged = {
      {"version", 1},
      {"last_url", 5},
      {"servers", {{url_, {{"token", alice_.token}, {"user", 7}, {"saved_at", json::array()}}}}}};
  WriteFile(alice_.home->path() / ".config/converge/credentials.json", damaged.dump());
  RunResult r = alice_.Run({"whoami", "--url", url_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("alice"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace converge::testing
