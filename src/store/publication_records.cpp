#include "store/publication_records.h"

#include "base/text.h"
#include "store/id_prefix.h"

namespace converge {

namespace {

std::string SelectServerPublications() {
  return std::string("SELECT seq, ") + kPublicationColumns + " FROM publications";
}

}  // namespace

Result<bool> PublicationRecords::IdTaken(const std::string& id) {
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT 1 FROM publications WHERE id = ?"));
  q.Bind(1, id);
  return q.Step();
}

Status PublicationRecords::Insert(int64_t repo_id, const Publication& p) {
  ASSIGN_OR_RETURN(Stmt q,
                   db_->Prepare(std::string("INSERT INTO publications (repo_id, ") +
                                kPublicationColumns +
                                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  q.Bind(1, repo_id).Bind(2, p.id).Bind(3, p.snap).Bind(4, p.scope).Bind(5, p.gate);
  q.Bind(6, p.lane).Bind(7, p.publisher_id).Bind(8, p.publisher).Bind(9, p.created_at);
  q.Bind(10, p.workspace_id).Bind(11, p.client_version).Bind(12, p.host).Bind(13, p.note);
  return q.Run();
}

Result<std::vector<PublicationRow>> PublicationRecords::List(int64_t repo_id,
                                                             const std::string& repo_name,
                                                             const PublicationRowFilter& f) {
  std::string sql = SelectServerPublications() + " WHERE repo_id = ? AND seq < ?";
  if (f.scope) sql += " AND scope = ?";
  if (f.lane) sql += " AND lane = ?";
  if (f.gate) sql += " AND gate = ?";
  sql += " ORDER BY seq DESC LIMIT ?";
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare(sql));
  int i = 1;
  q.Bind(i++, repo_id);
  q.Bind(i++, f.before.value_or(INT64_MAX));
  for (const auto* v : {&f.scope, &f.lane, &f.gate})
    if (*v) q.Bind(i++, **v);
  q.Bind(i++, int64_t{f.limit});
  std::vector<PublicationRow> rows;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    rows.push_back({q.Int(0), PublicationFromRow(q, 1, repo_name)});
  }
  return rows;
}

Result<Publication> PublicationRecords::Get(int64_t repo_id, const std::string& repo_name,
                                            std::string_view prefix) {
  IdPrefixScope scope{.table = "publications",
                      .what = "publication",
                      .filter_column = "repo_id",
                      .filter_value = repo_id,
                      .where = " in repo " + Quote(repo_name)};
  ASSIGN_OR_RETURN(std::string id, ResolveIdPrefix(*db_, scope, prefix));
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare(SelectServerPublications() + " WHERE id = ?"));
  q.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return NotFound("publication " + id + " not found in repo " + Quote(repo_name));
  return PublicationFromRow(q, 1, repo_name);
}

Status PublicationRecords::ForEach(
    const std::function<Status(int64_t repo_id, const PublicationRow&)>& fn) {
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare(std::string("SELECT seq, ") + kPublicationColumns +
                                        ", repo_id FROM publications WHERE seq > ? "
                                        "ORDER BY seq LIMIT ?"));
  int64_t after = 0;  // seqs start at 1
  for (;;) {
    q.Reset();
    q.Bind(1, after).Bind(2, page_rows_);
    int64_t rows = 0;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      rows++;
      after = q.Int(0);
      RETURN_IF_ERROR(fn(q.Int(13), {q.Int(0), PublicationFromRow(q, 1, "")}));
    }
    if (rows < page_rows_) return Status::Ok();
  }
}

}  // namespace converge
