// Terminal escape injection (issue 11, item 6): text others wrote (snap
// messages, file names, publication notes, token labels, gate descriptions,
// whatever a server sends) must reach a reader's terminal escaped, by every
// command that prints it, on stdout and in error lines; and --json must carry
// the exact string. Local commands, a real server with a publisher who writes
// what the server accepts (C1 and bidi controls, line breaks), and a hostile
// FakeServer that sends raw escapes in every field.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "base/text.h"
#include "support/fake_client.h"
#include "support/fake_server.h"
#include "support/process.h"
#include "support/team.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

const std::string kRlo = "\xe2\x80\xae";  // U+202E RIGHT-TO-LEFT OVERRIDE
const std::string kLri = "\xe2\x81\xa6";  // U+2066 LEFT-TO-RIGHT ISOLATE
const std::string kCsi = "\xc2\x9b";      // U+009B, the one-character CSI
const std::string kNel = "\xc2\x85";      // U+0085 NEXT LINE
// The message: clears the screen, homes the cursor, fakes a verdict
// and writes the reader's clipboard (OSC 52); then a bidi override and a C1 CSI.
const std::string kEscapes = "\x1b[2J\x1b[Hall tests passed\x1b]52;c;ZXZpbA==\x07";
const std::string kMessage =
    kEscapes + " " + kRlo + "txt.exe " + kCsi + "31m\nsecond line \x1b[31mred";
// What a real server takes in a note or a description: no C0 but newline and
// tab, any other UTF-8.
const std::string kServerText =
    "approved " + kRlo + "gnp.exe " + kCsi + "2J" + kNel + kLri + "\nLGTM from everyone";
const std::string kEvilFile = "evil\x1b[2Jname.txt";

// Fails the test when `out` holds anything a terminal acts on: a C0 control
// but newline, DEL, bytes that are not UTF-8, a C1 control or a bidi control.
void ExpectTerminalSafe(const std::string& out, const std::string& what) {
  EXPECT_TRUE(IsValidUtf8(out)) << what << ": " << out;
  for (unsigned char c : out)
    if ((c < 0x20 && c != '\n') || c == 0x7f) {
      ADD_FAILURE() << what << ": raw control byte " << static_cast<int>(c) << " in\n" << out;
      break;
    }
  for (const std::string& cp : {kRlo, kLri, kCsi, kNel, std::string("\xe2\x80\x8f")})
    EXPECT_EQ(out.find(cp), std::string::npos) << what << ": raw C1 or bidi control in\n" << out;
}

void ExpectSafeRun(const RunResult& r, const std::string& what) {
  EXPECT_EQ(r.exit_code, 0) << what << ": " << r.err;
  ExpectTerminalSafe(r.out, what + " (stdout)");
  ExpectTerminalSafe(r.err, what + " (stderr)");
}

// Whether `j` holds a string with `needle` in it, anywhere.
bool HoldsString(const json& j, const std::string& needle) {
  if (j.is_string()) return j.get<std::string>().find(needle) != std::string::npos;
  if (!j.is_structured()) return false;
  for (const json& v : j)
    if (HoldsString(v, needle)) return true;
  return false;
}

json ParseOut(const RunResult& r, const std::string& what) {
  EXPECT_EQ(r.exit_code, 0) << what << ": " << r.err;
  ExpectTerminalSafe(r.out, what + " --json");  // escaped as JSON: \u001b, \u202e
  json j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << what << ": not JSON: " << r.out;
  return j;
}

// A user with a HOME of their own and a workspace, no server needed.
class TerminalLocalTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(Run({"init", ws_.string()}, top_.path()).exit_code, 0); }
  RunResult Run(const std::vector<std::string>& args, const fs::path& cwd = {}) {
    RunOptions o;
    o.cwd = cwd.empty() ? ws_ : cwd;
    o.env = ClientEnv(top_.path());
    return Converge(args, o);
  }
  json Json(std::vector<std::string> args) {
    args.push_back("--json");
    return ParseOut(Run(args), args[0]);
  }
  TempDir top_;
  fs::path ws_ = top_ / "ws";
};

TEST_F(TerminalLocalTest, SnapMessagesAndFileNamesAreEscapedEverywhere) {
  WriteFile(ws_ / kEvilFile, "x\n");
  std::string first = Json({"snap", "-m", kMessage}).value("id", "");
  ASSERT_FALSE(first.empty());
  WriteFile(ws_ / ("new" + kRlo + "gnp.sh"), "z\n");
  WriteFile(ws_ / "two\nlines.txt", "y\n");
  std::string second = Json({"snap", "-m", "plain"}).value("id", "");
  fs::remove(ws_ / kEvilFile);
  WriteFile(ws_ / "\x1b]0;title\x07uncaptured", "w\n");

  RunResult snaps = Run({"snaps"});
  ExpectSafeRun(snaps, "snaps");
  EXPECT_NE(snaps.out.find("\\x1b[2J\\x1b[Hall tests passed\\x1b]52;c;ZXZpbA==\\x07 \\u{202e}txt"),
            std::string::npos)
      << snaps.out;
  EXPECT_EQ(snaps.out.find("second line"), std::string::npos) << "only the first line";
  EXPECT_EQ(Json({"snaps"})[1]["message"], kMessage);

  RunResult show = Run({"show", first});
  ExpectSafeRun(show, "show");
  EXPECT_NE(show.out.find("    \\x1b[2J"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("\\u{9b}31m\n    second line \\x1b[31mred\n"), std::string::npos)
      << show.out;
  EXPECT_EQ(Json({"show", first})["message"], kMessage);

  // Between snaps: a name cannot fake a line, an override cannot reorder one.
  RunResult diff = Run({"diff", first, second});
  ExpectSafeRun(diff, "diff FROM TO");
  EXPECT_NE(diff.out.find("A  new\\u{202e}gnp.sh\n"), std::string::npos) << diff.out;
  EXPECT_NE(diff.out.find("A  two\\x0alines.txt\n"), std::string::npos) << diff.out;
  // Against the working tree.
  RunResult work = Run({"diff"});
  ExpectSafeRun(work, "diff");
  EXPECT_NE(work.out.find("A  \\x1b]0;title\\x07uncaptured\n"), std::string::npos) << work.out;
  EXPECT_NE(work.out.find("D  evil\\x1b[2Jname.txt\n"), std::string::npos) << work.out;
  json changes = Json({"diff"})["changes"];
  ASSERT_EQ(changes.size(), 2u) << changes;
  EXPECT_EQ(changes[0]["path"], "\x1b]0;title\x07uncaptured");
  EXPECT_EQ(changes[1]["path"], kEvilFile);

  RunResult status = Run({"status"});
  ExpectSafeRun(status, "status");
  EXPECT_NE(status.out.find("\\x1b]0;title\\x07uncaptured"), std::string::npos) << status.out;
  EXPECT_EQ(Json({"status"})["changes"][1]["path"], kEvilFile);

  fs::path copy = top_ / "copy";
  ExpectSafeRun(Run({"restore", first, "--to", copy.string()}), "restore");
  EXPECT_TRUE(fs::exists(copy / kEvilFile));
  // An error that quotes what was typed.
  RunResult bad = Run({"show", "\x1b[2Jabcd" + kRlo});
  EXPECT_EQ(bad.exit_code, 1);
  ExpectTerminalSafe(bad.err, "an error quoting an argument");
  EXPECT_NE(bad.err.find("\\x1b[2Jabcd\\u{202e}"), std::string::npos) << bad.err;
}

// A real server: alice publishes what the server accepts; bob reads it with
// every command that shows it.
class TerminalServerTest : public TeamTest {
 protected:
  void SetUp() override {
    StartTeam();
    alice_ = NewUser("alice");
    bob_ = NewUser("bob");
    ASSERT_EQ(admin_.Run({"repo", "create", "web"}).exit_code, 0);
    ASSERT_EQ(admin_.Run({"repo", "grant", "web", "alice", "--role", "admin"}).exit_code, 0);
    ASSERT_EQ(admin_.Run({"lane", "add", "default", "alice", "--repo", "web"}).exit_code, 0);
    ASSERT_EQ(admin_.Run({"repo", "grant", "web", "bob", "--role", "read"}).exit_code, 0);
  }

  fs::path NewWorkspace(const Person& p) {
    fs::path ws = p.home->path() / "ws";
    EXPECT_EQ(p.Run({"init", ws.string()}).exit_code, 0);
    EXPECT_EQ(p.Run({"remote", "set", "--url", url_, "--repo", "web"}, ws).exit_code, 0);
    return ws;
  }
  json JsonOf(const Person& p, std::vector<std::string> args, const fs::path& cwd) {
    args.push_back("--json");
    return ParseOut(p.Run(args, cwd), args[0]);
  }

  Person alice_, bob_;
};

TEST_F(TerminalServerTest, WhatAPublisherWroteReachesReadersEscaped) {
  fs::path alice_ws = NewWorkspace(alice_);
  WriteFile(alice_ws / kEvilFile, "x\n");
  ASSERT_EQ(alice_.Run({"snap", "-m", kMessage}, alice_ws).exit_code, 0);
  RunResult pub = alice_.Run({"publish", "-m", kServerText}, alice_ws);
  ExpectSafeRun(pub, "publish");
  std::string desc = "the gate " + kRlo + "weiver" + kCsi + "0m\nsecond line";
  WriteFile(alice_ws / ".." / "gates.json",
            json({{"gates",
                   {{{"id", "dev-intake"}, {"upstream", json::array()}, {"description", desc}}}}})
                .dump());
  ExpectSafeRun(alice_.Run({"gates", "--set", (alice_ws / ".." / "gates.json").string()}, alice_ws),
                "gates --set");

  fs::path bob_ws = NewWorkspace(bob_);
  RunResult fetch = bob_.Run({"fetch"}, bob_ws);
  ExpectSafeRun(fetch, "fetch");
  json fetched = JsonOf(bob_, {"fetch"}, bob_ws);
  ASSERT_EQ(fetched["publications"].size(), 1u) << fetched;
  EXPECT_EQ(fetched["publications"][0]["note"], kServerText);

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"publications"}, {"publications", "--remote"}}) {
    RunResult r = bob_.Run(args, bob_ws);
    ExpectSafeRun(r, args.back());
    EXPECT_NE(r.out.find("approved \\u{202e}gnp.exe \\u{9b}2J\\u{85}\\u{2066}\\x0aLGTM"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(JsonOf(bob_, args, bob_ws)[0]["note"], kServerText);
  }
  RunResult status = bob_.Run({"status"}, bob_ws);
  ExpectSafeRun(status, "status");
  EXPECT_NE(status.out.find("approved \\u{202e}gnp.exe"), std::string::npos) << status.out;
  EXPECT_EQ(JsonOf(bob_, {"status"}, bob_ws)["publications"]["default"][0]["note"], kServerText);

  // alice's snap, as bob's workspace holds it after the fetch.
  RunResult snaps = bob_.Run({"snaps", "--all"}, bob_ws);
  ExpectSafeRun(snaps, "snaps --all");
  EXPECT_NE(snaps.out.find("(fetched) \\x1b[2J"), std::string::npos) << snaps.out;
  std::string snap_id = JsonOf(bob_, {"snaps", "--all"}, bob_ws)[0].value("id", "");
  EXPECT_EQ(JsonOf(bob_, {"snaps", "--all"}, bob_ws)[0]["message"], kMessage);
  ExpectSafeRun(bob_.Run({"show", snap_id}, bob_ws), "show");
  fs::path copy = bob_.home->path() / "copy";
  ExpectSafeRun(bob_.Run({"restore", snap_id, "--to", copy.string()}, bob_ws), "restore --to");
  EXPECT_TRUE(fs::exists(copy / kEvilFile));

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"gates"}, {"repo", "show", "web"}}) {
    RunResult r = bob_.Run(args, bob_ws);
    ExpectSafeRun(r, args[0]);
    EXPECT_NE(r.out.find("the gate \\u{202e}weiver\\u{9b}0m\\x0asecond line"), std::string::npos)
        << r.out;
  }
  EXPECT_EQ(JsonOf(bob_, {"gates"}, bob_ws)["gates"][0]["description"], desc);

  // A token label is shown to whoever lists tokens.
  std::string label = "laptop " + kRlo + "kcab" + kCsi + "2J";
  ExpectSafeRun(alice_.Run({"token", "create", "--label", label}), "token create");
  RunResult tokens = alice_.Run({"token", "list"});
  ExpectSafeRun(tokens, "token list");
  EXPECT_NE(tokens.out.find("laptop \\u{202e}kcab\\u{9b}2J"), std::string::npos) << tokens.out;
  bool found = false;
  for (const json& t : JsonOf(alice_, {"token", "list"}, alice_.home->path()))
    found = found || t["label"] == label;
  EXPECT_TRUE(found);
  ExpectSafeRun(admin_.Run({"token", "list"}), "token list (admin)");
  ExpectSafeRun(admin_.Run({"audit", "--all"}), "audit --all");
}

// The operator's side: the server's log on a terminal shows what clients
// sent (paths, names in error messages) escaped too.
TEST_F(TerminalServerTest, TheServersLogEscapesWhatClientsSend) {
  Api api(server_->port(), admin_.token);
  Reply r = api.Get("/v1/repos/evil%E2%80%AEtxt%C2%9B%1B%5B2J/lanes");
  EXPECT_EQ(r.status, 404) << r.body;
  Reply bad = api.Post("/v1/repos", json{{"name", "x\x1b[2J" + kRlo}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  // The access line is written once the answer is out: wait for it.
  std::string log = server_->Log();
  for (int i = 0; i < 300 && log.find("/lanes 404") == std::string::npos; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log = server_->Log();
  }
  ExpectTerminalSafe(log, "the server's log");
  EXPECT_NE(log.find("evil\\u{202e}txt\\u{9b}"), std::string::npos) << log;
}

// A hostile server sends raw escapes in every field of every answer.
class TerminalFakeServerTest : public FakeServerClientTest {
 protected:
  void Serve(const std::string& path, const json& body) {
    std::string text = body.dump();
    server_.Override(path, [text](const httplib::Request&, httplib::Response& res) {
      res.set_content(text, "application/json");
    });
  }
  static std::string Evil(const std::string& what) { return what + "\x1b[2J" + kRlo + kCsi; }

};

TEST_F(TerminalFakeServerTest, EveryFieldOfEveryAnswerIsEscaped) {
  std::string repo = std::string("/v1/repos/") + FakeServer::kRepo;
  const std::string t = "2026-01-02T03:04:05.000000Z\x1b[2J";
  json user = {{"id", 7}, {"handle", Evil("bob")}, {"admin", false}, {"created_at", t}};
  Serve("/v1/whoami", {{"user", user}, {"token_id", "0123456789abcdef"}});
  Serve("/v1/users", json::array({user}));
  Serve("/v1/tokens", json::array({{{"id", Evil("id")},
                                    {"label", Evil("label")},
                                    {"user", Evil("bob")},
                                    {"created_at", t},
                                    {"last_used_at", t},
                                    {"expires_at", nullptr},
                                    {"revoked", false}}}));
  json r = {{"name", Evil("web")},
            {"created_at", t},
            {"created_by", Evil("eve")},
            {"role", Evil("admin")}};
  Serve("/v1/repos", json::array({r}));
  json lane = {{"name", Evil("lane")}, {"created_at", t}, {"members", {Evil("m")}}};
  json scope = {{"name", Evil("scope")}, {"created_at", t}};
  json graph = {
      {"gates",
       {{{"id", Evil("gate")}, {"upstream", {Evil("up")}}, {"description", Evil("desc")}}}}};
  json details = r;
  details["members"] = json::array({{{"handle", Evil("m")}, {"role", Evil("read")}}});
  details["lanes"] = json::array({lane});
  details["scopes"] = json::array({scope});
  details["gate_graph"] = graph;
  Serve(repo, details);
  Serve(repo + "/lanes", json::array({lane}));
  Serve(repo + "/scopes", json::array({scope}));
  Serve(repo + "/gate-graph", graph);
  wire::AuditEntry e;
  e.seq = 9;
  e.at = t;
  e.actor = Evil("actor");
  e.action = Evil("action");
  e.repo = Evil("repo");
  e.target = Evil("target");
  e.outcome = Evil("ok");
  e.detail = Evil("detail");
  Serve(repo + "/audit", wire::ToJson(wire::AuditPage{{e}, std::nullopt}));
  Serve("/v1/audit", wire::ToJson(wire::AuditPage{{e}, std::nullopt}));

  for (const std::vector<std::string>& args : {std::vector<std::string>{"whoami"},
                                               {"user", "list"},
                                               {"token", "list"},
                                               {"repo", "list"},
                                               {"repo", "show", FakeServer::kRepo},
                                               {"lane", "list"},
                                               {"scope", "list"},
                                               {"gates"},
                                               {"audit"},
                                               {"audit", "--all"}}) {
    std::string what = args[0] + (args.size() > 1 ? " " + args[1] : "");
    RunResult out = Run(args);
    ExpectSafeRun(out, what);
    EXPECT_NE(out.out.find("\\x1b[2J\\u{202e}\\u{9b}"), std::string::npos) << what << out.out;
    std::vector<std::string> with_json = args;
    with_json.push_back("--json");
    EXPECT_TRUE(HoldsString(ParseOut(Run(with_json), what), Evil(""))) << what;
  }
  EXPECT_EQ(ParseOut(Run({"whoami", "--json"}), "whoami")["user"]["handle"], Evil("bob"));
}

TEST_F(TerminalFakeServerTest, PublicationsFromAHostileServerAreEscaped) {
  Manifest empty;
  ObjectId root = server_.Put(ObjectKind::kManifest, EncodeManifest(empty));
  Snap s;
  s.root = root;
  s.created_at = "2026-01-02T03:04:05Z";
  s.message = Evil("message");
  s.workspace_id = Evil("ws");
  ObjectId snap = server_.Put(ObjectKind::kSnap, EncodeSnap(s));
  wire::Publication p = FakeServer::MakePublication(snap, Evil("note"));
  p.publisher = Evil("mallory");
  p.created_at = "2026-01-02T03:04:05.000000Z\x1b]52;c;ZXZpbA==\x07";
  p.host = Evil("host");
  p.id = ObjectId::Of(wire::PublicationIdInput(p)).hex();
  server_.List(p);

  RunResult fetch = Run({"fetch"});
  ExpectSafeRun(fetch, "fetch");
  EXPECT_NE(fetch.out.find("mallory\\x1b[2J\\u{202e}\\u{9b}"), std::string::npos) << fetch.out;
  EXPECT_NE(fetch.out.find("\\x1b]52;c;ZXZpbA==\\x07"), std::string::npos) << fetch.out;
  for (const std::vector<std::string>& args : {std::vector<std::string>{"publications"},
                                               {"publications", "--remote"},
                                               {"status"},
                                               {"snaps", "--all"},
                                               {"show", snap.hex()}}) {
    RunResult r = Run(args);
    ExpectSafeRun(r, args[0]);
    EXPECT_NE(r.out.find("\\x1b[2J\\u{202e}\\u{9b}"), std::string::npos) << args[0] << r.out;
  }
  json listed = ParseOut(Run({"publications", "--json"}), "publications");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["publisher"], p.publisher);
  EXPECT_EQ(listed[0]["note"], p.note);
  EXPECT_EQ(listed[0]["created_at"], p.created_at);

  // An error message with C1 and bidi controls (C0 ones were already blanked).
  server_.AnswerEverythingWith(
      403,
      json({{"error", {{"code", "forbidden"}, {"message", "no " + kRlo + kCsi + "2J"}}}}).dump());
  RunResult refused = Run({"fetch"});
  EXPECT_EQ(refused.exit_code, 1);
  ExpectTerminalSafe(refused.err, "an error from the server");
  EXPECT_NE(refused.err.find("no \\u{202e}\\u{9b}2J"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace converge::testing
