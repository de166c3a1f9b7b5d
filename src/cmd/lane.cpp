// converge lane create|add|remove|list: the lanes (teams) of the configured
// repo and who is in them.
#include <iostream>

#include "base/text.h"
#include "cmd/admin_util.h"

namespace converge {

namespace {

struct LaneOpts {
  RepoFlags repo;
  std::string lane, handle;
};

void PrintLane(const wire::Lane& l, const std::string& repo) {
  std::cout << "lane " << ForTerminal(l.name) << " of repo " << ForTerminal(repo) << ": members "
            << ForTerminal(JoinOr(l.members, "(none)")) << "\n";
}

void RegisterLaneCreate(Cli& cli, CLI::App* cmd) {
  auto o = std::make_shared<LaneOpts>();
  AddRepoFlags(cmd, o->repo);
  cmd->add_option("NAME", o->lane, "The lane's name")->required();
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(RepoSession s, ConnectToRepo(o->repo));
    Result<wire::Lane> l = s.api.CreateLane(s.repo, o->lane);
    if (!l.ok()) return ExplainFailure(l.status(), "create lane '" + o->lane + "'", s.repo);
    if (cli.globals.json) {
      PrintJson(wire::ToJson(*l));
    } else {
      std::cout << "Created lane " << ForTerminal(l->name) << " in repo " << ForTerminal(s.repo)
                << " (add people with 'converge lane add " << ForTerminal(l->name) << " HANDLE')\n";
    }
    return Status::Ok();
  });
}

// lane add / lane remove: one member in or out.
void RegisterLaneMember(Cli& cli, CLI::App* cmd, bool add) {
  auto o = std::make_shared<LaneOpts>();
  AddRepoFlags(cmd, o->repo);
  cmd->add_option("NAME", o->lane, "The lane")->required();
  cmd->add_option("HANDLE", o->handle, "The user")->required();
  cli.Run(cmd, [&cli, o, add]() -> Status {
    ASSIGN_OR_RETURN(RepoSession s, ConnectToRepo(o->repo));
    Result<wire::Lane> l = add ? s.api.AddLaneMember(s.repo, o->lane, o->handle)
                               : s.api.RemoveLaneMember(s.repo, o->lane, o->handle);
    if (!l.ok()) {
      std::string what = add ? "add " + o->handle + " to lane '" + o->lane + "'"
                             : "remove " + o->handle + " from lane '" + o->lane + "'";
      return ExplainFailure(l.status(), what, s.repo);
    }
    if (cli.globals.json)
      PrintJson(wire::ToJson(*l));
    else
      PrintLane(*l, s.repo);
    return Status::Ok();
  });
}

void RegisterLaneList(Cli& cli, CLI::App* cmd) {
  auto o = std::make_shared<RepoFlags>();
  AddRepoFlags(cmd, *o);
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(RepoSession s, ConnectToRepo(*o));
    Result<std::vector<wire::Lane>> lanes = s.api.ListLanes(s.repo);
    if (!lanes.ok()) return ExplainFailure(lanes.status(), "list lanes", s.repo);
    if (cli.globals.json) {
      PrintJson(wire::ToJson(*lanes));
      return Status::Ok();
    }
    std::vector<TableRow> rows;
    for (const wire::Lane& l : *lanes)
      rows.push_back({l.name, JoinOr(l.members, "-"), ShortTime(l.created_at)});
    PrintTable({"LANE", "MEMBERS", "CREATED"}, rows, std::cout);
    return Status::Ok();
  });
}

}  // namespace

void RegisterLane(Cli& cli) {
  CLI::App* lane = cli.Command("lane", "Lanes (teams) of the configured repo");
  lane->require_subcommand(1);
  RegisterLaneCreate(cli, cli.Command("create", "Create a lane (repo admins)", lane));
  RegisterLaneMember(cli, cli.Command("add", "Add a user to a lane (repo admins)", lane), true);
  RegisterLaneMember(cli, cli.Command("remove", "Remove a user from a lane (repo admins)", lane),
                     false);
  RegisterLaneList(cli, cli.Command("list", "List the lanes and their members", lane));
}

}  // namespace converge
