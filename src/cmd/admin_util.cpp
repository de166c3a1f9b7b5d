#include "cmd/admin_util.h"

#include <algorithm>
#include <ostream>

#include "base/text.h"

namespace converge {

namespace {

// Display width of UTF-8 text: code points, which is right for the names and
// labels shown here (no wide or combining characters are expected).
size_t Width(const std::string& s) {
  return std::count_if(s.begin(), s.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; });
}

}  // namespace

void PrintTable(const TableRow& raw_header, const std::vector<TableRow>& raw_rows,
                std::ostream& out) {
  // Every cell may hold someone else's text (a handle, a label, a gate's
  // description, an audit target): escaped before it is measured.
  auto escape = [](const TableRow& r) {
    TableRow e;
    for (const std::string& cell : r) e.push_back(ForTerminal(cell));
    return e;
  };
  TableRow header = escape(raw_header);
  std::vector<TableRow> rows;
  for (const TableRow& r : raw_rows) rows.push_back(escape(r));
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&](const TableRow& r) {
    for (size_t i = 0; i < r.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], Width(r[i]));
  };
  measure(header);
  for (const TableRow& r : rows) measure(r);
  auto print = [&](const TableRow& r) {
    std::string line;
    for (size_t i = 0; i < r.size() && i < widths.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(widths[i] - Width(r[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  };
  print(header);
  for (const TableRow& r : rows) print(r);
}

void PrintGateGraph(const wire::GateGraph& graph, const std::string& indent, std::ostream& out) {
  std::vector<TableRow> rows;
  for (const wire::Gate& g : graph.gates)
    rows.push_back({indent + g.id, JoinOr(g.upstream, "-"), g.description.value_or("")});
  PrintTable({indent + "GATE", "UPSTREAM", "DESCRIPTION"}, rows, out);
}

std::string ShortTime(const std::string& t) {
  size_t dot = t.find('.');
  if (dot == std::string::npos || t.empty() || t.back() != 'Z') return t;
  return t.substr(0, dot) + "Z";
}

std::string JoinOr(const std::vector<std::string>& items, const std::string& empty) {
  if (items.empty()) return empty;
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void AddRepoFlags(CLI::App* cmd, RepoFlags& flags) {
  AddServerFlags(cmd, flags.server);
  cmd->add_option("--repo", flags.repo, "Repo to work on (default: the workspace's remote repo)")
      ->type_name("REPO");
}

Result<RepoSession> ConnectToRepo(const RepoFlags& flags) {
  std::optional<Workspace> ws = FindWorkspaceIfAny();
  ASSIGN_OR_RETURN(std::string repo, ResolveRepo(flags.repo, ws ? &*ws : nullptr));
  ASSIGN_OR_RETURN(ApiClient api, ConnectAuthenticated(flags.server, ws ? &*ws : nullptr));
  return RepoSession{std::move(api), std::move(repo)};
}

Result<ApiClient> ConnectToServer(const ServerFlags& flags) {
  std::optional<Workspace> ws = FindWorkspaceIfAny();
  return ConnectAuthenticated(flags, ws ? &*ws : nullptr);
}

}  // namespace converge
