// converge repo create|list|show|grant|revoke: repos and who may do what in
// them.
#include <iostream>

#include "base/text.h"
#include "cmd/admin_util.h"
#include "store/defaults.h"

namespace converge {

namespace {

std::string Quoted(const std::string& name) {
  return Quote(name);
}

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

void RegisterRepoCreate(Cli& cli, CLI::App* cmd) {
  struct RepoOpts {
    ServerFlags server;
    std::string name;
    std::string admin;
  };
  auto o = std::make_shared<RepoOpts>();
  AddServerFlags(cmd, o->server);
  cmd->add_option("NAME", o->name, "The repo's name")->required();
  cmd->add_option("--admin", o->admin, "Make this user the repo's first admin (default: you)")
      ->type_name("HANDLE");
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(ApiClient api, ConnectToServer(o->server));
    Result<wire::Repo> repo = api.CreateRepo(o->name, o->admin);
    if (!repo.ok()) return ExplainFailure(repo.status(), "create repo " + Quoted(o->name), "");
    if (cli.globals.json) {
      PrintJson(wire::ToJson(*repo));
    } else {
      std::string who =
          o->admin.empty() ? "you are its admin" : ForTerminal(o->admin) + " is its admin";
      std::cout << "Created repo " << ForTerminal(repo->name) << ": " << who
                << "; it has scope " << kDefaultScope << ", lane " << kDefaultLane
                << " (with its admin) and gate " << kDefaultGate << "\n";
    }
    return Status::Ok();
  });
}

void RegisterRepoList(Cli& cli, CLI::App* cmd) {
  auto server = std::make_shared<ServerFlags>();
  AddServerFlags(cmd, *server);
  cli.Run(cmd, [&cli, server]() -> Status {
    ASSIGN_OR_RETURN(ApiClient api, ConnectToServer(*server));
    Result<std::vector<wire::Repo>> repos = api.ListRepos();
    if (!repos.ok()) return ExplainFailure(repos.status(), "list repos", "");
    if (cli.globals.json) {
      PrintJson(wire::ToJson(*repos));
      return Status::Ok();
    }
    if (repos->empty()) {
      Note("no repos you can read on " + api.url() +
           " (create one with 'converge repo create "
           "NAME')");
      return Status::Ok();
    }
    std::vector<TableRow> rows;
    for (const wire::Repo& r : *repos)
      rows.push_back({r.name, r.role, ShortTime(r.created_at), r.created_by});
    PrintTable({"NAME", "ROLE", "CREATED", "BY"}, rows, std::cout);
    return Status::Ok();
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
    Result<wire::RepoDetails> d = api.ShowRepo(*repo);
    if (!d.ok()) return ExplainFailure(d.status(), "show repo " + Quoted(*repo), *repo);
    if (cli.globals.json)
      PrintJson(wire::ToJson(*d));
    else
      PrintDetails(*d);
    return Status::Ok();
  });
}

void RegisterRepoGrant(Cli& cli, CLI::App* cmd) {
  struct RepoOpts {
    ServerFlags server;
    std::string repo, handle, role;
  };
  auto o = std::make_shared<RepoOpts>();
  AddServerFlags(cmd, o->server);
  cmd->add_option("NAME", o->repo, "The repo")->required();
  cmd->add_option("HANDLE", o->handle, "The user")->required();
  cmd->add_option("--role", o->role, "read, publish or admin")
      ->required()
      ->check(CLI::IsMember({"read", "publish", "admin"}));
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(ApiClient api, ConnectToServer(o->server));
    Result<wire::Membership> m = api.SetMember(o->repo, o->handle, o->role);
    if (!m.ok())
      return ExplainFailure(m.status(), "grant " + o->handle + " a role on repo " + Quoted(o->repo),
                            o->repo);
    if (cli.globals.json) {
      PrintJson(wire::ToJson(*m));
    } else {
      std::cout << ForTerminal(m->handle) << " now has role "
                << ForTerminal(m->role.value_or("none")) << " on repo " << ForTerminal(m->repo)
                << "\n";
    }
    return Status::Ok();
  });
}

void RegisterRepoRevoke(Cli& cli, CLI::App* cmd) {
  struct RepoOpts {
    ServerFlags server;
    std::string repo, handle;
  };
  auto o = std::make_shared<RepoOpts>();
  AddServerFlags(cmd, o->server);
  cmd->add_option("NAME", o->repo, "The repo")->required();
  cmd->add_option("HANDLE", o->handle, "The user")->required();
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(ApiClient api, ConnectToServer(o->server));
    Result<wire::Membership> m = api.RemoveMember(o->repo, o->handle);
    if (!m.ok())
      return ExplainFailure(m.status(), "remove " + o->handle + " from repo " + Quoted(o->repo),
                            o->repo);
    if (cli.globals.json) {
      PrintJson(wire::ToJson(*m));
    } else {
      std::cout << ForTerminal(m->handle) << " no longer has a role on repo "
                << ForTerminal(m->repo) << "\n";
    }
    return Status::Ok();
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
  RegisterRepoGrant(cli, cli.Command("grant", "Give a user a role on a repo (repo admins)", repo));
  RegisterRepoRevoke(cli,
                     cli.Command("revoke", "Take a user's role on a repo (repo admins)", repo));
}

}  // namespace converge
