// converge audit [--repo R | --all] [--limit N] [--actor A] [--action X]
// [--outcome ok|refused] [--since T] [--until T]: the server's append-only
// log of state changes and refusals, newest first, filtered by the server
// (repo admins for a repo's log, server admins for the whole one). --verify
// checks the whole chain and its signed head instead (cmd/audit_verify.cpp).
#include <iostream>

#include "base/text.h"
#include "client/audit_log.h"
#include "cmd/admin_util.h"
#include "cmd/audit_verify.h"

namespace converge {

namespace {

struct AuditOpts {
  RepoFlags repo;
  bool all = false;
  int limit = 50;
  bool verify = false;
  std::string key;
  AuditLogFilter filter;
};

void PrintLog(const wire::AuditPage& log, bool with_repo) {
  std::vector<TableRow> rows;
  for (const wire::AuditEntry& e : log.entries) {
    TableRow r = {ShortTime(e.at), e.actor.empty() ? "-" : e.actor, e.action};
    if (with_repo) r.push_back(e.repo.empty() ? "-" : e.repo);
    r.push_back(e.target.empty() ? "-" : e.target);
    r.push_back(e.outcome);
    rows.push_back(std::move(r));
  }
  TableRow header = {"TIME", "ACTOR", "ACTION"};
  if (with_repo) header.push_back("REPO");
  header.push_back("TARGET");
  header.push_back("OUTCOME");
  PrintTable(header, rows, std::cout);
  if (log.next) Note("(older entries exist: raise --limit to see more)");
}

}  // namespace

void RegisterAudit(Cli& cli) {
  auto o = std::make_shared<AuditOpts>();
  CLI::App* cmd = cli.Command("audit",
                              "Show the audit log of a repo (repo admins) or the whole server "
                              "(--all, server admins), newest first");
  AddRepoFlags(cmd, o->repo);
  CLI::Option* all = cmd->add_flag("--all", o->all, "The whole server's log (server admins)");
  all->excludes(cmd->get_option("--repo"));
  cmd->add_option("-n,--limit", o->limit, "Show at most N entries (default 50)")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--actor", o->filter.actor,
                  "Only what this user did (a handle; or token:ID, anonymous, server)")
      ->type_name("HANDLE");
  cmd->add_option("--action", o->filter.action, "Only this action (say, publication.create)")
      ->type_name("ACTION");
  cmd->add_option("--outcome", o->filter.outcome, "Only what succeeded (ok) or was refused")
      ->type_name("OUTCOME")
      ->check(CLI::IsMember({"ok", "refused"}));
  cmd->add_option("--since", o->filter.since, "From this UTC date or time on (2026-11-30)")
      ->type_name("DATE|TIME");
  cmd->add_option("--until", o->filter.until, "Up to this UTC date (its whole day) or time")
      ->type_name("DATE|TIME");
  CLI::Option* verify = cmd->add_flag(
      "--verify", o->verify,
      "Check the whole log's hash chain and the server's signature over its head (server "
      "admins); exit 1 naming the first broken row");
  for (const char* other : {"--repo", "--actor", "--action", "--outcome", "--since", "--until"})
    verify->excludes(cmd->get_option(other));
  cmd->add_option("--key", o->key,
                  "With --verify: the server's audit public key (64 hex characters, or a file "
                  "holding them) instead of the one pinned at first use")
      ->type_name("FILE|HEX")
      ->needs(verify);
  cli.Run(cmd, [&cli, o]() -> Status {
    std::string repo;
    std::optional<Workspace> ws = FindWorkspaceIfAny();
    if (o->verify) {
      ASSIGN_OR_RETURN(ApiClient api, ConnectAuthenticated(o->repo.server, ws ? &*ws : nullptr));
      return VerifyAuditLog(api, o->key, cli.globals.json);
    }
    if (!o->all) {
      Result<std::string> r = ResolveRepo(o->repo.repo, ws ? &*ws : nullptr);
      if (!r.ok())
        return Invalid(
            "no repo given: pass --repo NAME, run inside a workspace with a remote, "
            "or pass --all for the whole server's log (server admins)");
      repo = *r;
    }
    ASSIGN_OR_RETURN(ApiClient api, ConnectAuthenticated(o->repo.server, ws ? &*ws : nullptr));
    // A server-admin refusal names what was refused; a repo one says only "this".
    std::string what = repo.empty() ? "" : "read the audit log of repo '" + repo + "'";
    return PrintOutcome(cli, ReadAuditLog(api, repo, o->limit, o->filter), what, repo,
                        [&](const wire::AuditPage& log) { PrintLog(log, repo.empty()); });
  });
}

}  // namespace converge
