// converge fetch [--scope S] [--lane L | --all-lanes] [--publication ID] [--heal]:
// download the publications visible to you and every object they need.
#include <iostream>

#include "base/progress.h"
#include "client/fetch.h"
#include "cmd/command.h"
#include "cmd/terminal.h"

namespace converge {

void RegisterFetch(Cli& cli) {
  struct FetchOpts {
    ServerFlags server;
    std::string repo;
    FetchOptions fetch;
  };
  auto o = std::make_shared<FetchOpts>();
  CLI::App* cmd = cli.Command("fetch", "Download publications and the objects their snaps need");
  AddServerFlags(cmd, o->server);
  cmd->add_option("--repo", o->repo, "Repo (default: the workspace's remote)");
  cmd->add_option("--scope", o->fetch.scope, "Only this scope (default: every scope)");
  auto* lane = cmd->add_option("--lane", o->fetch.lane, "Only this lane (default: your lanes)");
  cmd->add_flag("--all-lanes", o->fetch.all_lanes, "Every lane you may read")->excludes(lane);
  cmd->add_option("--publication", o->fetch.publication, "Only this publication (ID or prefix)");
  cmd->add_flag("--heal", o->fetch.heal,
                "Also fetch what the store lacks or holds damaged under publications "
                "already fetched (after 'converge fsck --fix')");
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    ASSIGN_OR_RETURN(std::string repo, ResolveRepo(o->repo, &ws));
    ASSIGN_OR_RETURN(ApiClient api, ConnectAuthenticated(o->server, &ws));
    o->fetch.progress = !cli.globals.json;
    o->fetch.lock = LockPolicy(cli);
    Result<FetchOutcome> out = FetchPublications(ws, api, repo, o->fetch);
    if (!out.ok()) return ExplainFailure(out.status(), "", repo);
    if (cli.globals.json) {
      PrintJson({{"publications", wire::ToJson(out->publications)},
                 {"objects_fetched", out->objects_fetched},
                 {"bytes_fetched", out->bytes_fetched},
                 {"bytes_received", out->bytes_received}});
      return Status::Ok();
    }
    for (const wire::Publication& p : out->publications)
      std::cout << PublicationLine(p, /*with_lane=*/true, /*with_note=*/false) << "\n";
    Note("Fetched " + std::to_string(out->publications.size()) + " publications: " +
         std::to_string(out->objects_fetched) + " objects, " + HumanBytes(out->bytes_fetched));
    return Status::Ok();
  });
}

}  // namespace converge
