// The table of top-level commands (cmd/command.h): which registration a
// command line needs.
#include <string_view>

#include "cmd/command.h"

namespace converge {

namespace {

// Every top-level command and the function that registers it (login's file
// registers three).
struct CommandEntry {
  std::string_view name;
  void (*reg)(Cli&);
};
constexpr CommandEntry kCommands[] = {
    {"init", RegisterInit},     {"snap", RegisterSnap},
    {"snaps", RegisterSnaps},   {"show", RegisterShow},
    {"diff", RegisterDiff},     {"restore", RegisterRestore},
    {"serve", RegisterServe},   {"login", RegisterLogin},
    {"logout", RegisterLogin},  {"whoami", RegisterLogin},
    {"remote", RegisterRemote}, {"publish", RegisterPublish},
    {"fetch", RegisterFetch},   {"publications", RegisterPublications},
    {"status", RegisterStatus}, {"user", RegisterUser},
    {"token", RegisterToken},   {"repo", RegisterRepo},
    {"lane", RegisterLane},     {"scope", RegisterScope},
    {"gates", RegisterGates},   {"audit", RegisterAudit},
    {"fsck", RegisterFsck},     {"repack", RegisterRepack},
    {"gc", RegisterGc},         {"clone", RegisterClone},
};

}  // namespace

// A help flag before the command asks for the top-level help, which lists
// every command: no name then.
std::string_view NamedCommand(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    std::string_view a = argv[i];
    if (a == "-C") {
      i++;
      continue;
    }
    if (a == "-h" || a == "--help") return {};
    if (a.starts_with("-")) continue;
    return a;
  }
  return {};
}

void RegisterCommands(Cli& cli, std::string_view only) {
  void (*last)(Cli&) = nullptr;
  bool named = false;
  for (const CommandEntry& c : kCommands) {
    if (c.name == only) {
      c.reg(cli);
      named = true;
    }
  }
  if (named) return;
  for (const CommandEntry& c : kCommands) {
    if (c.reg != last) c.reg(cli);
    last = c.reg;
  }
}

}  // namespace converge
