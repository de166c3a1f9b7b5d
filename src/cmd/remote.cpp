// converge remote set|show: where this workspace publishes and fetches.
#include <iostream>

#include "base/text.h"
#include "client/credentials.h"
#include "cmd/command.h"
#include "store/defaults.h"

namespace converge {

namespace {

nlohmann::json RemoteJson(const Remote& r) {
  return {{"url", r.url}, {"repo", r.repo}, {"scope", r.scope}, {"gate", r.gate},
          {"lane", r.lane}};
}

void PrintRemote(const Remote& r) {
  std::cout << "url    " << ForTerminal(r.url) << "\n"
            << "repo   " << ForTerminal(r.repo) << "\n"
            << "scope  " << ForTerminal(r.scope) << "\n"
            << "gate   " << ForTerminal(r.gate) << "\n"
            << "lane   "
            << (r.lane.empty() ? "(your only lane, else 'default')" : ForTerminal(r.lane)) << "\n";
}

}  // namespace

void RegisterRemote(Cli& cli) {
  CLI::App* remote = cli.Command("remote", "Show or set this workspace's remote");
  remote->require_subcommand(1);

  auto r = std::make_shared<Remote>();
  CLI::App* set = cli.Command("set", "Set the server, repo and defaults publish and fetch use",
                              remote);
  set->add_option("--url", r->url, "Server URL")->required();
  set->add_option("--repo", r->repo, "Repo on that server")->required();
  set->add_option("--scope", r->scope, std::string("Default scope (default: ") + kDefaultScope + ")");
  set->add_option("--gate", r->gate, std::string("Default gate (default: ") + kDefaultGate + ")");
  set->add_option("--lane", r->lane, std::string("Default lane (default: your only lane, else '") + kDefaultLane + "')");
  cli.Run(set, [&cli, r]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    ASSIGN_OR_RETURN(WorkspaceLock lock, LockWorkspace(cli, ws, "converge remote set"));
    Remote remote = *r;
    ASSIGN_OR_RETURN(remote.url, CanonicalServerUrl(r->url));
    WorkspaceConfig config = ws.config();
    config.remote = remote;
    RETURN_IF_ERROR(ws.SaveConfig(config));
    if (cli.globals.json) PrintJson(RemoteJson(remote));
    else PrintRemote(remote);
    return Status::Ok();
  });

  CLI::App* show = cli.Command("show", "Show the workspace's remote", remote);
  cli.Run(show, [&cli]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    if (!ws.config().remote)
      return NotFound("this workspace has no remote: run 'converge remote set --url URL "
                      "--repo REPO'");
    if (cli.globals.json) PrintJson(RemoteJson(*ws.config().remote));
    else PrintRemote(*ws.config().remote);
    return Status::Ok();
  });
}

}  // namespace converge
