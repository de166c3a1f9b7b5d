// converge serve: run the central authority over HTTP until SIGINT/SIGTERM.
// The start-up and the run are server/serve.h's.
#include "server/serve.h"
#include "cmd/audit_verify.h"
#include "cmd/command.h"
#include "cmd/serve_offline.h"

namespace converge {

namespace {

struct ServeOpts {
  ServeFlags serve;
  bool fsck = false;
  bool repair = false;
  bool verify_audit = false;
  std::string audit_key;
  std::string import_sqlite;
};

}  // namespace

void RegisterServe(Cli& cli) {
  auto o = std::make_shared<ServeOpts>();
  CLI::App* cmd = cli.Command("serve", "Run the central authority (HTTP API server)");
  cmd->add_option("--listen", o->serve.listen, "Address to listen on (default 127.0.0.1:8080)")
      ->type_name("HOST:PORT");
  cmd->add_option("--data-dir", o->serve.data_dir, "Data directory (default ./converge-data)")
      ->type_name("DIR");
  cmd->add_option("--config", o->serve.config,
                  "Settings file (default DATA/server.json if present)")
      ->type_name("FILE");
  cmd->add_option("--threads", o->serve.threads, "Worker threads (default: 2 per core, at least 8)")
      ->type_name("N");
  cmd->add_option("--log-level", o->serve.log_level, "debug, info (access log), warn or error")
      ->type_name("LEVEL");
  cmd->add_option("--tls-cert", o->serve.tls_cert, "PEM certificate (chain): serve HTTPS")
      ->type_name("FILE");
  cmd->add_option("--tls-key", o->serve.tls_key, "PEM private key of --tls-cert")
      ->type_name("FILE");
  cmd->add_option(
         "--trusted-proxy", o->serve.trusted_proxies,
         "Reverse proxy (address or CIDR; repeatable): its X-Forwarded-For names the client")
      ->type_name("CIDR");
  cmd->add_flag("--no-web", o->serve.no_web, "Serve no web view (the API only)");
  cmd->add_option("--db", o->serve.db,
                  "Metadata database: sqlite (default: DATA/converge.db) or a PostgreSQL URL "
                  "shared by several nodes (also CONVERGE_DB)")
      ->type_name("URL");
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
  cmd->add_option("--import-sqlite", o->import_sqlite,
                  "Copy a stopped single-node data dir's metadata into the empty PostgreSQL "
                  "database of --db (checking the audit chain on both sides), and exit")
      ->type_name("OLD_DATA_DIR");
  cli.Run(cmd, [o, &cli]() -> Status {
    ASSIGN_OR_RETURN(ServerConfig config, BuildServerConfig(o->serve));
    if (!o->import_sqlite.empty()) return ImportCommand(o->import_sqlite, config, cli.globals.json);
    if (o->fsck) return FsckDataDir(config, o->repair, cli.globals.json);
    if (o->verify_audit)
      return VerifyAuditDataDirCommand(config.data_dir, config.db, o->audit_key, cli.globals.json);
    return RunServer(config, Note);
  });
}

}  // namespace converge
