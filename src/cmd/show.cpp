// converge show ID: a snap's metadata and a summary of its tree.
#include <iostream>

#include "base/progress.h"
#include "base/text.h"
#include "cmd/command.h"
#include "workspace/snap_index.h"
#include "store/tree.h"
#include "workspace/snapshot.h"

namespace converge {

void RegisterShow(Cli& cli) {
  auto id = std::make_shared<std::string>();
  CLI::App* cmd = cli.Command("show", "Show a snap's metadata and a summary of its tree");
  cmd->add_option("id", *id, "Snap ID or unique prefix (4+ characters)")->required();
  cli.Run(cmd, [&cli, id]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    ASSIGN_OR_RETURN(ObjectId snap_id, ResolveSnapArg(ws, *id));
    ASSIGN_OR_RETURN(Snap snap, TreeReader(ws.store()).ReadSnap(snap_id));
    ASSIGN_OR_RETURN(TreeSummary sum, Summarize(ws.store(), snap.root));
    nlohmann::json parent = snap.parent ? nlohmann::json(snap.parent->hex()) : nullptr;
    if (cli.globals.json) {
      PrintJson({{"id", snap_id.hex()},
                 {"root", snap.root.hex()},
                 {"created_at", snap.created_at},
                 {"message", snap.message},
                 {"workspace_id", snap.workspace_id},
                 {"parent", parent},
                 {"files", sum.files},
                 {"dirs", sum.dirs},
                 {"symlinks", sum.symlinks},
                 {"bytes", sum.bytes}});
      return Status::Ok();
    }
    std::cout << "snap       " << snap_id.hex() << "\n"
              << "root       " << snap.root.hex() << "\n"
              << "parent     " << (snap.parent ? snap.parent->hex() : "(none)") << "\n"
              << "created    " << ForTerminal(snap.created_at) << "\n"
              << "workspace  " << ForTerminal(snap.workspace_id) << "\n"
              << "contents   " << sum.files << " files, " << sum.dirs << " directories, "
              << sum.symlinks << " symlinks, " << HumanBytes(sum.bytes) << "\n\n";
    // The message line by line, like git log: each line escaped on its own.
    std::string_view message = snap.message;
    if (!message.empty() && message.back() == '\n') message.remove_suffix(1);
    for (;;) {
      size_t nl = message.find('\n');
      std::string line = ForTerminal(message.substr(0, nl));
      std::cout << (line.empty() ? "" : "    ") << line << "\n";
      if (nl == std::string_view::npos) break;
      message.remove_prefix(nl + 1);
    }
    return Status::Ok();
  });
}

}  // namespace converge
