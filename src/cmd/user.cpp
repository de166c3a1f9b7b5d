// converge user create HANDLE [--admin], user list: server accounts (server
// admins only).
#include <iostream>

#include "base/text.h"
#include "cmd/admin_util.h"

namespace converge {

namespace {

void RegisterUserCreate(Cli& cli, CLI::App* cmd) {
  struct UserOpts {
    ServerFlags server;
    std::string handle;
    bool admin = false;
  };
  auto o = std::make_shared<UserOpts>();
  AddServerFlags(cmd, o->server);
  cmd->add_option("HANDLE", o->handle, "The new user's handle (a-z, 0-9, '-')")->required();
  cmd->add_flag("--admin", o->admin, "Make the user a server admin");
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(ApiClient api, ConnectToServer(o->server));
    Result<wire::CreatedUser> made = api.CreateUser(o->handle, o->admin);
    if (!made.ok()) return ExplainFailure(made.status(), "", "");
    if (cli.globals.json) {
      PrintJson(wire::ToJson(*made));
    } else {
      std::cout << "Created user " << ForTerminal(made->user.handle) << " (id " << made->user.id
                << (made->user.admin ? ", server admin" : "") << ")\n"
                << "token  " << ForTerminal(made->token) << "\n";
    }
    Note("note: the token is shown only this once; " + made->user.handle +
         " logs in with 'converge login --url " + api.url() + "' and pastes it");
    return Status::Ok();
  });
}

void RegisterUserList(Cli& cli, CLI::App* cmd) {
  auto server = std::make_shared<ServerFlags>();
  AddServerFlags(cmd, *server);
  cli.Run(cmd, [&cli, server]() -> Status {
    ASSIGN_OR_RETURN(ApiClient api, ConnectToServer(*server));
    return PrintListing(cli, api.ListUsers(), "", "", {"ID", "HANDLE", "KIND", "CREATED"},
                        [](const wire::User& u) -> TableRow {
                          return {std::to_string(u.id), u.handle, u.admin ? "server admin" : "user",
                                  ShortTime(u.created_at)};
                        });
  });
}

}  // namespace

void RegisterUser(Cli& cli) {
  CLI::App* user = cli.Command("user", "Create and list users (server admins)");
  user->require_subcommand(1);
  RegisterUserCreate(cli,
                     cli.Command("create", "Create a user and print its first token once", user));
  RegisterUserList(cli, cli.Command("list", "List the server's users", user));
}

}  // namespace converge
