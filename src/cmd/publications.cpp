// converge publications [--scope S] [--lane L | --all-lanes] [--remote]: the
// publications fetched into this workspace (or, with --remote, the server's),
// through client/publication_list.h.
#include <iostream>

#include "client/publication_list.h"
#include "cmd/command.h"
#include "cmd/terminal.h"

namespace converge {

void RegisterPublications(Cli& cli) {
  struct PublicationsOpts {
    ServerFlags server;
    std::string repo;
    PublicationListOptions list;
    bool remote = false;
  };
  auto o = std::make_shared<PublicationsOpts>();
  CLI::App* cmd = cli.Command("publications", "List publications (fetched ones, or --remote)");
  AddServerFlags(cmd, o->server);
  cmd->add_option("--repo", o->repo, "Repo (default: the workspace's remote)");
  cmd->add_option("--scope", o->list.scope, "Only this scope");
  cmd->add_option("--gate", o->list.gate, "Only this gate");
  auto* lane = cmd->add_option("--lane", o->list.lane, "Only this lane (default: your lanes)");
  cmd->add_flag("--all-lanes", o->list.all_lanes, "Every lane")->excludes(lane);
  cmd->add_flag("--remote", o->remote, "Ask the server instead of the workspace's record");
  cmd->add_option("-n,--limit", o->list.limit, "At most N (default 50)");
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    ASSIGN_OR_RETURN(std::string repo, ResolveRepo(o->repo, &ws));
    auto list = [&]() -> Result<std::vector<wire::Publication>> {
      if (!o->remote) return ListFetchedPublications(ws, repo, o->list);
      ASSIGN_OR_RETURN(ApiClient api, ConnectAuthenticated(o->server, &ws));
      return ListServerPublications(api, repo, o->list);
    }();
    if (!list.ok()) return ExplainFailure(list.status(), "", repo);
    if (cli.globals.json) {
      PrintJson(wire::ToJson(*list));
      return Status::Ok();
    }
    if (list->empty())
      Note(o->remote ? "no publications"
                     : "no publications fetched yet "
                       "(run 'converge fetch')");
    for (const wire::Publication& p : *list)
      std::cout << PublicationLine(p, /*with_lane=*/true, /*with_note=*/true) << "\n";
    return Status::Ok();
  });
}

}  // namespace converge
