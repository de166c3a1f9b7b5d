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

void RegisterLaneCreate(Cli& cli, CLI::App* cmd) {
  auto o = std::make_shared<LaneOpts>();
  AddRepoFlags(cmd, o->repo);
  cmd->add_option("NAME", o->lane, "The lane's name")->required();
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(RepoSession s, ConnectToRepo(o->repo));
    return PrintOutcome(cli, s.api.CreateLane(s.repo, o->lane), "create lane '" + o->lane + "'",
                        s.repo, [&](const wire::Lane& l) {
                          std::cout << "Created lane " << ForTerminal(l.name) << " in repo "
                                    << ForTerminal(s.repo)
                                    << " (add people with 'converge lane add "
                                    << ForTerminal(l.name) << " HANDLE')\n";
                        });
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
    std::string what = add ? "add " + o->handle + " to lane '" + o->lane + "'"
                           : "remove " + o->handle + " from lane '" + o->lane + "'";
    return PrintOutcome(cli, l, what, s.repo, [&](const wire::Lane& lane) {
      std::cout << "lane " << ForTerminal(lane.name) << " of repo " << ForTerminal(s.repo)
                << ": members " << ForTerminal(JoinOr(lane.members, "(none)")) << "\n";
    });
  });
}

void RegisterLaneList(Cli& cli, CLI::App* cmd) {
  auto o = std::make_shared<RepoFlags>();
  AddRepoFlags(cmd, *o);
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(RepoSession s, ConnectToRepo(*o));
    return PrintListing(cli, s.api.ListLanes(s.repo), "list lanes", s.repo,
                        {"LANE", "MEMBERS", "CREATED"}, [](const wire::Lane& l) -> TableRow {
                          return {l.name, JoinOr(l.members, "-"), ShortTime(l.created_at)};
                        });
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
