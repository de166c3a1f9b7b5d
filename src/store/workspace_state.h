// The workspace's key-value `state` table (store/schema.cpp): the head snap
// under kHead, and the client's per-remote notes (client/publication_index).
// The one place that writes SQL against that table; every reader and writer
// of it goes through here.
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
  Result<std::optional<std::string>> Get(const std::string& key) {
    ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT value FROM state WHERE key = ?"));
    q.Bind(1, key);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(q.Text(0));
  }

  // Sets `key` to `value`, replacing what was there.
  Status Set(const std::string& key, const std::string& value) {
    ASSIGN_OR_RETURN(Stmt q,
                     db_->Prepare("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)"));
    return q.Bind(1, key).Bind(2, value).Run();
  }

 private:
  Db* db_;
};

}  // namespace converge
