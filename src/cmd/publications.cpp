// converge publications [--scope S] [--lane L | --all-lanes] [--remote]: the
// publications fetched into this workspace (or, with --remote, the server's).
#include <iostream>

#include "base/text.h"
#include "client/credentials.h"
#include "workspace/publication_index.h"
#include "client/publish.h"
#include "cmd/command.h"
#include "cmd/terminal.h"
#include "net/pager.h"

namespace converge {

namespace {

struct PublicationsOpts {
  ServerFlags server;
  std::string repo, scope, lane, gate;
  bool all_lanes = false, remote = false;
  int limit = 50;
};

Result<std::vector<wire::Publication>> FromServer(Workspace& ws, const PublicationsOpts& o,
                                                  const std::string& repo) {
  ASSIGN_OR_RETURN(ApiClient api, ConnectAuthenticated(o.server, &ws));
  std::vector<std::string> lanes;
  if (!o.lane.empty()) lanes = {o.lane};
  else if (!o.all_lanes) {
    ASSIGN_OR_RETURN(MyLanes mine, FindMyLanes(api, repo));
    lanes = mine.lanes;
  }
  if (lanes.empty()) lanes.push_back("");
  std::vector<wire::Publication> out;
  // The newest page of each lane, all on one budget (the server names the lanes).
  Pager pager(api.http(), "the publications of repo " + Quote(repo));
  for (const std::string& lane : lanes) {
    PublicationFilter f;
    f.scope = o.scope;
    f.gate = o.gate;
    f.lane = lane;
    f.limit = o.limit;
    RETURN_IF_ERROR(pager.Restart());
    ASSIGN_OR_RETURN(wire::PublicationPage page, api.ListPublications(repo, f));
    RETURN_IF_ERROR(pager.Advance(page.publications.size(), std::nullopt).status());
    out.insert(out.end(), page.publications.begin(), page.publications.end());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.created_at > b.created_at;
  });
  if (static_cast<int>(out.size()) > o.limit) out.resize(static_cast<size_t>(o.limit));
  return out;
}

Result<std::vector<wire::Publication>> FromWorkspace(Workspace& ws, const PublicationsOpts& o,
                                                     const std::string& repo) {
  PublicationIndex index(ws.db());
  LocalPublicationFilter f;
  f.repo = repo;
  f.scope = o.scope;
  f.gate = o.gate;
  f.limit = o.limit;
  if (ws.config().remote && ws.config().remote->repo == repo)
    f.url = NormalizeUrl(ws.config().remote->url);
  if (!o.lane.empty()) f.lanes = {o.lane};
  else if (!o.all_lanes && !f.url.empty()) {
    ASSIGN_OR_RETURN(f.lanes, index.KnownLanes(f.url, repo));
  }
  return index.List(f);
}

}  // namespace

void RegisterPublications(Cli& cli) {
  auto o = std::make_shared<PublicationsOpts>();
  CLI::App* cmd = cli.Command("publications", "List publications (fetched ones, or --remote)");
  AddServerFlags(cmd, o->server);
  cmd->add_option("--repo", o->repo, "Repo (default: the workspace's remote)");
  cmd->add_option("--scope", o->scope, "Only this scope");
  cmd->add_option("--gate", o->gate, "Only this gate");
  auto* lane = cmd->add_option("--lane", o->lane, "Only this lane (default: your lanes)");
  cmd->add_flag("--all-lanes", o->all_lanes, "Every lane")->excludes(lane);
  cmd->add_flag("--remote", o->remote, "Ask the server instead of the workspace's record");
  cmd->add_option("-n,--limit", o->limit, "At most N (default 50)");
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    ASSIGN_OR_RETURN(std::string repo, ResolveRepo(o->repo, &ws));
    Result<std::vector<wire::Publication>> list =
        o->remote ? FromServer(ws, *o, repo) : FromWorkspace(ws, *o, repo);
    if (!list.ok()) return ExplainFailure(list.status(), "", repo);
    if (cli.globals.json) {
      PrintJson(wire::ToJson(*list));
      return Status::Ok();
    }
    if (list->empty()) Note(o->remote ? "no publications" : "no publications fetched yet "
                                                            "(run 'converge fetch')");
    for (const wire::Publication& p : *list)
      std::cout << PublicationLine(p, /*with_lane=*/true, /*with_note=*/true) << "\n";
    return Status::Ok();
  });
}

}  // namespace converge
