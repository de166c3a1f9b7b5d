// converge restore ID [--to DIR] [--force]: materialize a snap into a new or
// empty directory, or make the working tree match it in place.
#include <iostream>

#include "base/progress.h"
#include "base/text.h"
#include "cmd/command.h"
#include "workspace/restore.h"
#include "workspace/snapshot.h"

namespace converge {

void RegisterRestore(Cli& cli) {
  struct RestoreOpts {
    std::string id;
    std::string to;
    bool force = false;
  };
  auto o = std::make_shared<RestoreOpts>();
  CLI::App* cmd = cli.Command("restore", "Materialize a snap, in place or into a new directory");
  cmd->add_option("id", o->id, "Snap ID or unique prefix (4+ characters)")->required();
  CLI::Option* to =
      cmd->add_option("--to", o->to, "Restore into DIR (new or empty)")->type_name("DIR");
  cmd->add_flag("-f,--force", o->force,
                "In place: discard changes no snap holds, and ignored files in the way")
      ->excludes(to);
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    bool in_place = o->to.empty();
    // In place changes the working tree and the head; --to only reads the workspace.
    std::optional<WorkspaceLock> lock;
    if (in_place) {
      ASSIGN_OR_RETURN(lock, LockWorkspace(cli, ws, "converge restore"));
    }
    ASSIGN_OR_RETURN(ObjectId id, ResolveSnapArg(ws, o->id));
    bool progress = !cli.globals.json;
    ASSIGN_OR_RETURN(RestoreStats r, in_place ? RestoreInPlace(ws, id, o->force, progress)
                                              : RestoreTo(ws, id, o->to, progress));
    for (const auto& w : r.warnings) Note("warning: " + w);
    std::string target = in_place ? ws.root().string() : fs::absolute(o->to).lexically_normal().string();
    if (cli.globals.json) {
      PrintJson({{"snap", id.hex()},
                 {"target", target},
                 {"in_place", in_place},
                 {"files", r.files},
                 {"dirs", r.dirs},
                 {"symlinks", r.symlinks},
                 {"bytes", r.bytes},
                 {"written", r.written},
                 {"removed", r.removed},
                 {"warnings", r.warnings}});
      return Status::Ok();
    }
    std::cout << "Restored snap " << id.hex().substr(0, 12) << " into " << ForTerminal(target)
              << ": " << r.files << " files, " << HumanBytes(r.bytes);
    if (in_place) std::cout << " (" << r.written << " written, " << r.removed << " removed)";
    std::cout << "\n";
    return Status::Ok();
  });
}

}  // namespace converge
