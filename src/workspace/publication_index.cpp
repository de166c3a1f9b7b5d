#include "workspace/publication_index.h"

#include "base/text.h"
#include "store/id_prefix.h"
#include "workspace/workspace_state.h"

namespace converge {

namespace {

// The workspace stores the repo's name beside the shared columns.
std::string SelectFetched() {
  return std::string("SELECT repo, ") + kPublicationColumns + " FROM publications";
}

std::string LanesKey(const std::string& url, const std::string& repo) {
  return "lanes " + url + " " + repo;
}

std::string PublishedKey(const std::string& url, const std::string& repo) {
  return "published " + url + " " + repo;
}

}  // namespace

Status PublicationIndex::Add(const std::string& url, const Publication& p) {
  ASSIGN_OR_RETURN(
      Stmt q, db_->Prepare(std::string("INSERT INTO publications (repo, ") + kPublicationColumns +
                           ", url, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                           "?) ON CONFLICT (id) DO NOTHING"));
  q.Bind(1, p.repo).Bind(2, p.id).Bind(3, p.snap).Bind(4, p.scope).Bind(5, p.gate);
  q.Bind(6, p.lane).Bind(7, p.publisher_id).Bind(8, p.publisher).Bind(9, p.created_at);
  q.Bind(10, p.workspace_id).Bind(11, p.client_version).Bind(12, p.host).Bind(13, p.note);
  q.Bind(14, url).Bind(15, NowRfc3339());
  return q.Run();
}

Result<std::vector<Publication>> PublicationIndex::List(const LocalPublicationFilter& f) {
  std::string sql = SelectFetched() + " WHERE 1=1";
  std::vector<std::string> args;
  auto add = [&](const char* col, const std::string& v) {
    if (v.empty()) return;
    sql += std::string(" AND ") + col + " = ?";
    args.push_back(v);
  };
  add("url", f.url);
  add("repo", f.repo);
  add("scope", f.scope);
  add("gate", f.gate);
  if (!f.lanes.empty()) {
    sql += " AND lane IN (";
    for (size_t i = 0; i < f.lanes.size(); i++) {
      sql += i ? ", ?" : "?";
      args.push_back(f.lanes[i]);
    }
    sql += ")";
  }
  sql += " ORDER BY created_at DESC, seq DESC";
  if (f.limit >= 0) sql += " LIMIT ?";
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare(sql));
  int i = 1;
  for (const std::string& a : args) q.Bind(i++, a);
  if (f.limit >= 0) q.Bind(i, int64_t{f.limit});
  std::vector<Publication> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(PublicationFromRow(q, 1, q.Text(0)));
  }
  return out;
}

Result<Publication> PublicationIndex::Resolve(const std::string& prefix) {
  ASSIGN_OR_RETURN(std::string id,
                   ResolveIdPrefix(*db_, {.table = "publications", .what = "publication"}, prefix));
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare(SelectFetched() + " WHERE id = ?"));
  q.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return NotFound("no publication " + id);
  return PublicationFromRow(q, 1, q.Text(0));
}

Result<std::vector<FetchedPublicationRow>> PublicationIndex::ListUnchecked() {
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare("SELECT id, snap FROM publications ORDER BY seq"));
  std::vector<FetchedPublicationRow> rows;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    rows.push_back({q.Text(0), q.Text(1)});
  }
  return rows;
}

Result<std::vector<std::string>> PublicationIndex::KnownLanes(const std::string& url,
                                                              const std::string& repo) {
  ASSIGN_OR_RETURN(std::optional<std::string> stored, WorkspaceState(*db_).Get(LanesKey(url, repo)));
  std::vector<std::string> lanes;
  if (!stored) return lanes;
  const std::string& v = *stored;
  for (size_t b = 0; b < v.size();) {
    size_t e = v.find('\n', b);
    if (e == std::string::npos) e = v.size();
    if (e > b) lanes.push_back(v.substr(b, e - b));
    b = e + 1;
  }
  return lanes;
}

Status PublicationIndex::SetKnownLanes(const std::string& url, const std::string& repo,
                                       const std::vector<std::string>& lanes) {
  std::string v;
  for (const std::string& l : lanes) v += l + "\n";
  return WorkspaceState(*db_).Set(LanesKey(url, repo), v);
}

Result<std::optional<ObjectId>> PublicationIndex::PublishedSnap(const std::string& url,
                                                                const std::string& repo) {
  ASSIGN_OR_RETURN(std::optional<std::string> stored, WorkspaceState(*db_).Get(PublishedKey(url, repo)));
  if (!stored) return std::optional<ObjectId>();
  return ObjectId::FromHex(*stored);
}

Status PublicationIndex::SetPublishedSnap(const std::string& url, const std::string& repo,
                                          const ObjectId& snap) {
  return WorkspaceState(*db_).Set(PublishedKey(url, repo), snap.hex());
}

}  // namespace converge
