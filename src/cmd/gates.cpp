// converge gates [--set FILE]: show the configured repo's gate graph, or (repo
// admins) replace it with the GateGraph in FILE (docs/api.md).
#include <iostream>
#include <iterator>
#include <set>

#include "base/fs.h"
#include "base/json.h"
#include "cmd/admin_util.h"

namespace converge {

namespace {

// Fields a gate may have: anything else is a typo (say "upstreams") that would
// otherwise vanish silently and leave a gate with no upstream.
Status CheckGateKeys(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("gates") || !j["gates"].is_array())
    return Invalid("expected a JSON object {\"gates\": [{\"id\": ..., \"upstream\": [...]}, ...]}");
  for (const auto& [key, value] : j.items())
    if (key != "gates") return Invalid("unknown field \"" + key + "\" (only \"gates\")");
  static const std::set<std::string> kGateKeys = {"id", "upstream", "description"};
  for (const nlohmann::json& g : j["gates"]) {
    if (!g.is_object()) return Invalid("each gate must be a JSON object");
    for (const auto& [key, value] : g.items())
      if (!kGateKeys.count(key))
        return Invalid("unknown gate field \"" + key + "\" (known: id, upstream, description)");
  }
  return Status::Ok();
}

Result<wire::GateGraph> ReadGateGraph(const std::string& file) {
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    Result<std::string> read = ReadFile(file);
    if (!read.ok()) return read.status().With("cannot read gate graph file '" + file + "'");
    text = std::move(*read);
  }
  std::string where = file == "-" ? "the gate graph on stdin" : "gate graph file '" + file + "'";
  Result<nlohmann::json> j = ParseJson(text);
  if (!j.ok()) return j.status().With(where);
  RETURN_IF_ERROR(CheckGateKeys(*j).With(where));
  wire::GateGraph graph;
  RETURN_IF_ERROR(wire::FromJson(*j, graph).With(where));
  return graph;
}

}  // namespace

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
      ASSIGN_OR_RETURN(wanted, ReadGateGraph(o->set_file));
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
