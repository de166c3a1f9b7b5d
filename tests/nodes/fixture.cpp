#include "fixture.h"

#include "support/store_helpers.h"

#include <regex>

namespace converge::testing {

using json = nlohmann::json;

size_t CountIn(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) n++;
  return n;
}

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

std::string PublicationField(const json& answer, const char* key) {
  if (!answer.is_object() || !answer.contains("publication") || !answer["publication"].is_object())
    return "";
  return answer["publication"].value(key, "");
}

std::string AuditKeyOf(const std::string& log) {
  std::smatch m;
  static const std::regex re("audit log signed with key (ed25519:[0-9a-f]+)");
  return std::regex_search(log, m, re) ? m[1].str() : "";
}

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

void TwoNodesTest::SetUp() {
  if (TestPgUrl().empty()) GTEST_SKIP() << kNoTestPg;
  Result<std::unique_ptr<PgTestSchema>> schema = PgTestSchema::Make();
  ASSERT_TRUE(schema.ok()) << schema.status().message();
  schema_ = std::move(*schema);
  data_ = dir_ / "data";
}

std::unique_ptr<ServerNode> TwoNodesTest::NewNode(const std::string& name, DbFrom from,
                                                  std::vector<std::string> args) {
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

void TwoNodesTest::StartBoth(std::vector<std::string> args, json config) {
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

Person TwoNodesTest::AdminAt(const std::string& url) {
  Person p = MakePerson("admin", admin_token_, url);
  p.Login();
  return p;
}

Person TwoNodesTest::UserAt(const std::string& url, const std::string& handle) {
  int port = std::stoi(url.substr(url.rfind(':') + 1));
  Person p = MakePerson(handle, Api(port, admin_token_).CreateUser(handle), url);
  p.Login();
  return p;
}

void TwoNodesTest::MakeRepo(int port, const std::string& name) {
  Reply r = Api(port, admin_token_).Post("/v1/repos", {{"name", name}});
  ASSERT_EQ(r.status, 201) << r.body;
}

void TwoNodesTest::MakePublisher(int port, const std::string& repo, const std::string& handle) {
  Api api(port, admin_token_);
  Reply role = api.Put("/v1/repos/" + repo + "/members/" + handle, {{"role", "publish"}});
  ASSERT_EQ(role.status, 200) << role.body;
  Reply lane = api.Put("/v1/repos/" + repo + "/lanes/default/members/" + handle, json::object());
  ASSERT_EQ(lane.status, 200) << lane.body;
}

fs::path TwoNodesTest::NewWorkspace(const Person& p, const std::string& name,
                                    const std::string& url, const std::string& repo) {
  fs::path ws = p.home->path() / name;
  EXPECT_EQ(p.Run({"init", ws.string()}).exit_code, 0);
  RunResult r = p.Run({"remote", "set", "--url", url, "--repo", repo}, ws);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return ws;
}

void TwoNodesTest::ExpectDataDirClean(const std::string& when) {
  RunResult fsck =
      Converge({"serve", "--fsck", "--data-dir", data_.string(), "--db", schema_->url(), "--json"});
  EXPECT_EQ(fsck.exit_code, 0) << when << ": " << fsck.out << fsck.err;
  json j = json::parse(fsck.out, nullptr, false);
  EXPECT_TRUE(j.is_object() && j.value("ok", false)) << when << ": " << fsck.out;
  EXPECT_EQ(j.value("objects_checked", size_t{0}), ObjectCount(data_)) << when << ": " << fsck.out;
  RunResult verify =
      Converge({"serve", "--verify-audit", "--data-dir", data_.string(), "--db", schema_->url()});
  EXPECT_EQ(verify.exit_code, 0) << when << ": " << verify.out << verify.err;
  EXPECT_NE(verify.out.find("audit log OK"), std::string::npos) << verify.out << verify.err;
}

}  // namespace converge::testing
