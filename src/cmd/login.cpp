// converge login --url URL [--token T], logout [--url URL], whoami: the
// credentials a user talks to a server with.
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "api/wire.h"
#include "base/text.h"
#include "client/credentials.h"
#include "client/login.h"
#include "cmd/command.h"

namespace converge {

namespace {

// Reads a token from stdin, without echo when it is a terminal, so it stays
// out of shell history and off the screen.
std::string ReadTokenFromStdin(const std::string& url) {
  bool tty = ::isatty(STDIN_FILENO);
  termios saved{};
  if (tty) {
    std::cerr << "Token for " << ForTerminal(url) << ": " << std::flush;
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string token;
  std::getline(std::cin, token);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  size_t b = token.find_first_not_of(" \t\r\n"), e = token.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : token.substr(b, e - b + 1);
}

void RegisterLogin(Cli& cli, CLI::App* cmd) {
  auto flags = std::make_shared<ServerFlags>();
  auto token = std::make_shared<std::string>();
  AddServerFlags(cmd, *flags);
  cmd->get_option("--url")->required();
  cmd->add_option("--token", *token, "The token (default: read from stdin)");
  cli.Run(cmd, [&cli, flags, token]() -> Status {
    ASSIGN_OR_RETURN(std::string url, CanonicalServerUrl(flags->url));
    std::string secret = token->empty() ? ReadTokenFromStdin(url) : *token;
    if (secret.empty()) return Invalid("no token given: pass --token or type it on stdin");
    ASSIGN_OR_RETURN(wire::Whoami me, LogIn(url, secret, *flags));
    if (cli.globals.json) {
      PrintJson({{"url", url}, {"user", wire::ToJson(me.user)}});
    } else {
      std::cout << "Logged in to " << ForTerminal(url) << " as " << ForTerminal(me.user.handle)
                << (me.user.admin ? " (server admin)" : "") << "\n";
    }
    return Status::Ok();
  });
}

void RegisterLogout(Cli& cli, CLI::App* cmd) {
  auto flags = std::make_shared<ServerFlags>();
  cmd->add_option("--url", flags->url,
                  "Server to forget (default: the workspace's remote, "
                  "else the last login)");
  cli.Run(cmd, [&cli, flags]() -> Status {
    std::optional<Workspace> ws = FindWorkspaceIfAny();
    ASSIGN_OR_RETURN(std::string url, ResolveServerUrl(*flags, ws ? &*ws : nullptr));
    ASSIGN_OR_RETURN(bool removed, LogOut(url));
    if (cli.globals.json) {
      PrintJson({{"url", url}, {"removed", removed}});
    } else {
      std::cout << (removed ? "Logged out of " : "Not logged in to ") << ForTerminal(url) << "\n";
    }
    return Status::Ok();
  });
}

void RegisterWhoami(Cli& cli, CLI::App* cmd) {
  auto flags = std::make_shared<ServerFlags>();
  AddServerFlags(cmd, *flags);
  cli.Run(cmd, [&cli, flags]() -> Status {
    std::optional<Workspace> ws = FindWorkspaceIfAny();
    ASSIGN_OR_RETURN(ApiClient api, ConnectAuthenticated(*flags, ws ? &*ws : nullptr));
    ASSIGN_OR_RETURN(wire::Whoami me, api.Whoami());
    if (cli.globals.json) {
      nlohmann::json j = wire::ToJson(me);
      j["url"] = api.url();
      PrintJson(j);
    } else {
      std::cout << ForTerminal(me.user.handle) << (me.user.admin ? " (server admin)" : "") << " at "
                << ForTerminal(api.url()) << "\n";
    }
    return Status::Ok();
  });
}

}  // namespace

void RegisterLogin(Cli& cli) {
  RegisterLogin(cli, cli.Command("login",
                                 "Store a token for a server (read from stdin when "
                                 "--token is not given)"));
  RegisterLogout(cli, cli.Command("logout", "Forget the stored token for a server"));
  RegisterWhoami(cli, cli.Command("whoami", "Show who the server knows you as"));
}

}  // namespace converge
