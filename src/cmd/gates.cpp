// converge gates [--set FILE]: show the configured repo's gate graph, or (repo
// admins) replace it with the GateGraph in FILE (docs/api.md), read through
// client/gate_graph_file.h.
#include <iostream>

#include "client/gate_graph_file.h"
#include "cmd/admin_util.h"

namespace converge {

void RegisterGates(Cli& cli) {
  struct GatesOpts {
    RepoFlags repo;
    std::string set_file;
  };
  auto o = std::make_shared<GatesOpts>();
  CLI::App* cmd = cli.Command("gates", "Show the repo's gate graph, or replace it (repo admins)");
  AddRepoFlags(cmd, o->repo);
  cmd->add_option("--set", o->set_file,
                  "Replace the gate graph with the one in FILE ('-': stdin), of the shape "
                  "{\"gates\": [{\"id\": \"dev-intake\", \"upstream\": []}, ...]}")
      ->type_name("FILE");
  cli.Run(cmd, [&cli, o]() -> Status {
    std::optional<wire::GateGraph> wanted;
    if (!o->set_file.empty()) {
      // Read the file first: a broken file never needs the server.
      ASSIGN_OR_RETURN(wanted, ReadGateGraphFile(o->set_file));
    }
    ASSIGN_OR_RETURN(RepoSession s, ConnectToRepo(o->repo));
    Result<wire::GateGraph> graph =
        wanted ? s.api.SetGateGraph(s.repo, *wanted) : s.api.GetGateGraph(s.repo);
    if (!graph.ok()) {
      Status st = ExplainFailure(graph.status(), wanted ? "replace the gate graph" : "", s.repo);
      if (wanted && st.code() == Code::kInvalid)
        return st.With("the server refused the gate graph in '" + o->set_file + "'");
      return st;
    }
    if (cli.globals.json) {
      PrintJson(wire::ToJson(*graph));
      return Status::Ok();
    }
    if (wanted) Note("Replaced the gate graph of repo " + s.repo + ":");
    PrintGateGraph(*graph, "", std::cout);
    return Status::Ok();
  });
}

}  // namespace converge
