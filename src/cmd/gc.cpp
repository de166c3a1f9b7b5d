// converge gc [--dry-run] [--grace DURATION] [--data-dir DIR [--db URL]
// [--config FILE]]: removes the objects no snap, publication or record
// needs, from the workspace (workspace/gc.h) or a server's data dir
// (server/gc.h), and says what it kept and removed (cmd/gc_report.h).
#include "server/gc.h"
#include "cmd/command.h"
#include "cmd/gc_report.h"
#include "server/serve.h"
#include "workspace/gc.h"

namespace converge {

namespace {

struct GcFlags {
  bool dry_run = false;
  bool all = false;
  std::string grace = "1h";
  std::string data_dir, db, config;
};

std::string Plural(uint64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

void RegisterGc(Cli& cli) {
  auto f = std::make_shared<GcFlags>();
  CLI::App* cmd = cli.Command(
      "gc", "Remove objects no snap, publication or record needs (and repack what stays)");
  cmd->add_flag("--dry-run", f->dry_run, "Say what would be removed; change nothing");
  cmd->add_flag("--all", f->all,
                "Rewrite every old pack holding garbage (default: a large one only when 5% of "
                "it is)");
  cmd->add_option("--grace", f->grace,
                  "Keep unreferenced objects written less than this long ago (default 1h; "
                  "e.g. 90s, 30m, 2h, 14d)")
      ->type_name("DURATION");
  cmd->add_option("--data-dir", f->data_dir,
                  "A server's data dir instead of the workspace (safe beside running servers)")
      ->type_name("DIR");
  cmd->add_option("--db", f->db,
                  "With --data-dir: the servers' metadata database, as for serve (also "
                  "CONVERGE_DB, or \"db\" in DATA/server.json)")
      ->type_name("URL");
  cmd->add_option("--config", f->config, "With --data-dir: the servers' settings file")
      ->type_name("FILE");
  cli.Run(cmd, [&cli, f]() -> Status {
    ASSIGN_OR_RETURN(int64_t grace, ParseGrace(f->grace));
    if (f->data_dir.empty() && (!f->db.empty() || !f->config.empty()))
      return Invalid("--db and --config go with --data-dir (a server's data dir)");
    if (!f->data_dir.empty()) {
      ServeFlags serve;
      serve.data_dir = f->data_dir;
      serve.db = f->db;
      serve.config = f->config;
      ASSIGN_OR_RETURN(ServerConfig config, BuildServerConfig(serve));
      ASSIGN_OR_RETURN(DataDirGcReport r, CollectDataDirGarbage(config.data_dir, config.db, grace,
                                                                f->dry_run, f->all));
      std::string kept =
          "that " + Plural(r.object_rows, "objects row records", "objects rows record") + " or " +
          Plural(r.repos, "repo holds", "repos hold") + " (" + std::to_string(r.held_rows) +
          " membership rows), and under " + Plural(r.publications, "publication", "publications");
      PrintGcReport(r.stats, grace, f->dry_run, cli.globals.json, kept,
                    {{"object_rows", r.object_rows},
                     {"repos", r.repos},
                     {"held_rows", r.held_rows},
                     {"publications", r.publications}});
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    // The gc lock before the workspace lock: a fetch holds it (shared) and
    // then takes the workspace lock to record.
    ASSIGN_OR_RETURN(GcLock gc_lock, GcLock::Exclusive(ws, LockPolicy(cli)));
    ASSIGN_OR_RETURN(WorkspaceLock lock, LockWorkspace(cli, ws, "converge gc"));
    ASSIGN_OR_RETURN(WorkspaceGcReport r, CollectWorkspaceGarbage(ws, grace, f->dry_run, f->all));
    std::string kept = "under " + Plural(r.snaps, "snap", "snaps") + ", " +
                       Plural(r.publications, "fetched publication", "fetched publications") +
                       (r.head ? ", the head" : "") + " and the stat cache (" +
                       Plural(r.cached, "object", "objects") + ")";
    PrintGcReport(r.stats, grace, f->dry_run, cli.globals.json, kept,
                  {{"snaps", r.snaps},
                   {"publications", r.publications},
                   {"head", r.head},
                   {"stat_cache", r.cached}});
    return Status::Ok();
  });
}

}  // namespace converge
