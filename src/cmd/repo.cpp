// converge repo create|list|show|grant|revoke: repos and who may do what in
// them.
#include <iostream>

#include "base/text.h"
#include "cmd/admin_util.h"
#include "store/defaults.h"

namespace converge {

namespace {

void PrintDetails(const wire::RepoDetails& d) {
  std::cout << "repo     " << ForTerminal(d.repo.name) << "\n"
            << "created  " << ForTerminal(ShortTime(d.repo.created_at)) << " by "
            << ForTerminal(d.repo.created_by) << "\n"
            << "role     " << ForTerminal(d.repo.role) << " (yours)\n";
  std::cout << "\nmembers\n";
  std::vector<TableRow> rows;
  for (const wire::Member& m : d.members) rows.push_back({"  " + m.handle, m.role});
  PrintTable({"  HANDLE", "ROLE"}, rows, std::cout);
  std::cout << "\nlanes\n";
  rows.clear();
  for (const wire::Lane& l : d.lanes) rows.push_back({"  " + l.name, JoinOr(l.members, "-")});
  PrintTable({"  LANE", "MEMBERS"}, rows, std::cout);
  std::cout << "\nscopes\n";
  for (const wire::Scope& s : d.scopes) std::cout << "  " << ForTerminal(s.name) << "\n";
  std::cout << "\ngates\n";
  PrintGateGraph(d.gate_graph, "  ", std::cout);
}

struct RepoOpts {
  ServerFlags server;
  std::string repo, admin;
};

void RegisterRepoCreate(Cli& cli, CLI::App* cmd) {
  auto o = std::make_shared<RepoOpts>();
  AddServerFlags(cmd, o->server);
  cmd->add_option("NAME", o->repo, "The repo's name")->required();
  cmd->add_option("--admin", o->admin, "Make this user the repo's first admin (default: you)")
      ->type_name("HANDLE");
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(ApiClient api, ConnectToServer(o->server));
    return PrintOutcome(cli, api.CreateRepo(o->repo, o->admin), "create repo " + Quote(o->repo), "",
                        [&](const wire::Repo& repo) {
                          std::string who = o->admin.empty()
                                                ? "you are its admin"
                                                : ForTerminal(o->admin) + " is its admin";
                          std::cout << "Created repo " << ForTerminal(repo.name) << ": " << who
                                    << "; it has scope " << kDefaultScope << ", lane "
                                    << kDefaultLane << " (with its admin) and gate " << kDefaultGate
                                    << "\n";
                        });
  });
}

void RegisterRepoList(Cli& cli, CLI::App* cmd) {
  auto server = std::make_shared<ServerFlags>();
  AddServerFlags(cmd, *server);
  cli.Run(cmd, [&cli, server]() -> Status {
    ASSIGN_OR_RETURN(ApiClient api, ConnectToServer(*server));
    Result<std::vector<wire::Repo>> repos = api.ListRepos();
    if (repos.ok() && repos->empty() && !cli.globals.json) {
      Note("no repos you can read on " + api.url() +
           " (create one with 'converge repo create NAME')");
      return Status::Ok();
    }
    return PrintListing(cli, repos, "list repos", "", {"NAME", "ROLE", "CREATED", "BY"},
                        [](const wire::Repo& r) -> TableRow {
                          return {r.name, r.role, ShortTime(r.created_at), r.created_by};
                        });
  });
}

void RegisterRepoShow(Cli& cli, CLI::App* cmd) {
  auto o = std::make_shared<RepoFlags>();
  AddServerFlags(cmd, o->server);
  cmd->add_option("NAME", o->repo, "The repo (default: the workspace's remote repo)");
  cli.Run(cmd, [&cli, o]() -> Status {
    std::optional<Workspace> ws = FindWorkspaceIfAny();
    Result<std::string> repo = ResolveRepo(o->repo, ws ? &*ws : nullptr);
    if (!repo.ok())
      return Invalid(
          "no repo given: name one ('converge repo show NAME') or run inside a "
          "workspace with a remote");
    ASSIGN_OR_RETURN(ApiClient api, ConnectAuthenticated(o->server, ws ? &*ws : nullptr));
    return PrintOutcome(cli, api.ShowRepo(*repo), "show repo " + Quote(*repo), *repo, PrintDetails);
  });
}

}  // namespace

void RegisterRepo(Cli& cli) {
  CLI::App* repo = cli.Command("repo", "Create, list and show repos; grant and revoke roles");
  repo->require_subcommand(1);
  RegisterRepoCreate(
      cli, cli.Command("create", "Create a repo (server admins; you or --admin become its admin)",
                       repo));
  RegisterRepoList(cli, cli.Command("list", "List the repos you can read", repo));
  RegisterRepoShow(cli, cli.Command("show", "Show a repo: members, lanes, scopes, gates", repo));
  RegisterRepoMember(cli, cli.Command("grant", "Give a user a role on a repo (repo admins)", repo),
                     true);
  RegisterRepoMember(cli, cli.Command("revoke", "Take a user's role on a repo (repo admins)", repo),
                     false);
}

}  // namespace converge
