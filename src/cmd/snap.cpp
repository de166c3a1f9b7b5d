// converge snap [-m MSG]: capture the working tree; print the snap id.
#include <iostream>

#include "base/progress.h"
#include "cmd/command.h"
#include "workspace/snapshot.h"

namespace converge {

void RegisterSnap(Cli& cli) {
  auto message = std::make_shared<std::string>();
  CLI::App* cmd = cli.Command("snap", "Capture the working tree as a new snap");
  cmd->add_option("-m,--message", *message, "Describe the snap");
  cli.Run(cmd, [&cli, message]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    ASSIGN_OR_RETURN(WorkspaceLock lock, LockWorkspace(cli, ws, "converge snap"));
    ASSIGN_OR_RETURN(SnapResult r, TakeSnap(ws, *message, !cli.globals.json));
    for (const auto& w : r.stats.warnings) Note("warning: " + w);
    if (cli.globals.json) {
      PrintJson({{"id", r.id.hex()},
                 {"root", r.snap.root.hex()},
                 {"created_at", r.snap.created_at},
                 {"message", r.snap.message},
                 {"parent", r.snap.parent ? nlohmann::json(r.snap.parent->hex()) : nullptr},
                 {"files", r.stats.files},
                 {"bytes", r.stats.bytes},
                 {"files_read", r.stats.files_read},
                 {"bytes_read", r.stats.bytes_read},
                 {"objects_written", r.stats.objects_written},
                 {"warnings", r.stats.warnings}});
    } else {
      std::cout << r.id.hex() << "\n";
      Note(std::to_string(r.stats.files) + " files, " + HumanBytes(r.stats.bytes) + " (" +
           std::to_string(r.stats.files_read) + " read, " +
           std::to_string(r.stats.objects_written) + " new objects)");
    }
    return Status::Ok();
  });
}

}  // namespace converge
