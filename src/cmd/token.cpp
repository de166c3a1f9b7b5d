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

// " (label)", or nothing for a token without one.
std::string LabelSuffix(const std::string& label) {
  return label.empty() ? "" : " (" + ForTerminal(label) + ")";
}

std::string TokenState(const wire::Token& t) {
  if (t.revoked) return "revoked";
  // RFC 3339 UTC times of one format compare as strings.
  if (t.expires_at && *t.expires_at <= NowRfc3339Micros()) return "expired";
  return "active";
}

struct TokenOpts {
  ServerFlags server;
  std::string user, label, id;
  int64_t days = 0;
};

void RegisterTokenCreate(Cli& cli, CLI::App* cmd) {
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
    wire::NewTokenRequest req{o->user.empty() ? std::nullopt : std::optional(o->user), o->label,
                              o->days > 0 ? std::optional(o->days) : std::nullopt};
    Result<wire::IssuedToken> t = api.CreateToken(req);
    RETURN_IF_ERROR(PrintOutcome(cli, t, "", "", [](const wire::IssuedToken& made) {
      std::cout << "Created token " << ForTerminal(made.id) << " for " << ForTerminal(made.user)
                << LabelSuffix(made.label)
                << (made.expires_at ? ", expires " + ForTerminal(ShortTime(*made.expires_at)) : "")
                << "\n"
                << "token  " << ForTerminal(made.token) << "\n";
    }));
    if (t->parent)
      Note("note: it is bound to the token you used (" + *t->parent +
           "): it expires no later and is revoked with it");
    Note("note: the token is shown only this once; use it with 'converge login --url " + api.url() +
         "'");
    return Status::Ok();
  });
}

void RegisterTokenList(Cli& cli, CLI::App* cmd) {
  auto o = std::make_shared<TokenOpts>();
  AddServerFlags(cmd, o->server);
  cmd->add_option("--user", o->user,
                  "Whose tokens (server admins; default: yours, or everyone's "
                  "for a server admin)")
      ->type_name("HANDLE");
  cli.Run(cmd, [&cli, o]() -> Status {
    ASSIGN_OR_RETURN(ApiClient api, ConnectToServer(o->server));
    return PrintListing(cli, api.ListTokens(o->user), "", "",
                        {"ID", "USER", "LABEL", "CREATED", "LAST USED", "EXPIRES", "STATE"},
                        [](const wire::Token& t) -> TableRow {
                          return {t.id,
                                  t.user,
                                  t.label.empty() ? "-" : t.label,
                                  ShortTime(t.created_at),
                                  t.last_used_at ? ShortTime(*t.last_used_at) : "never",
                                  t.expires_at ? ShortTime(*t.expires_at) : "never",
                                  TokenState(t)};
                        });
  });
}

void RegisterTokenRevoke(Cli& cli, CLI::App* cmd) {
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
    return PrintOutcome(cli, api.RevokeToken(o->id), "", "", [](const wire::Token& t) {
      std::cout << "Revoked token " << ForTerminal(t.id) << " of " << ForTerminal(t.user)
                << LabelSuffix(t.label) << "\n";
    });
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
