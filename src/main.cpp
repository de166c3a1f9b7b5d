// converge: one binary, git-style subcommands. Each lives in src/cmd/ and
// registers itself here; this file only parses and dispatches.
#include "cmd/command.h"

int main(int argc, char** argv) { return converge::RunCommandLine(argc, argv); }
