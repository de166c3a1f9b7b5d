#include "store/records/authority.h"

namespace converge {

Result<std::optional<std::string>> AuthorityRecords::Id() {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT authority_id FROM authority WHERE id = 1"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(q.Text(0));
}

Status AuthorityRecords::SetIfUnset(const std::string& id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("INSERT INTO authority (id, authority_id) VALUES (1, ?) "
                                       "ON CONFLICT (id) DO NOTHING"));
  return q.Bind(1, id).Run();
}

}  // namespace converge
