// What the admin commands (user, token, repo, lane, scope, gates, audit)
// share: aligned tables for human output, short times, and connecting to the
// server for a repo-scoped command.
#pragma once

#include <iosfwd>
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

}  // namespace converge
