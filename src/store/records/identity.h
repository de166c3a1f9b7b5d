// The server's identity tables, `users` and `tokens` (store/schema.cpp): the
// only files that hold SQL against them. They store and find rows; who may
// do what, token secrets and hashing, and the audit log are the service's
// (server/auth.h, server/tokens.h).
//
// Each class takes a Db& whose transaction the caller owns: a call inside
// BeginWrite() sees and is undone with the rest of it. Every query is in the
// SQL that SQLite 3.40 and PostgreSQL 15 both run (docs/architecture.md).
// Errors are the database's (store/db.h): kIo, kCorrupt, and kConflict
// for a broken constraint (a taken handle or token id).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/db.h"

namespace converge {

struct UserRow {
  int64_t id = 0;
  std::string handle;
  bool admin = false;  // server admin
  std::string created_at;
};

struct TokenRow {
  std::string id;  // 16 hex characters, public
  int64_t user_id = 0;
  std::string user_handle;  // read with the row; ignored by Insert
  bool user_admin = false;  // likewise
  std::string secret_hash;  // BLAKE2b-256 of the secret, raw bytes
  std::string label;
  std::string created_at;
  std::optional<std::string> last_used_at;
  std::optional<std::string> expires_at;
  std::optional<std::string> revoked_at;
  std::optional<std::string> parent_id;  // the token it is bound to
};

class UserRecords {
 public:
  explicit UserRecords(Db& db) : db_(db) {}

  // How many users there are.
  Result<int64_t> Count();
  // Adds a user; returns it with its new id. kConflict when `handle` is taken.
  Result<UserRow> Insert(const std::string& handle, bool admin, const std::string& created_at);
  // The user, or nullopt when there is none.
  Result<std::optional<UserRow>> ById(int64_t id);
  Result<std::optional<UserRow>> ByHandle(std::string_view handle);
  // Every user, oldest (lowest id) first.
  Result<std::vector<UserRow>> List();

 private:
  Db& db_;
};

class TokenRecords {
 public:
  explicit TokenRecords(Db& db) : db_(db) {}

  // Adds `t` (not its user_handle, user_admin, last_used_at or revoked_at:
  // a new token has none). kConflict when its id is taken.
  Status Insert(const TokenRow& t);
  // The token with its user's handle and admin flag, or nullopt.
  Result<std::optional<TokenRow>> ById(std::string_view id);
  // The tokens of the user `handle` (everyone's when null), oldest first.
  Result<std::vector<TokenRow>> List(const std::optional<std::string>& handle);
  // Sets last_used_at.
  Status Touch(std::string_view id, const std::string& at);
  // Sets revoked_at to `at` unless it is revoked already.
  Status Revoke(std::string_view id, const std::string& at);
  // Revokes, as of `at`, every token bound to `id`, and those bound to them,
  // that is not revoked yet; returns how many it revoked.
  Result<int64_t> RevokeBoundTo(std::string_view id, const std::string& at);

 private:
  Db& db_;
};

}  // namespace converge
