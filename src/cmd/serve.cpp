// converge serve: run the central authority over HTTP until SIGINT/SIGTERM.
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <thread>

#include "cmd/audit_verify.h"
#include "cmd/command.h"
#include "cmd/fsck_report.h"
#include "net/http_log.h"
#include "net/http_server.h"
#include "server/authority.h"
#include "server/http_routes.h"

namespace converge {

namespace {

struct ServeOpts {
  std::string listen;
  std::string data_dir = "converge-data";
  std::string config;
  unsigned threads = 0;
  std::string log_level;
  std::string tls_cert, tls_key;
  bool fsck = false;
  bool repair = false;
  bool verify_audit = false;
  std::string audit_key;
};

Result<ServerConfig> BuildConfig(const ServeOpts& o) {
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
  if (!o.log_level.empty()) {
    if (o.log_level != "debug" && o.log_level != "info" && o.log_level != "warn" &&
        o.log_level != "error")
      return Invalid("--log-level must be debug, info, warn or error");
    c.log_level = o.log_level;
  }
  return c;
}

Status Serve(const ServeOpts& o) {
  ASSIGN_OR_RETURN(ServerConfig config, BuildConfig(o));
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
  Note("converge serve listening on " + std::string(server.tls() ? "https://" : "http://") + host + ":" + std::to_string(server.port()) +
       " (data: " + authority->data_dir().path().string() + ", " +
       std::to_string(config.EffectiveThreads()) + " threads)");
  if (authority->bootstrapped())
    Note("initial admin token written to " + authority->data_dir().token_file().string());
  for (const std::string& note : authority->audit_notes()) Note(note);
  for (const std::string& note : authority->depth_notes()) Note(note);
  Note("audit log signed with key " + authority->audit_key().public_key().Fingerprint());

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
  authority->Close();
  LogLine(LogLevel::kWarn, "converge serve stopped");
  return st;
}

}  // namespace

void RegisterServe(Cli& cli) {
  auto o = std::make_shared<ServeOpts>();
  CLI::App* cmd = cli.Command("serve", "Run the central authority (HTTP API server)");
  cmd->add_option("--listen", o->listen, "Address to listen on (default 127.0.0.1:8080)")
      ->type_name("HOST:PORT");
  cmd->add_option("--data-dir", o->data_dir, "Data directory (default ./converge-data)")
      ->type_name("DIR");
  cmd->add_option("--config", o->config, "Settings file (default DATA/server.json if present)")
      ->type_name("FILE");
  cmd->add_option("--threads", o->threads, "Worker threads (default: 2 per core, at least 8)")
      ->type_name("N");
  cmd->add_option("--log-level", o->log_level, "debug, info (access log), warn or error")
      ->type_name("LEVEL");
  cmd->add_option("--tls-cert", o->tls_cert, "PEM certificate (chain): serve HTTPS")
      ->type_name("FILE");
  cmd->add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert")->type_name("FILE");
  CLI::Option* fsck =
      cmd->add_flag("--fsck", o->fsck,
                    "Check the data dir for damage and exit (read-only: safe while a server runs)");
  cmd->add_flag("--repair", o->repair,
                "With --fsck, server stopped: move damaged objects aside and drop the records "
                "of what cannot be served whole, so the next upload stores it again")
      ->needs(fsck);
  cmd->add_flag("--verify-audit", o->verify_audit,
                "Check the data dir's audit chain and its signed head, and exit (read-only: "
                "safe while a server runs)");
  cmd->add_option("--audit-key", o->audit_key,
                  "With --verify-audit: the public key to check against (64 hex characters, "
                  "or a file holding them; default DATA/audit-key.pub)")
      ->type_name("FILE|HEX");
  cli.Run(cmd, [o, &cli]() {
    if (o->fsck) return FsckDataDir(o->data_dir, o->repair, cli.globals.json);
    if (o->verify_audit)
      return VerifyAuditDataDirCommand(o->data_dir, o->audit_key, cli.globals.json);
    return Serve(*o);
  });
}

}  // namespace converge
