#include "workspace/workspace_state.h"

namespace converge {

Result<std::optional<std::string>> WorkspaceState::Get(const std::string& key) {
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT value FROM state WHERE key = ?"));
  q.Bind(1, key);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(q.Text(0));
}

Status WorkspaceState::Set(const std::string& key, const std::string& value) {
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare("INSERT INTO state (key, value) VALUES (?, ?) "
                                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
  return q.Bind(1, key).Bind(2, value).Run();
}

}  // namespace converge
