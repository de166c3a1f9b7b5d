// What the admin commands (user, token, repo, lane, scope, gates, audit)
// share: aligned tables for human output, short times, and connecting to the
// server for a repo-scoped command.
#pragma once

#include <iostream>
#include <string>
#include <vector>

#include "cmd/command.h"

namespace converge {

using TableRow = std::vector<std::string>;

// Prints `header` and `rows` as columns two spaces apart, like `gh` and `git`;
// the last column is not padded, so lines carry no trailing blanks. Every
// cell is escaped with ForTerminal: callers pass raw text.
void PrintTable(const TableRow& header, const std::vector<TableRow>& rows, std::ostream& out);

// A gate graph as a table: each gate, its upstream gates, its description.
void PrintGateGraph(const wire::GateGraph& graph, const std::string& indent, std::ostream& out);

// "2026-11-25T22:09:05.123456Z" -> "2026-11-25T22:09:05Z": seconds are
// precise enough to read; --json keeps the full time.
std::string ShortTime(const std::string& rfc3339);

// "a, b, c"; `empty` when there is nothing.
std::string JoinOr(const std::vector<std::string>& items, const std::string& empty);

// The flags of a command working on one repo: --url, --ca-file, --repo.
struct RepoFlags {
  ServerFlags server;
  std::string repo;
};
void AddRepoFlags(CLI::App* cmd, RepoFlags& flags);

// A client for the server and the repo a repo-scoped command works on: the
// repo is --repo, else the workspace remote's.
struct RepoSession {
  ApiClient api;
  std::string repo;
};
Result<RepoSession> ConnectToRepo(const RepoFlags& flags);

// A client for commands that are not about one repo (user, token, audit --all).
Result<ApiClient> ConnectToServer(const ServerFlags& flags);

// `converge repo grant` (grant) or `repo revoke` as `cmd` (cmd/repo_member.cpp).
void RegisterRepoMember(Cli& cli, CLI::App* cmd, bool grant);

// The end of most admin commands: a failed call explained (ExplainFailure
// with `what` and `repo`, either may be empty), else its value printed, as
// its wire JSON under --json, else by `human`.
template <class T, class Human>
Status PrintOutcome(const Cli& cli, const Result<T>& r, const std::string& what,
                    const std::string& repo, Human human) {
  if (!r.ok()) return ExplainFailure(r.status(), what, repo);
  if (cli.globals.json)
    PrintJson(wire::ToJson(*r));
  else
    human(*r);
  return Status::Ok();
}

// A listing: as PrintOutcome, printed as a table of `header` with the row
// `to_row` makes of each item.
template <class T, class ToRow>
Status PrintListing(const Cli& cli, const Result<std::vector<T>>& r, const std::string& what,
                    const std::string& repo, const TableRow& header, ToRow to_row) {
  return PrintOutcome(cli, r, what, repo, [&](const std::vector<T>& items) {
    std::vector<TableRow> rows;
    for (const T& item : items) rows.push_back(to_row(item));
    PrintTable(header, rows, std::cout);
  });
}

}  // namespace converge
