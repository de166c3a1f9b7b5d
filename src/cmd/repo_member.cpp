// converge repo grant|revoke NAME HANDLE: one user's role on a repo (repo
// admins). Registered by cmd/repo.cpp.
#include <iostream>

#include "base/text.h"
#include "cmd/admin_util.h"

namespace converge {

void RegisterRepoMember(Cli& cli, CLI::App* cmd, bool grant) {
  struct MemberOpts {
    ServerFlags server;
    std::string repo, handle, role;
  };
  auto o = std::make_shared<MemberOpts>();
  AddServerFlags(cmd, o->server);
  cmd->add_option("NAME", o->repo, "The repo")->required();
  cmd->add_option("HANDLE", o->handle, "The user")->required();
  if (grant)
    cmd->add_option("--role", o->role, "read, publish or admin")
        ->required()
        ->check(CLI::IsMember({"read", "publish", "admin"}));
  cli.Run(cmd, [&cli, o, grant]() -> Status {
    ASSIGN_OR_RETURN(ApiClient api, ConnectToServer(o->server));
    Result<wire::Membership> m =
        grant ? api.SetMember(o->repo, o->handle, o->role) : api.RemoveMember(o->repo, o->handle);
    std::string what = grant ? "grant " + o->handle + " a role on repo " + Quote(o->repo)
                             : "remove " + o->handle + " from repo " + Quote(o->repo);
    return PrintOutcome(cli, m, what, o->repo, [&](const wire::Membership& got) {
      std::cout << ForTerminal(got.handle)
                << (grant ? " now has role " + ForTerminal(got.role.value_or("none")) + " on repo "
                          : std::string(" no longer has a role on repo "))
                << ForTerminal(got.repo) << "\n";
    });
  });
}

}  // namespace converge
