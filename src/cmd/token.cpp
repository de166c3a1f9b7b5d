// converge token create|list|revoke: API tokens, your own (a server admin:
// anyone's). A token's secret is shown only when it is made.
#include <iostream>

#include "base/text.h"
#include "cmd/admin_util.h"

namespace converge {

namespace {

// A whole token is cvg_<16 hex id>_<64 hex secret>; revoking needs only the id.
bool LooksLikeWholeToken(const std::string& s) {
  return s.rfind("cvg_", 0) == 0 && s.size() > 21;
}

std::string TokenState(const wire::Token& t) {
  if (t.revoked) return "revoked";
  // RFC 3339 UTC times of one format compare as strings.
  if (t.expires_at && *t.expires_at <= NowRfc3339Micros()) return "expired";
  return "active";
}

void RegisterTokenCreate(Cli& cli, CLI::App* cmd) {
  struct TokenOpts {
    ServerFlags server;
    std::string user, label;
    int64_t days = 0;
  };
  auto o = std::make_shared<TokenOpts>();
  AddServerFlags(cmd, o->server);
  cmd->add_option("--user", o->user, "Whose token (default: yours; others' need a server admin)")
      ->type_name("HANDLE");
  cmd->add_option("--label", o->label, "What the token is for, e.g. the machine")
      ->type_name("LABEL");
  cmd->add_option("--expires-in-days", o->days,
                  "Expire the token after N days (default: when the token you use does, or never)")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(ApiClient api, ConnectToServer(o->server));
    wire::NewTokenRequest req;
    if (!o->user.empty()) req.user = o->user;
    req.label = o->label;
    if (o->days > 0) req.expires_in_days = o->days;
    Result<wire::IssuedToken> t = api.CreateToken(req);
    if (!t.ok()) return ExplainFailure(t.status(), "", "");
    if (cli.globals.json) {
      PrintJson(wire::ToJson(*t));
    } else {
      std::cout << "Created token " << ForTerminal(t->id) << " for " << ForTerminal(t->user)
                << (t->label.empty() ? "" : " (" + ForTerminal(t->label) + ")")
                << (t->expires_at ? ", expires " + ForTerminal(ShortTime(*t->expires_at)) : "")
                << "\n"
                << "token  " << ForTerminal(t->token) << "\n";
    }
    if (t->parent)
      Note("note: it is bound to the token you used (" + *t->parent +
           "): it expires no later and is revoked with it");
    Note("note: the token is shown only this once; use it with 'converge login --url " + api.url() +
         "'");
    return Status::Ok();
  });
}

void RegisterTokenList(Cli& cli, CLI::App* cmd) {
  struct TokenOpts {
    ServerFlags server;
    std::string user;
  };
  auto o = std::make_shared<TokenOpts>();
  AddServerFlags(cmd, o->server);
  cmd->add_option("--user", o->user,
                  "Whose tokens (server admins; default: yours, or everyone's "
                  "for a server admin)")
      ->type_name("HANDLE");
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(ApiClient api, ConnectToServer(o->server));
    Result<std::vector<wire::Token>> tokens = api.ListTokens(o->user);
    if (!tokens.ok()) return ExplainFailure(tokens.status(), "", "");
    if (cli.globals.json) {
      PrintJson(wire::ToJson(*tokens));
      return Status::Ok();
    }
    std::vector<TableRow> rows;
    for (const wire::Token& t : *tokens)
      rows.push_back({t.id, t.user, t.label.empty() ? "-" : t.label, ShortTime(t.created_at),
                      t.last_used_at ? ShortTime(*t.last_used_at) : "never",
                      t.expires_at ? ShortTime(*t.expires_at) : "never", TokenState(t)});
    PrintTable({"ID", "USER", "LABEL", "CREATED", "LAST USED", "EXPIRES", "STATE"}, rows,
               std::cout);
    return Status::Ok();
  });
}

void RegisterTokenRevoke(Cli& cli, CLI::App* cmd) {
  struct TokenOpts {
    ServerFlags server;
    std::string id;
  };
  auto o = std::make_shared<TokenOpts>();
  AddServerFlags(cmd, o->server);
  cmd->add_option("TOKEN_ID", o->id, "The token's id (16 hex digits, from 'converge token list')")
      ->required();
  cli.Run(cmd, [&cli, o]() -> Status {
    // Never send a secret in a URL, where access logs would keep it.
    if (LooksLikeWholeToken(o->id))
      return Invalid(
          "that is a whole token, secret included; pass only its id (the 16 hex "
          "digits after 'cvg_', as 'converge token list' shows)");
    ASSIGN_OR_RETURN(ApiClient api, ConnectToServer(o->server));
    Result<wire::Token> t = api.RevokeToken(o->id);
    if (!t.ok()) return ExplainFailure(t.status(), "", "");
    if (cli.globals.json) {
      PrintJson(wire::ToJson(*t));
    } else {
      std::cout << "Revoked token " << ForTerminal(t->id) << " of " << ForTerminal(t->user)
                << (t->label.empty() ? "" : " (" + ForTerminal(t->label) + ")") << "\n";
    }
    return Status::Ok();
  });
}

}  // namespace

void RegisterToken(Cli& cli) {
  CLI::App* token = cli.Command("token", "Create, list and revoke API tokens");
  token->require_subcommand(1);
  RegisterTokenCreate(cli, cli.Command("create", "Create a token and print it once", token));
  RegisterTokenList(cli, cli.Command("list", "List tokens (never their secrets)", token));
  RegisterTokenRevoke(cli, cli.Command("revoke", "Revoke a token by its id", token));
}

}  // namespace converge
