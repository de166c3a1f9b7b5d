// The frame every subcommand plugs into. Each src/cmd/<name>.cpp defines one
// Register<Name>(Cli&) that adds its subcommand and flags and, via Cli::Run,
// the function to call after parsing: parse flags, call the library, print.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"
#include "client/session.h"
#include "workspace/lock.h"
#include "workspace/workspace.h"

namespace converge {

struct Globals {
  std::string dir;       // -C DIR
  bool json = false;     // --json
  bool no_wait = false;  // --no-wait: fail instead of waiting for the workspace lock
};

class Cli {
 public:
  Cli();
  CLI::App app;
  Globals globals;

  // A new subcommand (of `parent`, or of the top level) that accepts the
  // global flags anywhere on its command line.
  CLI::App* Command(const std::string& name, const std::string& description,
                    CLI::App* parent = nullptr);
  // Runs `fn` when `sub` was the chosen subcommand.
  void Run(CLI::App* sub, std::function<Status()> fn);

  int Main(int argc, char** argv);

 private:
  std::function<Status()> action_;
};

int RunCommandLine(int argc, char** argv);
// The command a command line names: its first argument that is neither a
// global option nor -C's value; empty when a help flag comes first.
std::string_view NamedCommand(int argc, char** argv);
// Registers the top-level command `only` (with its subcommands), or every
// command when `only` names none (cmd/command_table.cpp).
void RegisterCommands(Cli& cli, std::string_view only);

// Output helpers: data to stdout, exactly one JSON document under --json
// (DumpForTerminal: no raw C1 or bidi control in it, the same value).
void PrintJson(const nlohmann::json& j);
// Progress and notes go to stderr, never to stdout. A note is one line,
// escaped whole with ForTerminal.
void Note(const std::string& line);
// Human output: every field someone else wrote goes through ForTerminal
// (base/text.h); cmd/terminal.h says why and what guards the rest.

// The workspace containing the current directory (after -C).
Result<Workspace> OpenWorkspace();

// How this run takes the workspace lock (workspace/lock.h): waits, saying so
// on stderr, unless --no-wait.
LockOptions LockPolicy(const Cli& cli);
// Takes the workspace lock for the rest of the command.
Result<WorkspaceLock> LockWorkspace(const Cli& cli, const Workspace& ws,
                                    const std::string& command);

// Adds --url and --ca-file to a command that talks to a server.
void AddServerFlags(CLI::App* cmd, ServerFlags& flags);

// Registration, one per file in src/cmd/.
void RegisterInit(Cli& cli);
void RegisterSnap(Cli& cli);
void RegisterSnaps(Cli& cli);
void RegisterShow(Cli& cli);
void RegisterDiff(Cli& cli);
void RegisterRestore(Cli& cli);
void RegisterServe(Cli& cli);
void RegisterLogin(Cli& cli);  // login, logout, whoami
void RegisterRemote(Cli& cli);
void RegisterPublish(Cli& cli);
void RegisterFetch(Cli& cli);
void RegisterClone(Cli& cli);
void RegisterPublications(Cli& cli);
void RegisterStatus(Cli& cli);
void RegisterUser(Cli& cli);
void RegisterToken(Cli& cli);
void RegisterRepo(Cli& cli);
void RegisterLane(Cli& cli);
void RegisterScope(Cli& cli);
void RegisterGates(Cli& cli);
void RegisterAudit(Cli& cli);
void RegisterFsck(Cli& cli);
void RegisterRepack(Cli& cli);
void RegisterGc(Cli& cli);

}  // namespace converge
