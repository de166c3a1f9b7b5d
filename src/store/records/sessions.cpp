#include "store/records/sessions.h"

namespace converge {

Status WebSessionRecords::Insert(const WebSessionRow& s) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("INSERT INTO web_sessions (id_hash, token_id, created_at, "
                                       "expires_at) VALUES (?, ?, ?, ?)"));
  q.Bind(1, s.id_hash).Bind(2, s.token_id).Bind(3, s.created_at).Bind(4, s.expires_at);
  return q.Run();
}

Result<std::optional<WebSessionRow>> WebSessionRecords::ByHash(std::string_view id_hash) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT id_hash, token_id, created_at, expires_at, "
                                       "ended_at FROM web_sessions WHERE id_hash = ?"));
  q.Bind(1, id_hash);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<WebSessionRow>();
  WebSessionRow s{q.Text(0), q.Text(1), q.Text(2), q.Text(3), std::nullopt};
  if (!q.IsNull(4)) s.ended_at = q.Text(4);
  return std::optional<WebSessionRow>(std::move(s));
}

Status WebSessionRecords::End(std::string_view id_hash, const std::string& at) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("UPDATE web_sessions SET ended_at = ? "
                                       "WHERE id_hash = ? AND ended_at IS NULL"));
  return q.Bind(1, at).Bind(2, id_hash).Run();
}

Result<int64_t> WebSessionRecords::Prune(const std::string& before) {
  // Counted by RETURNING, which both engines answer alike.
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("DELETE FROM web_sessions WHERE ended_at < ? OR "
                                       "expires_at < ? RETURNING id_hash"));
  q.Bind(1, before).Bind(2, before);
  int64_t n = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return n;
    n++;
  }
}

}  // namespace converge
