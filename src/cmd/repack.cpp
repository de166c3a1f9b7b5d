// converge repack [--all] [--data-dir DIR]: folds the loose objects and
// small packs of the workspace (or of a server's data dir) into one pack
// through store/repack.h, and says what it did.
#include <iostream>

#include "base/progress.h"
#include "cmd/command.h"
#include "server/repack.h"

namespace converge {

void RegisterRepack(Cli& cli) {
  auto data_dir = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  CLI::App* cmd = cli.Command("repack", "Fold loose objects and small packs into one pack");
  cmd->add_flag("--all", *all, "Fold large packs too (every object is rewritten)");
  cmd->add_option("--data-dir", *data_dir,
                  "A server's data dir instead of the workspace (safe beside a running server)");
  cli.Run(cmd, [&cli, data_dir, all]() -> Status {
    RepackOptions options;
    if (*all) options.keep_packs_from = 0;
    RepackStats s;
    if (!data_dir->empty()) {
      ASSIGN_OR_RETURN(s, RepackDataDir(*data_dir, options));
    } else {
      ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
      ASSIGN_OR_RETURN(WorkspaceLock lock, LockWorkspace(cli, ws, "converge repack"));
      ASSIGN_OR_RETURN(s, Repack(ws.store(), options));
    }
    if (cli.globals.json) {
      PrintJson({{"objects", s.objects},
                 {"loose_folded", s.loose_folded},
                 {"indexes_folded", s.indexes_folded},
                 {"packs_removed", s.packs_removed},
                 {"packs_kept", s.packs_kept},
                 {"bytes_before", s.bytes_before},
                 {"bytes_after", s.bytes_after},
                 {"index", s.index}});
      return Status::Ok();
    }
    if (s.index.empty() && s.indexes_folded == 0) {
      std::cout << "nothing to repack (" << s.packs_kept << " large packs kept)\n";
      return Status::Ok();
    }
    std::cout << "repacked " << s.objects << " objects (" << s.loose_folded << " loose files, "
              << s.indexes_folded << " pack indexes) into "
              << (s.index.empty() ? std::string("no new pack") : s.index) << ": "
              << HumanBytes(s.bytes_before) << " -> " << HumanBytes(s.bytes_after) << "; "
              << s.packs_kept << " large packs kept\n";
    return Status::Ok();
  });
}

}  // namespace converge
