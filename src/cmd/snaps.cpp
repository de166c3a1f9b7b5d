// converge snaps: list snaps, newest first.
#include <iostream>

#include "base/text.h"
#include "cmd/command.h"
#include "workspace/snap_index.h"

namespace converge {

namespace {
std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }
}  // namespace

void RegisterSnaps(Cli& cli) {
  struct SnapsOpts {
    bool all = false;
    int limit = -1;
  };
  auto o = std::make_shared<SnapsOpts>();
  CLI::App* cmd = cli.Command("snaps", "List snaps, newest first");
  cmd->add_flag("--all", o->all, "Include snaps fetched with publications");
  cmd->add_option("-n,--limit", o->limit, "Show at most N snaps")->type_name("N");
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    ASSIGN_OR_RETURN(auto list, SnapIndex(ws.db()).List(o->all, o->limit));
    if (cli.globals.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const SnapRecord& r : list)
        out.push_back({{"id", r.id.hex()},
                       {"root", r.snap.root.hex()},
                       {"created_at", r.snap.created_at},
                       {"message", r.snap.message},
                       {"parent", r.snap.parent ? nlohmann::json(r.snap.parent->hex()) : nullptr},
                       {"workspace_id", r.snap.workspace_id},
                       {"origin", r.origin}});
      PrintJson(out);
      return Status::Ok();
    }
    for (const SnapRecord& r : list)
      std::cout << r.id.hex().substr(0, 12) << "  " << ForTerminal(r.snap.created_at) << "  "
                << (r.origin == "local" ? "" : "(fetched) ")
                << ForTerminal(FirstLine(r.snap.message)) << "\n";
    return Status::Ok();
  });
}

}  // namespace converge
