// converge publish [ID] [--scope S] [--gate G] [--lane L] [-m NOTE]: upload
// what the server lacks of a snap (default: the newest), then publish it.
#include <iostream>

#include "base/progress.h"
#include "base/text.h"
#include "client/publish.h"
#include "cmd/command.h"
#include "store/defaults.h"
#include "workspace/snap_index.h"
#include "workspace/snapshot.h"

namespace converge {

void RegisterPublish(Cli& cli) {
  struct PublishOpts {
    ServerFlags server;
    std::string snap, repo, scope, gate, lane, note;
  };
  auto o = std::make_shared<PublishOpts>();
  CLI::App* cmd = cli.Command("publish", "Upload a snap (default: the newest) and publish it");
  cmd->add_option("id", o->snap, "Snap ID or unique prefix");
  AddServerFlags(cmd, o->server);
  cmd->add_option("--repo", o->repo, "Repo (default: the workspace's remote)");
  cmd->add_option("--scope", o->scope, std::string("Scope (default: the remote's, else ") + kDefaultScope + ")");
  cmd->add_option("--gate", o->gate, std::string("Gate (default: the remote's, else ") + kDefaultGate + ")");
  cmd->add_option("--lane", o->lane, "Lane (default: the remote's, else your only lane)");
  cmd->add_option("-m,--note", o->note, "A note for the publication");
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    ObjectId snap;
    if (o->snap.empty()) {
      ASSIGN_OR_RETURN(std::optional<SnapRecord> newest, SnapIndex(ws.db()).Newest());
      if (!newest) return NotFound("no snaps to publish yet: run 'converge snap' first");
      snap = newest->id;
    } else {
      ASSIGN_OR_RETURN(snap, ResolveSnapArg(ws, o->snap));
    }
    ASSIGN_OR_RETURN(std::string repo, ResolveRepo(o->repo, &ws));
    const std::optional<Remote>& remote = ws.config().remote;
    PublishOptions opts;
    opts.scope = !o->scope.empty() ? o->scope : remote ? remote->scope : kDefaultScope;
    opts.gate = !o->gate.empty() ? o->gate : remote ? remote->gate : kDefaultGate;
    opts.lane = !o->lane.empty() ? o->lane : remote ? remote->lane : "";
    opts.note = o->note;
    opts.progress = !cli.globals.json;
    opts.lock = LockPolicy(cli);
    ASSIGN_OR_RETURN(ApiClient api, ConnectAuthenticated(o->server, &ws));
    Result<PublishOutcome> out = PublishSnap(ws, api, repo, snap, opts);
    if (!out.ok()) return ExplainFailure(out.status(), "", repo);
    if (cli.globals.json) {
      PrintJson({{"publication", wire::ToJson(out->publication)},
                 {"objects_uploaded", out->objects_uploaded},
                 {"bytes_uploaded", out->bytes_uploaded},
                 {"negotiation_requests", out->negotiation_requests}});
    } else {
      const wire::Publication& p = out->publication;
      std::cout << ForTerminal(p.id) << "\n";
      Note("Published snap " + p.snap.substr(0, 12) + " to " + repo + " (scope " + p.scope +
           ", gate " + p.gate + ", lane " + p.lane + "): " + std::to_string(out->objects_uploaded) +
           " objects, " + HumanBytes(out->bytes_uploaded) + " uploaded");
    }
    return Status::Ok();
  });
}

}  // namespace converge
