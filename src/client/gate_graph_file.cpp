#include "client/gate_graph_file.h"

#include <iostream>
#include <iterator>
#include <set>

#include "base/fs.h"
#include "base/json.h"

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

}  // namespace

Result<wire::GateGraph> ParseGateGraph(const std::string& text, const std::string& where) {
  Result<nlohmann::json> j = ParseJson(text);
  if (!j.ok()) return j.status().With(where);
  RETURN_IF_ERROR(CheckGateKeys(*j).With(where));
  wire::GateGraph graph;
  RETURN_IF_ERROR(wire::FromJson(*j, graph).With(where));
  return graph;
}

Result<wire::GateGraph> ReadGateGraphFile(const std::string& file) {
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    Result<std::string> read = ReadFile(file);
    if (!read.ok()) return read.status().With("cannot read gate graph file '" + file + "'");
    text = std::move(*read);
  }
  return ParseGateGraph(text,
                        file == "-" ? "the gate graph on stdin" : "gate graph file '" + file + "'");
}

}  // namespace converge
