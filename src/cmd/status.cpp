// converge status: remote, user, scope, gate, lane, newest snap, uncaptured
// changes, and recent publications visible to you by lane.
#include <iostream>

#include "base/text.h"
#include "client/status.h"
#include "cmd/command.h"
#include "cmd/terminal.h"

namespace converge {

namespace {

nlohmann::json ToJson(const StatusReport& r) {
  nlohmann::json remote = nullptr;
  if (r.remote)
    remote = {{"url", r.remote->url},     {"repo", r.remote->repo}, {"scope", r.remote->scope},
              {"gate", r.remote->gate},   {"lane", r.lane}};
  nlohmann::json snap = nullptr;
  if (r.snap)
    snap = {{"id", r.snap->id.hex()},
            {"created_at", r.snap->snap.created_at},
            {"message", r.snap->snap.message}};
  nlohmann::json changes = nlohmann::json::array();
  for (const Change& c : r.changes)
    changes.push_back({{"path", c.path}, {"change", std::string(1, c.change)}});
  nlohmann::json pubs = nlohmann::json::object();
  for (const auto& [lane, list] : r.by_lane) pubs[lane] = wire::ToJson(list);
  nlohmann::json j = {{"remote", remote},
                      {"user", r.user.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.user)},
                      {"workspace_id", r.workspace_id},
                      {"snap", snap},
                      {"dirty", r.dirty},
                      {"changes", changes},
                      {"server", r.reachable ? "reachable" : "unreachable"},
                      {"publications", pubs}};
  if (!r.server_error.empty()) j["server_error"] = r.server_error;
  return j;
}

void PrintText(const StatusReport& r) {
  if (r.remote) {
    std::cout << "remote     " << ForTerminal(r.remote->url) << " ("
              << (r.reachable ? "reachable" : "unreachable") << ")\n"
              << "repo       " << ForTerminal(r.remote->repo) << "\n"
              << "user       " << (r.user.empty() ? "(not logged in)" : ForTerminal(r.user)) << "\n"
              << "scope      " << ForTerminal(r.remote->scope) << "\n"
              << "gate       " << ForTerminal(r.remote->gate) << "\n"
              << "lane       " << (r.lane.empty() ? "(none)" : ForTerminal(r.lane)) << "\n";
  } else {
    std::cout << "remote     (none: 'converge remote set --url URL --repo REPO')\n";
  }
  std::cout << "workspace  " << ForTerminal(r.workspace_id) << "\n";
  if (r.snap) {
    const std::string& m = r.snap->snap.message;
    std::cout << "snap       " << r.snap->id.hex().substr(0, 12) << "  "
              << ForTerminal(r.snap->snap.created_at) << "  "
              << ForTerminal(m.substr(0, m.find('\n'))) << "\n";
  } else {
    std::cout << "snap       (none yet)\n";
  }
  if (r.dirty) {
    std::cout << "changes    " << r.changes.size() << " not in any snap ('converge snap' keeps "
              << "them):\n";
    for (size_t i = 0; i < r.changes.size() && i < 10; i++)
      std::cout << "             " << r.changes[i].change << "  " << ForTerminal(r.changes[i].path)
                << "\n";
    if (r.changes.size() > 10) std::cout << "             ...\n";
  } else {
    std::cout << "changes    none: the working tree matches the snap\n";
  }
  if (!r.server_error.empty())
    std::cout << "server     " << ForTerminal(r.server_error) << "\n"
              << "           (showing publications fetched before)\n";
  if (!r.remote) return;
  if (r.by_lane.empty()) std::cout << "publications  none visible yet\n";
  for (const auto& [lane, list] : r.by_lane) {
    std::cout << "publications in lane " << ForTerminal(lane) << ":\n";
    for (const wire::Publication& p : list)
      std::cout << "  " << PublicationLine(p, /*with_lane=*/false, /*with_note=*/true) << "\n";
  }
}

}  // namespace

void RegisterStatus(Cli& cli) {
  auto flags = std::make_shared<ServerFlags>();
  auto per_lane = std::make_shared<int>(5);
  CLI::App* cmd = cli.Command("status", "Show the workspace, its remote and recent publications");
  AddServerFlags(cmd, *flags);
  cmd->add_option("-n", *per_lane, "Publications per lane (default 5)");
  cli.Run(cmd, [&cli, flags, per_lane]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    ASSIGN_OR_RETURN(StatusReport r, GatherStatus(ws, *flags, *per_lane));
    if (cli.globals.json) PrintJson(ToJson(r));
    else PrintText(r);
    return Status::Ok();
  });
}

}  // namespace converge
