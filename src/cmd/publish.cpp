// converge publish [ID] [--scope S] [--gate G] [--lane L] [-m NOTE]: upload
// what the server lacks of a snap (default: the newest), then publish it.
#include <iostream>

#include "base/progress.h"
#include "base/text.h"
#include "client/publish.h"
#include "cmd/command.h"
#include "store/defaults.h"

namespace converge {

void RegisterPublish(Cli& cli) {
  struct PublishOpts {
    ServerFlags server;
    std::string snap, repo;
    PublishOptions publish;
  };
  auto o = std::make_shared<PublishOpts>();
  CLI::App* cmd = cli.Command("publish", "Upload a snap (default: the newest) and publish it");
  cmd->add_option("id", o->snap, "Snap ID or unique prefix");
  AddServerFlags(cmd, o->server);
  cmd->add_option("--repo", o->repo, "Repo (default: the workspace's remote)");
  cmd->add_option("--scope", o->publish.scope,
                  std::string("Scope (default: the remote's, else ") + kDefaultScope + ")");
  cmd->add_option("--gate", o->publish.gate,
                  std::string("Gate (default: the remote's, else ") + kDefaultGate + ")");
  cmd->add_option("--lane", o->publish.lane, "Lane (default: the remote's, else your only lane)");
  cmd->add_option("-m,--note", o->publish.note, "A note for the publication");
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    ASSIGN_OR_RETURN(ObjectId snap, SnapToPublish(ws, o->snap));
    ASSIGN_OR_RETURN(std::string repo, ResolveRepo(o->repo, &ws));
    PublishOptions opts = o->publish;
    FillPublishDefaults(opts, ws.config().remote);
    opts.progress = !cli.globals.json;
    opts.lock = LockPolicy(cli);
    ASSIGN_OR_RETURN(ApiClient api, ConnectAuthenticated(o->server, &ws));
    Result<PublishOutcome> out = PublishSnap(ws, api, repo, snap, opts);
    if (!out.ok()) return ExplainFailure(out.status(), "", repo);
    if (cli.globals.json) {
      nlohmann::json by_kind = nlohmann::json::object();
      for (ObjectKind k :
           {ObjectKind::kBlob, ObjectKind::kManifest, ObjectKind::kSnap, ObjectKind::kChunkList}) {
        const PublishOutcome::KindSent& k_sent = out->by_kind[static_cast<size_t>(k)];
        by_kind[KindName(k)] = {
            {"objects", k_sent.objects}, {"bytes", k_sent.bytes}, {"encoded", k_sent.encoded}};
      }
      PrintJson({{"publication", wire::ToJson(out->publication)},
                 {"objects_uploaded", out->objects_uploaded},
                 {"bytes_uploaded", out->bytes_uploaded},
                 {"negotiation_requests", out->negotiation_requests},
                 {"bytes_sent", out->bytes_sent},
                 {"pack_bytes", out->pack_bytes},
                 {"pack_version", out->pack_version},
                 {"uploaded_by_kind", by_kind}});
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
