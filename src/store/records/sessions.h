// The server's `web_sessions` table (store/schema.cpp, migration 5): the only
// file that holds SQL against it. It stores and finds rows; making the random
// id, hashing it, checking the token it is bound to and the audit log are the
// service's (server/web_sessions.h).
//
// Takes a Db& whose transaction the caller owns. Every query is in the SQL
// that SQLite 3.40 and PostgreSQL 15 both run (docs/architecture.md). Errors
// are the database's (store/db.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/db.h"

namespace converge {

struct WebSessionRow {
  std::string id_hash;  // hex BLAKE2b-256 of the cookie's id
  std::string token_id;
  std::string created_at;
  std::string expires_at;
  std::optional<std::string> ended_at;
};

class WebSessionRecords {
 public:
  explicit WebSessionRecords(Db& db) : db_(db) {}

  // Adds `s` (not ended_at: a new session has none). kConflict for a taken id_hash.
  Status Insert(const WebSessionRow& s);
  // The session whose id hashes to `id_hash`, or nullopt.
  Result<std::optional<WebSessionRow>> ByHash(std::string_view id_hash);
  // Sets ended_at to `at` unless it is ended already.
  Status End(std::string_view id_hash, const std::string& at);
  // Removes the sessions that ended or expired before `before`; returns how
  // many.
  Result<int64_t> Prune(const std::string& before);

 private:
  Db& db_;
};

}  // namespace converge
