// converge restore ID [--to DIR] [--force]: placeholder until restore lands.
#include "cmd/command.h"

namespace converge {

void RegisterRestore(Cli& cli) {
  CLI::App* cmd = cli.Command("restore", "Materialize a snap");
  cli.Run(cmd, []() -> Status { return Internal("restore is not built yet"); });
}

}  // namespace converge
