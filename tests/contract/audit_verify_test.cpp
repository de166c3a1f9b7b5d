// Contract: the audit log is tamper-evident. Each test has a server of its own
// (it damages the log on purpose), a server admin driving the built binary,
// and edits the database behind the server's back (whichever engine it runs
// on: support/server.h), the way someone with access to the data dir or the
// database but not the key would.
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/team.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

// Runs `sql` on the server's database; triggers that guard the log must be
// dropped first (ServerProcess::DropTrigger), as an attacker would.
void Sql(const ServerProcess& server, const std::string& sql) {
  Status st = server.Sql(sql);
  EXPECT_TRUE(st.ok()) << st.message() << "\n" << sql;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class AuditVerifyTest : public TeamTest {
 protected:
  void SetUp() override {
    StartTeam();
    // Some history: users, tokens, a repo, a refusal.
    Api api(server_->port(), server_->admin_token());
    std::string alice = api.CreateUser("alice");
    ASSERT_EQ(api.Post("/v1/repos", {{"name", "proj"}, {"admin", "alice"}}).status, 201);
    ASSERT_EQ(Api(server_->port(), alice).Get("/v1/users").status, 403);
    if (pin_first_) {
      // Trust on first use says so on stderr; later runs print only their verdict.
      RunResult r = Verify();
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }

  const std::string& Url() const { return url_; }
  RunResult Verify(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"audit", "--verify", "--url", Url()};
    args.insert(args.end(), extra.begin(), extra.end());
    return admin_.Run(args);
  }
  int64_t HeadSeq() {
    Reply r = Api(server_->port(), server_->admin_token()).Get("/v1/audit/head");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json()["seq"].get<int64_t>();
  }
  // The seq of the first row with `action`, and its description's start.
  std::pair<int64_t, std::string> RowOf(const std::string& action) {
    Reply r = Api(server_->port(), server_->admin_token()).Get("/v1/audit?limit=1000");
    int64_t seq = 0;
    std::string actor;
    for (const json& e : r.json()["entries"])
      if (e["action"] == action) {
        seq = e["seq"].get<int64_t>();
        actor = e["actor"].get<std::string>();
      }
    EXPECT_GT(seq, 0) << action;
    return {seq, "audit row " + std::to_string(seq) + " (" + action + " by " + actor + " at "};
  }

  bool pin_first_ = true;
};

class AuditFirstVerifyTest : public AuditVerifyTest {
 protected:
  AuditFirstVerifyTest() { pin_first_ = false; }
};

TEST_F(AuditFirstVerifyTest, ACleanLogVerifiesAndTheKeyIsPinned) {
  RunResult r = Verify();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string pub = Trimmed(ReadFileOrDie(server_->data_dir() / "audit-key.pub"));
  Reply key = Api(server_->port(), server_->admin_token()).Get("/v1/audit/key");
  ASSERT_EQ(key.status, 200);
  EXPECT_EQ(key.json()["public_key"], pub);
  std::string fingerprint = key.json()["fingerprint"];
  EXPECT_NE(r.out.find("audit log OK"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(fingerprint), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("trusting this server's audit key " + fingerprint), std::string::npos);
  EXPECT_NE(server_->Log().find("audit log signed with key " + fingerprint), std::string::npos);

  // The secret never leaves its 0600 file; the pin sits beside the credentials.
  struct stat st;
  ASSERT_EQ(::stat((server_->data_dir() / "audit-key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string secret = ReadFileOrDie(server_->data_dir() / "audit-key");
  std::string seed = Trimmed(secret.substr(secret.find('\n') + 1));
  EXPECT_EQ(server_->Log().find(seed), std::string::npos);
  fs::path pins = admin_.home->path() / ".config" / "converge" / "audit-keys.json";
  ASSERT_EQ(::stat(pins.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(json::parse(ReadFileOrDie(pins))["servers"][Url()]["public_key"], pub);

  json j = admin_.Json({"audit", "--verify", "--url", Url()});
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["key"], fingerprint);
  EXPECT_EQ(j["rows_checked"], j["head"]["seq"]);
  EXPECT_GE(j["rows_checked"].get<int64_t>(), 5);

  // The same checks offline, beside the running server.
  RunResult offline =
      Converge(server_->ServeArgs({"--verify-audit"}));
  EXPECT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_NE(offline.out.find("audit log OK"), std::string::npos) << offline.out;
}

TEST_F(AuditVerifyTest, WhoMayVerify) {
  Api api(server_->port(), server_->admin_token());
  std::string bob = api.CreateUser("bob");
  EXPECT_EQ(Api(server_->port(), bob).Get("/v1/audit/key").status, 200);
  EXPECT_EQ(Api(server_->port(), bob).Get("/v1/audit/head").status, 403);
  EXPECT_EQ(Api(server_->port()).Get("/v1/audit/head").status, 401);
  Person p;
  p.handle = "bob";
  p.token = bob;
  p.url = Url();
  p.Login();
  RunResult r = p.Run({"audit", "--verify", "--url", Url()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error: cannot verify the whole audit log: only server admins"),
            std::string::npos)
      << r.err;
}

TEST_F(AuditVerifyTest, AnEditedRowIsNamed) {
  auto [seq, row] = RowOf("token.create");
  Sql(*server_, server_->DropTrigger("audit_no_update", "audit") +
                    "UPDATE audit SET detail = 'nothing to see' WHERE seq = " +
                    std::to_string(seq));
  RunResult r = Verify();
  ExpectError(r, row);
  EXPECT_NE(r.err.find("its hash does not match its content; the log was altered at or after "
                       "this row"),
            std::string::npos)
      << r.err;
  json j = json::parse(Verify({"--json"}).out, nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["problems"][0]["seq"], seq);

  RunResult offline =
      Converge(server_->ServeArgs({"--verify-audit"}));
  ExpectError(offline, row);
}

// Someone who knows the hash scheme re-hashes every row after the edit: the
// chain is whole again, but the signed head no longer matches it.
TEST_F(AuditVerifyTest, ARehashedChainFailsTheSignedHead) {
  auto [seq, row] = RowOf("repo.create");
  Sql(*server_, server_->DropTrigger("audit_no_update", "audit") +
                    "UPDATE audit SET target = 'other' WHERE seq = " + std::to_string(seq));
  // Recompute with the server's own rules, via the wire format, row by row.
  Reply page = Api(server_->port(), server_->admin_token()).Get("/v1/audit?limit=1000");
  std::vector<json> rows(page.json()["entries"].begin(), page.json()["entries"].end());
  std::reverse(rows.begin(), rows.end());
  std::string prev = rows[static_cast<size_t>(seq) - 2]["hash"];
  std::string sql;
  for (size_t i = static_cast<size_t>(seq) - 1; i < rows.size(); i++) {
    json body = rows[i];
    body.erase("hash");
    body.erase("prev_hash");
    std::string input = prev + body.dump();
    unsigned char h[32];
    crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size(), nullptr, 0);
    std::string hex;
    for (unsigned char c : h) {
      hex += "0123456789abcdef"[c >> 4];
      hex += "0123456789abcdef"[c & 15];
    }
    sql += "UPDATE audit SET prev_hash = '" + prev + "', hash = '" + hex +
           "' WHERE seq = " + std::to_string(rows[i]["seq"].get<int64_t>()) + ";";
    prev = hex;
  }
  Sql(*server_, sql);
  int64_t head = HeadSeq();
  RunResult r = Verify();
  ExpectError(r, "audit row " + std::to_string(head) + " (");
  EXPECT_NE(r.err.find("its hash is not the one the signed head covers"), std::string::npos)
      << r.err;
}

TEST_F(AuditVerifyTest, TruncationIsCaughtByTheSignedHead) {
  int64_t head = HeadSeq();
  Sql(*server_, server_->DropTrigger("audit_no_delete", "audit") +
                    "DELETE FROM audit WHERE seq > " + std::to_string(head - 2));
  RunResult r = Verify();
  ExpectError(r, "audit rows " + std::to_string(head - 1) + " to " + std::to_string(head) +
                     " are missing: the log ends at row " + std::to_string(head - 2) +
                     ", but the signed head is row " + std::to_string(head));
  // The server goes on from its signed head, so the hole stays visible.
  Api(server_->port(), server_->admin_token()).CreateUser("carol");
  r = Verify();
  ExpectError(
      r, "audit rows " + std::to_string(head - 1) + " to " + std::to_string(head) + " are missing");
}

// A server that remembers a shorter history than this client saw: rows were
// cut and the head re-signed (possible for whoever holds the key file).
TEST_F(AuditVerifyTest, ARolledBackLogIsCaughtByTheClientsMemory) {
  int64_t head = HeadSeq();
  server_->Stop();
  Sql(*server_, server_->DropTrigger("audit_no_delete", "audit") +
                    server_->DropTrigger("audit_head_no_delete", "audit_head") +
                    "DELETE FROM audit WHERE seq > " + std::to_string(head - 3) +
                    "; DELETE FROM audit_head;");
  server_->Start();  // signs the shorter log's head as if it were an old one
  RunResult r = Verify();
  ExpectError(r, "shorter than when you last verified it");
}

TEST_F(AuditVerifyTest, AChangedKeyIsRefused) {
  int port = server_->port();
  server_->Stop();
  // Another server, with a key of its own, answers at the same address.
  TempDir other;
  int pid = Spawn({ConvergeBin(), "serve", "--listen", "127.0.0.1:" + std::to_string(port),
                   "--data-dir", (other / "data").string()});
  bool up = false;
  for (int i = 0; i < 3000 && !up; i++) {
    up = Api(port).Get("/healthz").status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(up);
  std::string token = Trimmed(ReadFileOrDie(other / "data" / "initial-admin-token"));
  RunOptions env = admin_.Env();
  env.env["CONVERGE_TOKEN"] = token;
  env.env["CONVERGE_URL"] = Url();
  RunResult r = Converge({"audit", "--verify", "--url", Url()}, env);
  ExpectError(r, "the server's audit key changed");
  // The operator vouches for the new key: it replaces the pin.
  fs::path pub = other / "data" / "audit-key.pub";
  RunResult wrong =
      Converge({"audit", "--verify", "--url", Url(), "--key", std::string(64, 'a')}, env);
  ExpectError(wrong, "not the key you gave");
  RunResult given = Converge({"audit", "--verify", "--url", Url(), "--key", pub.string()}, env);
  EXPECT_EQ(given.exit_code, 0) << given.err;
  RunResult again = Converge({"audit", "--verify", "--url", Url()}, env);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

// The server itself refuses a key file that did not sign its log.
TEST_F(AuditVerifyTest, TheServerRefusesAReplacedKeyFile) {
  server_->Stop();
  fs::path key = server_->data_dir() / "audit-key";
  std::string original = ReadFileOrDie(key);
  std::string forged = original.substr(0, original.find('\n') + 1) + std::string(64, '7') + "\n";
  WriteFile(key, forged);
  RunResult r = Converge(server_->ServeArgs({"--listen", "127.0.0.1:0"}));
  ExpectError(r, "restore the original audit-key file");
  WriteFile(key, original);
  server_->Start();
  EXPECT_EQ(Verify().exit_code, 0);
}

}  // namespace
}  // namespace converge::testing
