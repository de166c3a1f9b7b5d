// converge scope create|list: the scopes (branch-like tracks) of the
// configured repo.
#include <iostream>

#include "base/text.h"
#include "cmd/admin_util.h"

namespace converge {

namespace {

void RegisterScopeCreate(Cli& cli, CLI::App* cmd) {
  struct ScopeOpts {
    RepoFlags repo;
    std::string name;
  };
  auto o = std::make_shared<ScopeOpts>();
  AddRepoFlags(cmd, o->repo);
  cmd->add_option("NAME", o->name, "The scope's name, e.g. release/1.0")->required();
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(RepoSession s, ConnectToRepo(o->repo));
    return PrintOutcome(cli, s.api.CreateScope(s.repo, o->name), "create scope '" + o->name + "'",
                        s.repo, [&](const wire::Scope& scope) {
                          std::cout << "Created scope " << ForTerminal(scope.name) << " in repo "
                                    << ForTerminal(s.repo) << "\n";
                        });
  });
}

void RegisterScopeList(Cli& cli, CLI::App* cmd) {
  auto o = std::make_shared<RepoFlags>();
  AddRepoFlags(cmd, *o);
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(RepoSession s, ConnectToRepo(*o));
    return PrintListing(cli, s.api.ListScopes(s.repo), "list scopes", s.repo, {"SCOPE", "CREATED"},
                        [](const wire::Scope& sc) -> TableRow {
                          return {sc.name, ShortTime(sc.created_at)};
                        });
  });
}

}  // namespace

void RegisterScope(Cli& cli) {
  CLI::App* scope = cli.Command("scope", "Scopes of the configured repo");
  scope->require_subcommand(1);
  RegisterScopeCreate(cli, cli.Command("create", "Create a scope (repo admins)", scope));
  RegisterScopeList(cli, cli.Command("list", "List the scopes", scope));
}

}  // namespace converge
