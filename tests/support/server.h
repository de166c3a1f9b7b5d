// Test support: a real `converge serve` process on a free loopback port with a
// temp data dir, and a small HTTP helper for talking to it.
//
// The metadata engine: with CONVERGE_TEST_SERVER_DB=postgres in the
// environment (ctest's contract-pg. and e2e-pg. entries set it) every
// ServerProcess gets a fresh PostgreSQL schema of its own on the cluster
// CONVERGE_TEST_PG names, passed as `serve --db URL` at every (re)start and
// dropped when the ServerProcess is destroyed; every test of the binary then
// skips, saying why, when CONVERGE_TEST_PG is unset. Otherwise (unset or
// "sqlite") the metadata is DATA/converge.db, as a solo `serve` keeps it.
// Tests reach the database through ServeArgs(), OpenDb() and Sql(), which
// follow the engine.
#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/db.h"
#include "support/process.h"

namespace converge::testing {

class PgTestSchema;  // support/server_db.h

// Whether CONVERGE_TEST_SERVER_DB asks for PostgreSQL ("postgres"); "" or
// "sqlite" is SQLite, anything else stops the test binary with a message.
bool TestServersOnPostgres();

// Waits until the `converge serve` started as `pid` has logged (in `log`,
// past its first `from` bytes) that it listens on 127.0.0.1:port and answers
// GET /healthz there (over TLS with `tls`): true. Readiness must rest on both:
// a port free a moment ago may be taken by another test's server, which would
// answer for ours (and refuse our tokens). False when the process ends first
// (it is reaped and `pid` set to -1) or after `tries` polls 10 ms apart.
bool WaitServing(pid_t& pid, const fs::path& log, uintmax_t from, int port, bool tls, int tries);

struct ServerOptions {
  // Written to DATA/server.json before the first start, when not empty. With
  // "tls_cert_file" in it the server speaks HTTPS (health checks follow).
  nlohmann::json config;
  // More `converge serve` flags, after --listen and --data-dir.
  std::vector<std::string> args;
};

class ServerProcess {
 public:
  // Starts the server and waits until /healthz answers.
  explicit ServerProcess(ServerOptions options = {});
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // SIGTERM and wait; returns the exit code (128+N when killed by signal N).
  int Stop();
  // SIGKILL and wait.
  void Kill();
  // Sends `sig` without waiting; Wait() then reaps the process.
  void Signal(int sig);
  int Wait();
  // Stop (if running), then start again on the same data dir and port.
  void Restart();
  void Start();
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const fs::path& data_dir() const { return data_; }
  // The token from DATA/initial-admin-token, read at the first start.
  const std::string& admin_token() const { return admin_token_; }
  // Everything the server wrote to stdout and stderr so far.
  std::string Log() const;

  // Whether this server keeps its metadata in PostgreSQL (see the top).
  bool postgres() const { return !db_url_.empty(); }
  // Its PostgreSQL URL (its own schema first on the search_path); "" on SQLite.
  const std::string& db_url() const { return db_url_; }
  // `serve EXTRA... --data-dir DATA [--db URL]`: another run of `serve` on
  // this server's data (--fsck, --verify-audit, a second start), e.g.
  // Converge(server.ServeArgs({"--fsck", "--json"})).
  std::vector<std::string> ServeArgs(const std::vector<std::string>& extra) const;
  // A connection to this server's database, as someone with access to it
  // (not to the server's keys) would open one beside the running server.
  Result<Db> OpenDb() const;
  // Runs `sql` (statements separated by ';', no parameters) on that database.
  Status Sql(const std::string& sql) const;
  // The statement that drops trigger `name` of `table` in this engine's
  // dialect, ';' included (the audit log's guards are triggers on both).
  std::string DropTrigger(const std::string& name, const std::string& table) const;

 private:
  TempDir dir_;
  std::unique_ptr<PgTestSchema> schema_;  // PostgreSQL only; dropped after the server stops
  std::string db_url_;
  fs::path data_;
  fs::path log_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool tls_ = false;
  std::vector<std::string> args_;
  std::string admin_token_;
};

// One HTTP answer.
struct Reply {
  int status = -1;  // -1: no answer (connection failed)
  std::string body;
  httplib::Headers headers;
  std::string error;  // the transport error when status is -1

  // The body parsed as JSON (null when it is not), kept with the reply so
  // references into it live as long as the reply does.
  nlohmann::json& json() const;
  // The "code" of an error answer ("" when it is not one).
  std::string code() const;
  std::string message() const;
  mutable std::optional<nlohmann::json> parsed;
  // A response header ("" when absent).
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// A client for one server and one token (empty: none). Each call is its own
// connection unless keep_alive is set.
class Api {
 public:
  Api(int port, std::string token = "", bool keep_alive = false);

  Api As(const std::string& token) const { return Api(port_, token, keep_alive_); }
  const std::string& token() const { return token_; }

  Reply Get(const std::string& path);
  Reply Delete(const std::string& path);
  Reply Post(const std::string& path, const nlohmann::json& body);
  Reply Put(const std::string& path, const nlohmann::json& body);
  Reply PutBytes(const std::string& path, const std::string& bytes,
                 const std::string& type = "application/octet-stream");
  Reply PostBytes(const std::string& path, const std::string& bytes, const std::string& type);

  // Creates a user (this Api must be a server admin's) and returns its token.
  std::string CreateUser(const std::string& handle, bool admin = false);

 private:
  Reply Finish(httplib::Result r);
  int port_;
  std::string token_;
  bool keep_alive_;
  std::shared_ptr<httplib::Client> cli_;
};

// A plain TCP connection to the server, for requests sent in stages; from
// `source` when given (another loopback address, e.g. "127.0.0.2", is
// another client address to the server).
class RawConnection {
 public:
  explicit RawConnection(int port, const std::string& source = "");
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  bool Send(const std::string& bytes);
  // No more sending (shutdown SHUT_WR). httplib 0.11 then drops its answer:
  // it takes the half-close for a dead peer.
  void HalfClose();
  // Everything received until the server closes (or 30 s pass).
  std::string ReadAll();

 private:
  int fd_ = -1;
};

// Sends `raw` (a whole HTTP request, possibly malformed) on a new connection,
// optionally half-closes, and returns everything the server sent back.
std::string RawRequest(int port, const std::string& raw, bool shutdown_write = true);

}  // namespace converge::testing
