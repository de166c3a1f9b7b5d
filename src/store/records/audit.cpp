#include "store/records/audit.h"

namespace converge {

namespace {

constexpr const char* kAuditRowColumns =
    "SELECT seq, at, actor_id, actor_handle, action, repo, target, outcome, detail, "
    "remote_addr, prev_hash, hash FROM audit";

AuditRow AuditRowFrom(const Stmt& q) {
  AuditRow r;
  r.seq = q.Int(0);
  r.at = q.Text(1);
  if (!q.IsNull(2)) r.facts.actor_id = q.Int(2);
  r.facts.actor = q.Text(3);
  r.facts.action = q.Text(4);
  r.facts.repo = q.Text(5);
  r.facts.target = q.Text(6);
  r.facts.outcome = q.Text(7);
  r.facts.detail = q.Text(8);
  r.facts.remote_addr = q.Text(9);
  r.prev_hash = q.Text(10);
  r.hash = q.Text(11);
  return r;
}

}  // namespace

Result<std::optional<AuditHeadRow>> AuditRecords::Head() {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT seq, hash, public_key, signature FROM audit_head "
                                       "WHERE id = 1"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<AuditHeadRow>();
  return std::optional<AuditHeadRow>(AuditHeadRow{q.Int(0), q.Text(1), q.Text(2), q.Text(3)});
}

Status AuditRecords::SetHead(const AuditHeadRow& h) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("INSERT INTO audit_head (id, seq, hash, public_key, "
                                       "signature) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO "
                                       "UPDATE SET seq = excluded.seq, hash = excluded.hash, "
                                       "public_key = excluded.public_key, "
                                       "signature = excluded.signature"));
  q.Bind(1, h.seq).Bind(2, h.hash).Bind(3, h.public_key).Bind(4, h.signature);
  return q.Run();
}

Result<std::optional<AuditLink>> AuditRecords::Newest() {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<AuditLink>();
  return std::optional<AuditLink>(AuditLink{q.Int(0), q.Text(1)});
}

Result<std::optional<AuditLink>> AuditRecords::Oldest() {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT seq, hash FROM audit ORDER BY seq LIMIT 1"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<AuditLink>();
  return std::optional<AuditLink>(AuditLink{q.Int(0), q.Text(1)});
}

Status AuditRecords::Insert(const AuditRow& r) {
  ASSIGN_OR_RETURN(Stmt q,
                   db_.Prepare("INSERT INTO audit (seq, at, actor_id, actor_handle, action, repo, "
                               "target, outcome, detail, remote_addr, prev_hash, hash) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  const AuditFacts& f = r.facts;
  q.Bind(1, r.seq).Bind(2, r.at);
  if (f.actor_id)
    q.Bind(3, *f.actor_id);
  else
    q.BindNull(3);
  q.Bind(4, f.actor).Bind(5, f.action).Bind(6, f.repo).Bind(7, f.target);
  q.Bind(8, f.outcome).Bind(9, f.detail).Bind(10, f.remote_addr);
  q.Bind(11, r.prev_hash).Bind(12, r.hash);
  return q.Run();
}

Result<std::vector<AuditRow>> AuditRecords::Page(const AuditRowFilter& f, int64_t before,
                                                 int64_t limit) {
  // Only fixed SQL text is appended; every value is a bound parameter.
  std::string sql = std::string(kAuditRowColumns) + " WHERE seq < ?";
  std::vector<const std::string*> values;
  auto add = [&](const std::optional<std::string>& v, const char* condition) {
    if (!v) return;
    sql += condition;
    values.push_back(&*v);
  };
  add(f.repo, " AND repo = ?");
  add(f.actor, " AND actor_handle = ?");
  add(f.action, " AND action = ?");
  add(f.since, " AND at >= ?");
  add(f.until, " AND at <= ?");
  if (f.refused) sql += *f.refused ? " AND outcome <> 'ok'" : " AND outcome = 'ok'";
  sql += " ORDER BY seq DESC LIMIT ?";
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare(sql));
  int i = 1;
  q.Bind(i++, before);
  for (const std::string* v : values) q.Bind(i++, *v);
  q.Bind(i++, limit);
  std::vector<AuditRow> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back(AuditRowFrom(q));
  }
}

Result<std::vector<AuditRow>> AuditRecords::Page(const std::optional<std::string>& repo,
                                                 int64_t before, int64_t limit) {
  AuditRowFilter f;
  f.repo = repo;
  return Page(f, before, limit);
}

Status AuditRecords::ForEachNewestFirst(int64_t from_seq,
                                        const std::function<Status(const AuditRow&)>& fn) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare(std::string(kAuditRowColumns) +
                                       " WHERE seq <= ? ORDER BY seq DESC LIMIT ?"));
  int64_t next = from_seq;
  for (;;) {
    q.Reset();
    q.Bind(1, next).Bind(2, page_rows_);
    int64_t rows = 0;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      rows++;
      AuditRow r = AuditRowFrom(q);
      next = r.seq - 1;
      RETURN_IF_ERROR(fn(r));
    }
    if (rows < page_rows_) return Status::Ok();
  }
}

Result<int64_t> AuditRecords::Count() {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT COUNT(*) FROM audit"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? q.Int(0) : int64_t{0};
}

}  // namespace converge
