// converge: one binary, git-style subcommands. Each lives in src/cmd/ and
// registers itself here; this file only parses and dispatches.
#include "cmd/command.h"
#include "store/pack_writer.h"

int main(int argc, char** argv) {
  converge::ArmStepKillFromEnvironment();  // crash tests only; nothing unless asked
  return converge::RunCommandLine(argc, argv);
}
