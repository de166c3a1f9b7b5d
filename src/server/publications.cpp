#include "server/publications.h"

#include "base/hex.h"
#include "base/text.h"
#include "server/audit.h"
#include "server/authz.h"
#include "base/clock.h"
#include "server/names.h"
#include "server/object_check.h"
#include "server/registry.h"
#include "store/hash.h"
#include "store/tree_depth.h"

namespace converge {

namespace {

constexpr const char* kSelectPublications =
    "SELECT seq, id, snap, scope, gate, lane, publisher_id, publisher_handle, created_at, "
    "workspace_id, client_version, host, note FROM publications";

Status ValidateRequest(const wire::PublishRequest& r) {
  RETURN_IF_ERROR(ValidateText(r.note, "the note", 64 << 10, true));
  RETURN_IF_ERROR(ValidateText(r.workspace_id, "workspace_id", 200));
  RETURN_IF_ERROR(ValidateText(r.client_version, "client_version", 100));
  RETURN_IF_ERROR(ValidateText(r.host, "host", 255));
  return Status::Ok();
}

// The checks that decide whether `caller` may publish `req` to repo `a`.
Status CheckTarget(Db& db, Attempt& attempt, const RepoAccess& a, const Caller& caller,
                   const wire::PublishRequest& req, const ObjectId& snap) {
  ASSIGN_OR_RETURN(wire::Lane lane, LoadLane(db, a, req.lane));
  bool member = false;
  for (const std::string& m : lane.members) member = member || m == caller.handle;
  if (!member && !caller.admin)
    return attempt.Refuse(Permission("you are not a member of lane " + Quote(req.lane) +
                                     " in repo " + Quote(a.name) +
                                     ": ask a repo admin to add you, or publish to your own lane"));
  ASSIGN_OR_RETURN(std::optional<HeldObject> held, RepoHolds(db, a.id, ObjectKind::kSnap, snap));
  if (!held)
    return Corrupt("snap " + snap.hex() + " is not in repo " + Quote(a.name) +
                   ": upload it (and what it references) first");
  // Intake refuses a tree deeper than the limit; a snap stored before it
  // did is refused here, so no reader is ever handed one.
  if (!held->depth || *held->depth > kMaxTreeDepth)
    return Corrupt("snap " + snap.hex() + " nests directories " +
                   (held->depth ? std::to_string(*held->depth) + " levels deep"
                                : std::string("to a depth the server could not measure")) +
                   ", past the limit of " + std::to_string(kMaxTreeDepth) +
                   " levels: it cannot be published (docs/objects.md)");
  ASSIGN_OR_RETURN(bool scope, ScopeExists(db, a.id, req.scope));
  if (!scope)
    return NotFound("scope " + Quote(req.scope) + " not found in repo " + Quote(a.name) +
                    " (a repo admin can create it)");
  ASSIGN_OR_RETURN(wire::GateGraph graph, LoadGateGraph(db, a.id));
  for (const wire::Gate& g : graph.gates)
    if (g.id == req.gate) return Status::Ok();
  return NotFound("gate " + Quote(req.gate) + " is not in the gate graph of repo " + Quote(a.name));
}

Result<bool> IdTaken(Db& db, const std::string& id) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT 1 FROM publications WHERE id = ?"));
  q.Bind(1, id);
  return q.Step();
}

}  // namespace

wire::Publication PublicationFromRow(const Stmt& q, const std::string& repo) {
  wire::Publication p;
  p.id = q.Text(1);
  p.repo = repo;
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

Result<wire::Publication> Publications::Create(const Caller& caller, std::string_view repo,
                                               const wire::PublishRequest& req) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "publication.create", std::string(repo));
  auto run = [&]() -> Result<wire::Publication> {
    ASSIGN_OR_RETURN(ObjectId snap, ParseObjectId(req.snap));
    RETURN_IF_ERROR(ValidateRequest(req));
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    ASSIGN_OR_RETURN(RepoAccess a, Authorize(attempt, repo, Role::kPublish));
    RETURN_IF_ERROR(CheckTarget(*db, attempt, a, caller, req, snap));
    wire::Publication p;
    p.repo = a.name;
    p.snap = snap.hex();
    p.scope = req.scope;
    p.gate = req.gate;
    p.lane = req.lane;
    p.publisher = caller.handle;
    p.publisher_id = caller.user_id;
    p.workspace_id = req.workspace_id;
    p.client_version = req.client_version;
    p.host = req.host;
    p.note = req.note;
    // Two identical records in the same microsecond would share an id: re-stamp.
    for (;;) {
      p.created_at = TimeNow();
      p.id = ObjectId::Of(wire::PublicationIdInput(p)).hex();
      ASSIGN_OR_RETURN(bool taken, IdTaken(*db, p.id));
      if (!taken) break;
    }
    ASSIGN_OR_RETURN(Stmt q,
                     db->Prepare("INSERT INTO publications (id, repo_id, snap, scope, gate, lane, "
                                 "publisher_id, publisher_handle, created_at, workspace_id, "
                                 "client_version, host, note) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    q.Bind(1, p.id).Bind(2, a.id).Bind(3, p.snap).Bind(4, p.scope).Bind(5, p.gate);
    q.Bind(6, p.lane).Bind(7, p.publisher_id).Bind(8, p.publisher).Bind(9, p.created_at);
    q.Bind(10, p.workspace_id).Bind(11, p.client_version).Bind(12, p.host).Bind(13, p.note);
    RETURN_IF_ERROR(q.Run());
    attempt.set_target(p.id);
    RETURN_IF_ERROR(
        AppendAudit(*db, attempt.Ok("snap " + p.snap + " to scope " + Quote(p.scope) + ", gate " +
                                    Quote(p.gate) + ", lane " + Quote(p.lane))));
    RETURN_IF_ERROR(tx.Commit());
    return p;
  };
  return attempt.Done(run());
}

Result<wire::PublicationPage> Publications::List(const Caller& caller, std::string_view repo,
                                                 const PublicationQuery& f) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "publication.list", std::string(repo));
  ASSIGN_OR_RETURN(RepoAccess a, attempt.Done(Authorize(attempt, repo, Role::kRead)));
  std::string sql = std::string(kSelectPublications) + " WHERE repo_id = ? AND seq < ?";
  if (f.scope) sql += " AND scope = ?";
  if (f.lane) sql += " AND lane = ?";
  if (f.gate) sql += " AND gate = ?";
  sql += " ORDER BY seq DESC LIMIT ?";
  ASSIGN_OR_RETURN(Stmt q, db->Prepare(sql));
  int i = 1;
  q.Bind(i++, a.id);
  q.Bind(i++, f.before.value_or(INT64_MAX));
  for (const auto* v : {&f.scope, &f.lane, &f.gate})
    if (*v) q.Bind(i++, **v);
  q.Bind(i++, int64_t{f.limit} + 1);
  wire::PublicationPage page;
  int64_t last_seq = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    if (static_cast<int>(page.publications.size()) == f.limit) {
      page.next = std::to_string(last_seq);
      break;
    }
    last_seq = q.Int(0);
    page.publications.push_back(PublicationFromRow(q, a.name));
  }
  return page;
}

Result<wire::Publication> Publications::Get(const Caller& caller, std::string_view repo,
                                            std::string_view prefix) {
  if (prefix.size() < 4 || prefix.size() > ObjectId::kHexLen || !IsLowerHex(prefix))
    return Invalid(Quote(prefix.substr(0, 80)) +
                   " is not a publication id (4 to 64 lowercase hex digits)");
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "publication.read", std::string(repo), std::string(prefix));
  ASSIGN_OR_RETURN(RepoAccess a, attempt.Done(Authorize(attempt, repo, Role::kRead)));
  // Hex digits sort below 'g', so [prefix, prefix + "g") is every id it starts.
  ASSIGN_OR_RETURN(Stmt q, db->Prepare(std::string(kSelectPublications) +
                                       " WHERE repo_id = ? AND id >= ? AND id < ? LIMIT 2"));
  q.Bind(1, a.id).Bind(2, prefix).Bind(3, std::string(prefix) + "g");
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row)
    return NotFound("publication " + std::string(prefix) + " not found in repo " + Quote(a.name));
  wire::Publication p = PublicationFromRow(q, a.name);
  ASSIGN_OR_RETURN(bool more, q.Step());
  if (more)
    return Conflict("publication id prefix " + std::string(prefix) + " is ambiguous in repo " +
                    Quote(a.name) + ": give more digits");
  return p;
}

}  // namespace converge
