#include "client/publication_index.h"

#include "base/text.h"
#include "store/snap_index.h"
#include "store/workspace_state.h"

namespace converge {

namespace {

constexpr const char* kIndexColumns =
    "id, repo, snap, scope, gate, lane, publisher_id, publisher_handle, created_at, "
    "workspace_id, client_version, host, note";

wire::Publication FromRow(const Stmt& q) {
  wire::Publication p;
  p.id = q.Text(0);
  p.repo = q.Text(1);
  p.snap = q.Text(2);
  p.scope = q.Text(3);
  p.gate = q.Text(4);
  p.lane = q.Text(5);
  p.publisher_id = q.Int(6);
  p.publisher = q.Text(7);
  p.created_at = q.Text(8);
  p.workspace_id = q.Text(9);
  p.client_version = q.Text(10);
  p.host = q.Text(11);
  p.note = q.Text(12);
  return p;
}

std::string LanesKey(const std::string& url, const std::string& repo) {
  return "lanes " + url + " " + repo;
}

std::string PublishedKey(const std::string& url, const std::string& repo) {
  return "published " + url + " " + repo;
}

}  // namespace

Status VerifyPublicationId(const wire::Publication& p) {
  if (ObjectId::Of(wire::PublicationIdInput(p)).hex() != p.id)
    return Corrupt("publication " + p.id + " does not match its content: the server sent " +
                   "an altered record; refusing it");
  return Status::Ok();
}

Status PublicationIndex::Add(const std::string& url, const wire::Publication& p) {
  RETURN_IF_ERROR(VerifyPublicationId(p));
  ASSIGN_OR_RETURN(
      Stmt q, db_->Prepare(std::string("INSERT OR IGNORE INTO publications (") + kIndexColumns +
                           ", url, fetched_at) VALUES "
                           "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  q.Bind(1, p.id).Bind(2, p.repo).Bind(3, p.snap).Bind(4, p.scope).Bind(5, p.gate);
  q.Bind(6, p.lane).Bind(7, p.publisher_id).Bind(8, p.publisher).Bind(9, p.created_at);
  q.Bind(10, p.workspace_id).Bind(11, p.client_version).Bind(12, p.host).Bind(13, p.note);
  q.Bind(14, url).Bind(15, NowRfc3339());
  return q.Run();
}

Result<std::vector<wire::Publication>> PublicationIndex::List(const LocalPublicationFilter& f) {
  std::string sql = std::string("SELECT ") + kIndexColumns + " FROM publications WHERE 1=1";
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
  sql += " ORDER BY created_at DESC, seq DESC LIMIT ?";
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare(sql));
  int i = 1;
  for (const std::string& a : args) q.Bind(i++, a);
  q.Bind(i, int64_t{f.limit});
  std::vector<wire::Publication> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(FromRow(q));
  }
  return out;
}

Result<wire::Publication> PublicationIndex::Resolve(const std::string& prefix) {
  RETURN_IF_ERROR(ValidatePrefix(prefix, "publication"));
  ASSIGN_OR_RETURN(auto matches, FindPrefixMatches(*db_, "publications", "id", prefix));
  ASSIGN_OR_RETURN(std::string id, PickPrefixMatch(prefix, matches, "publication"));
  ASSIGN_OR_RETURN(Stmt q, db_->Prepare(std::string("SELECT ") + kIndexColumns +
                                        " FROM publications WHERE id = ?"));
  q.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return NotFound("no publication " + id);
  return FromRow(q);
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
