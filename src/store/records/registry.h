// Records of the server's registries: repos and their members, lanes and
// their members, scopes, and gate graphs. This file and registry.cpp are the
// only ones with SQL against `repos`, `repo_members`, `lanes`,
// `lane_members`, `scopes` and `gate_graphs`; the services in server/ keep
// authorization, validation and the audit log.
//
// Each records class takes a Db& and neither opens nor commits a
// transaction: the caller owns it (a write that must be atomic with its audit
// row runs inside the caller's BeginWrite). The SQL is the subset SQLite and
// PostgreSQL both run (RETURNING, ON CONFLICT; no rowid). Every method fails
// with kIo when the database does; the other codes are named per method.
// Reads that name users join `users` for the handle (read only).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/db.h"

namespace converge {

// A repo as stored. `created_by` is the creator's handle.
struct RepoRow {
  int64_t id = 0;
  std::string name;
  std::string created_at;
  std::string created_by;
};

// A repo as one user sees it in a listing: `role` is theirs ("read",
// "publish", "admin").
struct RepoListingRow {
  std::string name;
  std::string created_at;
  std::string created_by;
  std::string role;
};

// A repo looked up for one user: their role on it, nullopt without one.
struct RepoAccessRow {
  RepoRow repo;
  std::optional<std::string> role;
};

struct MemberRow {
  std::string handle;
  std::string role;
};

// A lane (or, with no members, a scope): its name, when it was made, and the
// handles in it, in handle order.
struct LaneRow {
  std::string name;
  std::string created_at;
  std::vector<std::string> members;
};

struct ScopeRow {
  std::string name;
  std::string created_at;
};

// `repos` and `repo_members`.
class RepoRecords {
 public:
  explicit RepoRecords(Db& db) : db_(db) {}

  // Inserts a repo and returns its id; kConflict ("repository 'NAME' already
  // exists") when the name is taken.
  Result<int64_t> Create(std::string_view name, std::string_view created_at, int64_t created_by);
  // The repo called `name` and the role `user_id` has on it; nullopt when no
  // repo has the name. One query either way.
  Result<std::optional<RepoAccessRow>> Access(std::string_view name, int64_t user_id);
  // Every repo, by name, each with role "admin" (a server admin's view).
  Result<std::vector<RepoListingRow>> ListAll();
  // The repos `user_id` has a role on, by name, with that role.
  Result<std::vector<RepoListingRow>> ListFor(int64_t user_id);
  // Every repo's id and name, by id (fsck's walk).
  Result<std::vector<RepoRow>> ListIds();

  // The members of a repo with their roles, by handle.
  Result<std::vector<MemberRow>> Members(int64_t repo_id);
  // The role name `user_id` has on the repo; nullopt without one.
  Result<std::optional<std::string>> RoleOf(int64_t repo_id, int64_t user_id);
  // The id of the user with `handle` when they have a role on the repo; nullopt
  // otherwise (no such user, or no role: the same answer).
  Result<std::optional<int64_t>> MemberId(int64_t repo_id, std::string_view handle);
  // How many members have the role "admin".
  Result<int64_t> CountAdmins(int64_t repo_id);
  // Gives `user_id` the role `role` ("read", "publish" or "admin"), replacing
  // the one they had. kIo when the schema refuses the role name.
  Status SetRole(int64_t repo_id, int64_t user_id, std::string_view role);
  // Takes the user's role away and, since a lane needs a role on the repo,
  // takes them out of every lane of it. Nothing to remove is not an error.
  Status RemoveMember(int64_t repo_id, int64_t user_id);

 private:
  Db& db_;
};

// `lanes`, `lane_members` and `scopes`.
class LaneRecords {
 public:
  explicit LaneRecords(Db& db) : db_(db) {}

  // Inserts a lane with no members; kConflict ("lane 'NAME' already exists")
  // when the repo has one of that name.
  Status Create(int64_t repo_id, std::string_view name, std::string_view created_at);
  // The repo's lanes by name, each with its members.
  Result<std::vector<LaneRow>> List(int64_t repo_id);
  // One lane with its members; nullopt when the repo has no such lane.
  Result<std::optional<LaneRow>> Find(int64_t repo_id, std::string_view name);
  // Puts `user_id` in the lane; false when they were in it already. The lane
  // must exist (kIo from the foreign key otherwise).
  Result<bool> AddMember(int64_t repo_id, std::string_view lane, int64_t user_id);
  // Takes `user_id` out of the lane; false when they were not in it.
  Result<bool> RemoveMember(int64_t repo_id, std::string_view lane, int64_t user_id);

  // Inserts a scope; kConflict ("scope 'NAME' already exists") when the repo
  // has one of that name.
  Status CreateScope(int64_t repo_id, std::string_view name, std::string_view created_at);
  // The repo's scopes by name.
  Result<std::vector<ScopeRow>> ListScopes(int64_t repo_id);
  Result<bool> ScopeExists(int64_t repo_id, std::string_view name);

 private:
  Db& db_;
};

// `gate_graphs`: one graph a repo, stored as the canonical JSON text the
// service makes (docs/api.md); the records do not parse it.
class GateGraphRecords {
 public:
  explicit GateGraphRecords(Db& db) : db_(db) {}

  // The stored JSON text; nullopt when the repo has no graph.
  Result<std::optional<std::string>> Load(int64_t repo_id);
  // Stores `json` as the repo's graph, replacing any, with who and when.
  Status Store(int64_t repo_id, std::string_view json, std::string_view updated_at,
               int64_t updated_by);

 private:
  Db& db_;
};

}  // namespace converge
