// The workspace's key-value `state` table (store/schema.cpp): the head snap
// under kHead, and the client's per-remote notes (workspace/publication_index.h).
// The one place that writes SQL against that table; every reader and writer
// of it goes through here. Takes a Db whose transaction the caller owns.
#pragma once

#include <optional>
#include <string>

#include "store/db.h"

namespace converge {

class WorkspaceState {
 public:
  // The snap the working tree was last captured as or restored to (hex).
  static constexpr const char* kHead = "head";

  explicit WorkspaceState(Db& db) : db_(&db) {}

  // The stored value, as written (not checked); nullopt when `key` has none.
  // Errors: the database's (store/db.h).
  Result<std::optional<std::string>> Get(const std::string& key);
  // Sets `key` to `value`, replacing what was there. Errors: the database's.
  Status Set(const std::string& key, const std::string& value);

 private:
  Db* db_;
};

}  // namespace converge
