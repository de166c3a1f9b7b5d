// converge diff [FROM [TO]]: path-level changes between two snaps, or between
// a snap (default: the head) and the working tree (workspace/diff.h).
#include <iostream>

#include "base/text.h"
#include "cmd/command.h"
#include "workspace/diff.h"

namespace converge {

void RegisterDiff(Cli& cli) {
  auto ids = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = cli.Command("diff", "List added (A), modified (M) and deleted (D) paths");
  cmd->add_option("snaps", *ids, "FROM [TO]: snap IDs; without TO, the working tree")
      ->expected(0, 2);
  cli.Run(cmd, [&cli, ids]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    std::optional<std::string> from, to;
    if (!ids->empty()) from = (*ids)[0];
    if (ids->size() == 2) to = (*ids)[1];
    ASSIGN_OR_RETURN(std::vector<Change> changes, DiffWorkspace(ws, from, to));
    if (cli.globals.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const Change& c : changes)
        out.push_back({{"path", c.path}, {"change", std::string(1, c.change)}});
      PrintJson({{"changes", out}});
      return Status::Ok();
    }
    for (const Change& c : changes) std::cout << c.change << "  " << ForTerminal(c.path) << "\n";
    return Status::Ok();
  });
}

}  // namespace converge
