#include "cmd/command.h"

#include <unistd.h>

#include <cstdio>
#include <exception>
#include <iostream>

#include "base/json.h"
#include "base/progress.h"
#include "base/random.h"
#include "base/text.h"
#include "cmd/build_info.h"
#include "cmd/terminal.h"

namespace converge {

Cli::Cli() : app("converge: local-first snapshots and a central authority for publishing them") {
  app.require_subcommand(1);
  app.set_version_flag("--version", VersionLine());
  app.add_option("-C", globals.dir, "Run as if converge was started in DIR")->type_name("DIR");
  app.add_flag("--json", globals.json, "Print exactly one JSON document on stdout");
  app.add_flag("--no-wait", globals.no_wait,
               "Fail at once, instead of waiting, when another converge command is changing "
               "the workspace");
}

CLI::App* Cli::Command(const std::string& name, const std::string& description, CLI::App* parent) {
  CLI::App* sub = (parent ? parent : &app)->add_subcommand(name, description);
  sub->fallthrough();
  return sub;
}

void Cli::Run(CLI::App* sub, std::function<Status()> fn) {
  sub->callback([this, fn] { action_ = fn; });
}

int Cli::Main(int argc, char** argv) {
  TerminalGuard guard;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << ForTerminal(e.what()) << "\n(run 'converge --help' for usage)\n";
    return 2;
  }
  Progress::SetQuiet(globals.json);  // --json output is for scripts: no meter
  if (!globals.json) guard.GuardStdout();
  if (!globals.dir.empty() && ::chdir(globals.dir.c_str()) != 0) {
    std::cerr << "error: cannot change to directory " << Quote(globals.dir) << "\n";
    return 1;
  }
  if (!action_) return 2;
  Status st;
  try {
    st = action_();
  } catch (const std::exception& e) {
    // Errors cross layers as Status; an exception here is a converge bug (a
    // library threw). Say so in one line instead of aborting with a core dump.
    st = Internal(std::string("internal error: ") + e.what() +
                  " (this is a bug in converge; please report it)");
  }
  if (!st.ok()) {
    // Messages quote names, paths and servers' words: one escaped line.
    std::cerr << "error: " << ForTerminal(st.message()) << "\n";
    return 1;
  }
  return 0;
}

int RunCommandLine(int argc, char** argv) {
  InitCrypto();
  Cli cli;
  // Only the command asked for is built: every option of every command
  // would cost a short command's start ~50 of its ~470 page faults here
  // (~2 ms; more under ASan, which records each allocation's stack). A name
  // that is not a command gets them all, so CLI11's errors are unchanged.
  RegisterCommands(cli, NamedCommand(argc, argv));
  return cli.Main(argc, argv);
}

void PrintJson(const nlohmann::json& j) {
  std::cout << DumpForTerminal(j, 2) << "\n";
}

void Note(const std::string& line) {
  std::cerr << ForTerminal(line) << "\n";
}

Result<Workspace> OpenWorkspace() {
  return Workspace::Find(fs::current_path());
}

LockOptions LockPolicy(const Cli& cli) {
  LockOptions o;
  o.wait = !cli.globals.no_wait;
  o.on_wait = [](const std::string& line) { Note(line); };
  return o;
}

Result<WorkspaceLock> LockWorkspace(const Cli& cli, const Workspace& ws,
                                    const std::string& command) {
  return WorkspaceLock::Acquire(ws, command, LockPolicy(cli));
}

void AddServerFlags(CLI::App* cmd, ServerFlags& flags) {
  cmd->add_option("--url", flags.url,
                  "Server URL (default: the workspace's remote, else the last login)");
  cmd->add_option("--ca-file", flags.ca_file,
                  "PEM file of the CA that signed the server's certificate (or CONVERGE_CA_FILE)");
}

}  // namespace converge
