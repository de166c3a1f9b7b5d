// converge init [DIR]: make a workspace.
#include <iostream>

#include "base/text.h"
#include "cmd/command.h"

namespace converge {

void RegisterInit(Cli& cli) {
  auto dir = std::make_shared<std::string>(".");
  CLI::App* cmd = cli.Command("init", "Make a workspace in DIR (default: here)");
  cmd->add_option("dir", *dir, "Directory to make a workspace of")->type_name("DIR");
  cli.Run(cmd, [&cli, dir]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, Workspace::Init(*dir));
    if (cli.globals.json) {
      PrintJson({{"root", ws.root().string()}, {"workspace_id", ws.config().workspace_id}});
    } else {
      std::cout << "Initialized empty converge workspace in " << ForTerminal(ws.meta().string())
                << "\n";
    }
    return Status::Ok();
  });
}

}  // namespace converge
