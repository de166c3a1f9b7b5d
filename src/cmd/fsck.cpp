// converge fsck [--fix]: checks (and fixes) the workspace through
// workspace/fsck.h and prints the report (cmd/fsck_report.h).
#include "cmd/command.h"
#include "cmd/fsck_report.h"
#include "workspace/fsck.h"

namespace converge {

void RegisterFsck(Cli& cli) {
  auto fix = std::make_shared<bool>(false);
  CLI::App* cmd = cli.Command("fsck", "Check the workspace's objects and records for damage");
  cmd->add_flag("--fix", *fix,
                "Remove old temp files, move damaged objects aside, drop stale stat cache "
                "entries (loses nothing)");
  cli.Run(cmd, [&cli, fix]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    // Checking only reads; --fix removes and moves files other commands use.
    std::optional<WorkspaceLock> lock;
    if (*fix) {
      ASSIGN_OR_RETURN(lock, LockWorkspace(cli, ws, "converge fsck --fix"));
    }
    ASSIGN_OR_RETURN(FsckReport report, *fix ? FixWorkspace(ws) : CheckWorkspace(ws));
    std::string hint =
        "'converge fetch --heal' fetches again what published snaps lack (after "
        "'converge fsck --fix', damaged objects too); other snaps can be restored from "
        "another workspace that has them";
    if (!*fix)
      hint +=
          "; 'converge fsck --fix' moves damaged objects aside, so that files still in "
          "the working tree are stored again by the next 'converge snap' and "
          "'converge fetch --heal' fetches the rest";
    return PrintFsckReport(report, cli.globals.json, "the workspace store", hint);
  });
}

}  // namespace converge
