#include "server/serve.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

#include "net/http_log.h"
#include "server/authority.h"
#include "net/http_server.h"
#include "server/http_routes.h"
#include "server/periodic.h"
#include "server/sweep.h"

namespace converge {

Result<ServerConfig> BuildServerConfig(const ServeFlags& o) {
  ServerConfig c;
  c.data_dir = o.data_dir;
  // Precedence: defaults < config file < flags.
  fs::path file = o.config.empty() ? fs::path(o.data_dir) / "server.json" : fs::path(o.config);
  std::error_code ec;
  if (!o.config.empty() || fs::exists(file, ec)) RETURN_IF_ERROR(LoadConfigFile(file, c));
  if (!o.listen.empty()) RETURN_IF_ERROR(ParseListen(o.listen, &c.host, &c.port));
  if (o.threads > 0) c.threads = o.threads;
  if (!o.tls_cert.empty()) c.tls_cert_file = o.tls_cert;
  if (!o.tls_key.empty()) c.tls_key_file = o.tls_key;
  if (!o.trusted_proxies.empty()) {
    Result<TrustedProxies> proxies = TrustedProxies::Parse(o.trusted_proxies);
    if (!proxies.ok()) return proxies.status().With("--trusted-proxy");
    c.trusted_proxies = std::move(*proxies);
  }
  if (o.no_web) c.web = false;
  if (const char* env = std::getenv("CONVERGE_DB"); env && *env) {
    RETURN_IF_ERROR(CheckDbSetting(env, "CONVERGE_DB"));
    c.db = env;
  }
  if (!o.db.empty()) {
    RETURN_IF_ERROR(CheckDbSetting(o.db, "--db"));
    c.db = o.db;
  }
  if (!o.log_level.empty()) {
    if (o.log_level != "debug" && o.log_level != "info" && o.log_level != "warn" &&
        o.log_level != "error")
      return Invalid("--log-level must be debug, info, warn or error");
    c.log_level = o.log_level;
  }
  return c;
}

Status RunServer(const ServerConfig& config, const std::function<void(const std::string&)>& note) {
  SetLogLevel(LogLevelFromName(config.log_level));
  // Signals go to one waiting thread rather than interrupting whichever
  // thread they hit: block them before any thread starts.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a client hanging up is an error value, not a death
  ::umask(077);                // tokens, records and objects are the server's alone

  ASSIGN_OR_RETURN(std::unique_ptr<Authority> authority, Authority::Open(config));
  HttpServer server(HttpOptionsFor(authority->config()), AuthorityRoutes(*authority));
  RETURN_IF_ERROR(server.Bind(config.host, config.port));
  std::string host =
      config.host.find(':') != std::string::npos ? "[" + config.host + "]" : config.host;
  note("converge serve listening on " + std::string(server.tls() ? "https://" : "http://") + host +
       ":" + std::to_string(server.port()) + " (data: " + authority->data_dir().path().string() +
       ", " + std::to_string(config.EffectiveThreads()) + " threads)");
  if (config.postgres())
    note("metadata in " + authority->db_description() + " (data dir shared with other nodes)");
  if (authority->bootstrapped())
    note("initial admin token written to " + authority->data_dir().token_file().string());
  for (const std::string& line : authority->audit_notes()) note(line);
  for (const std::string& line : authority->depth_notes()) note(line);
  note("audit log signed with key " + authority->audit_key().public_key().Fingerprint());
  if (!config.trusted_proxies.empty()) {
    std::string list;
    for (const std::string& p : config.trusted_proxies.entries())
      list += (list.empty() ? "" : ", ") + p;
    note("client addresses taken from X-Forwarded-For of requests from the trusted proxies " +
         list + " (the per-address connection cap still counts the proxies themselves)");
    for (const std::string& p : config.trusted_proxies.TooBroad())
      note("warning: trusted proxy " + p + " is wider than a /8: any client there can name " +
           "itself in X-Forwarded-For (the access log, the audit and the bad-token backoff " +
           "then believe it); name only your proxies' addresses");
  }

  // What crashed writers left in the data dir, here or on another node
  // sharing it, goes while the server runs (server/sweep.h); only what no
  // writer can still be at (DataDir::kSharedTempAge, either engine: this
  // process's own uploads are in tmp/ too).
  const ObjectStore& store = authority->data_dir().store();
  PeriodicTask sweep(std::chrono::seconds(config.sweep_interval_seconds),
                     [&store] { SweepStaleFiles(store, DataDir::kSharedTempAge); });
  // A node's hold on the database's node lock outlives a remade connection.
  std::unique_ptr<PeriodicTask> node_lock_upkeep;
  if (NodeLock* lock = authority->node_lock())
    node_lock_upkeep = std::make_unique<PeriodicTask>(NodeLock::kRefresh, [lock] {
      Status st = lock->Refresh();
      if (!st.ok())
        LogLine(st.code() == Code::kConflict ? LogLevel::kError : LogLevel::kWarn, st.message());
    });
  std::thread waiter([&server, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    LogLine(LogLevel::kWarn, std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                                 ": finishing requests in flight, then stopping");
    server.Stop();
  });
  Status st = server.Run();
  // If serving ended on its own, wake the waiter the way a signal would.
  server.Stop();
  ::kill(::getpid(), SIGTERM);
  waiter.join();
  sweep.Stop();
  if (node_lock_upkeep) node_lock_upkeep->Stop();
  authority->Close();
  LogLine(LogLevel::kWarn, "converge serve stopped");
  return st;
}

}  // namespace converge
