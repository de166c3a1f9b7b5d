#include "support/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "server/db_pool.h"
#include "support/server_db.h"

namespace converge::testing {

namespace {

// With CONVERGE_TEST_SERVER_DB=postgres and no cluster, every test of the
// binary skips before any server starts (a skip in the global set-up runs no
// test; ctest's SKIP_REGULAR_EXPRESSION knows the message).
class ServerEngineEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (TestServersOnPostgres() && TestPgUrl().empty())
      GTEST_SKIP() << "[  SKIPPED ] CONVERGE_TEST_SERVER_DB=postgres: " << kNoTestPg;
  }
};
[[maybe_unused]] ::testing::Environment* const server_engine_environment =
    ::testing::AddGlobalTestEnvironment(new ServerEngineEnvironment);

bool Healthy(int port, bool tls) {
  if (tls) {
    httplib::SSLClient cli("127.0.0.1", port);
    cli.enable_server_certificate_verification(false);  // readiness only
    cli.set_connection_timeout(1, 0);
    auto r = cli.Get("/healthz");
    return r && r->status == 200;
  }
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(1, 0);
  auto r = cli.Get("/healthz");
  return r && r->status == 200;
}

}  // namespace

bool WaitServing(pid_t& pid, const fs::path& log, uintmax_t from, int port, bool tls, int tries) {
  // Readiness, not timing: poll until it answers or the process is gone.
  for (int i = 0; i < tries && pid > 0; i++) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      return false;
    }
    if (ListeningLogged(log, from, port) && Healthy(port, tls)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool TestServersOnPostgres() {
  const char* engine = std::getenv("CONVERGE_TEST_SERVER_DB");
  std::string e = engine ? engine : "";
  if (e.empty() || e == "sqlite") return false;
  if (e == "postgres") return true;
  std::fprintf(stderr, "CONVERGE_TEST_SERVER_DB=%s: expected sqlite or postgres\n", e.c_str());
  std::exit(2);
}

ServerProcess::ServerProcess(ServerOptions options)
    : data_(dir_ / "data"), log_(dir_ / "server.log") {
  tls_ = options.config.is_object() && options.config.contains("tls_cert_file");
  args_ = std::move(options.args);
  if (TestServersOnPostgres()) {
    if (TestPgUrl().empty()) throw std::runtime_error(kNoTestPg);
    Result<std::unique_ptr<PgTestSchema>> schema = PgTestSchema::Make();
    if (!schema.ok())
      throw std::runtime_error("a PostgreSQL schema for the test server: " +
                               schema.status().message());
    schema_ = std::move(*schema);
    db_url_ = schema_->url();
    args_.insert(args_.end(), {"--db", db_url_});
  }
  if (!options.config.is_null()) {
    fs::create_directories(data_);
    WriteFile(data_ / "server.json", options.config.dump());
  }
  Start();
  admin_token_ = ReadFileOrDie(data_ / "initial-admin-token");
  while (!admin_token_.empty() && admin_token_.back() == '\n') admin_token_.pop_back();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill();
}

void ServerProcess::Start() {
  // A port free a moment ago may be taken by the time the server binds it:
  // then (only then) a new port.
  for (int attempt = 0; attempt < 5; attempt++) {
    if (port_ == 0 || attempt > 0) port_ = FreePort();
    std::vector<std::string> argv = {ConvergeBin(), "serve",
                                     "--listen",    "127.0.0.1:" + std::to_string(port_),
                                     "--data-dir",  data_.string()};
    argv.insert(argv.end(), args_.begin(), args_.end());
    uintmax_t log_from = LogSize(log_);
    pid_ = StartLogged(argv, {}, log_);
    if (WaitServing(pid_, log_, log_from, port_, tls_, 3000)) return;
    if (pid_ > 0) {
      Kill();
      throw std::runtime_error("converge serve did not become healthy:\n" + Log());
    }
    if (!PortTakenAtStart(log_, log_from)) break;
  }
  throw std::runtime_error("converge serve failed to start:\n" + Log());
}

int ServerProcess::Stop() {
  Signal(SIGTERM);
  return Wait();
}

void ServerProcess::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int ServerProcess::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void ServerProcess::Restart() {
  if (pid_ > 0) Stop();
  Start();
}

std::vector<std::string> ServerProcess::ServeArgs(const std::vector<std::string>& extra) const {
  std::vector<std::string> argv = {"serve"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.end(), {"--data-dir", data_.string()});
  if (postgres()) argv.insert(argv.end(), {"--db", db_url_});
  return argv;
}

Result<Db> ServerProcess::OpenDb() const {
  return ServerDb::For(data_, db_url_).Open();
}

Status ServerProcess::Sql(const std::string& sql) const {
  ASSIGN_OR_RETURN(Db db, OpenDb());
  return db.Exec(sql);
}

std::string ServerProcess::DropTrigger(const std::string& name, const std::string& table) const {
  return "DROP TRIGGER " + name + (postgres() ? " ON " + table : "") + ";";
}

std::string ServerProcess::Log() const {
  try {
    return ReadFileOrDie(log_);
  } catch (const std::exception&) {
    return "";
  }
}

nlohmann::json& Reply::json() const {
  if (!parsed) {
    parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (parsed->is_discarded()) parsed = nlohmann::json();
  }
  return *parsed;
}

std::string Reply::code() const {
  const nlohmann::json& j = json();
  if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("code"))
    return j["error"]["code"].get<std::string>();
  return "";
}

std::string Reply::message() const {
  const nlohmann::json& j = json();
  if (j.is_object() && j.contains("error") && j["error"].is_object())
    return j["error"].value("message", "");
  return "";
}

Api::Api(int port, std::string token, bool keep_alive)
    : port_(port),
      token_(std::move(token)),
      keep_alive_(keep_alive),
      cli_(std::make_shared<httplib::Client>("127.0.0.1", port)) {
  cli_->set_keep_alive(keep_alive_);
  cli_->set_read_timeout(120, 0);
  cli_->set_write_timeout(120, 0);
  if (!token_.empty()) cli_->set_bearer_token_auth(token_.c_str());
}

Reply Api::Finish(httplib::Result r) {
  Reply out;
  if (!r) {
    out.error = httplib::to_string(r.error());
    return out;
  }
  out.status = r->status;
  out.body = r->body;
  out.headers = r->headers;
  return out;
}

Reply Api::Get(const std::string& path) {
  return Finish(cli_->Get(path.c_str()));
}
Reply Api::Delete(const std::string& path) {
  return Finish(cli_->Delete(path.c_str()));
}
Reply Api::Post(const std::string& path, const nlohmann::json& body) {
  return Finish(cli_->Post(path.c_str(), body.dump(), "application/json"));
}
Reply Api::Put(const std::string& path, const nlohmann::json& body) {
  return Finish(cli_->Put(path.c_str(), body.dump(), "application/json"));
}
Reply Api::PutBytes(const std::string& path, const std::string& bytes, const std::string& type) {
  return Finish(cli_->Put(path.c_str(), bytes, type.c_str()));
}
Reply Api::PostBytes(const std::string& path, const std::string& bytes, const std::string& type) {
  return Finish(cli_->Post(path.c_str(), bytes, type.c_str()));
}

std::string Api::CreateUser(const std::string& handle, bool admin) {
  Reply r = Post("/v1/users", {{"handle", handle}, {"admin", admin}});
  if (r.status != 201) throw std::runtime_error("creating user " + handle + ": " + r.body);
  return r.json()["token"].get<std::string>();
}

RawConnection::RawConnection(int port, const std::string& source) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (!source.empty()) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
  timeval tv{30, 0};
  if (fd_ >= 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::Send(const std::string& bytes) {
  size_t off = 0;
  while (fd_ >= 0 && off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return fd_ >= 0;
}

void RawConnection::HalfClose() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

std::string RawConnection::ReadAll() {
  std::string out;
  char buf[65536];
  while (fd_ >= 0) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string RawRequest(int port, const std::string& raw, bool shutdown_write) {
  RawConnection conn(port);
  conn.Send(raw);
  if (shutdown_write) conn.HalfClose();
  return conn.ReadAll();
}

}  // namespace converge::testing
