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
#include "store/id_prefix.h"
#include "store/publication_records.h"
#include "store/tree_depth.h"

namespace converge {

namespace {

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

}  // namespace

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
      ASSIGN_OR_RETURN(bool taken, PublicationRecords(*db).IdTaken(p.id));
      if (!taken) break;
    }
    RETURN_IF_ERROR(PublicationRecords(*db).Insert(a.id, p));
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
  PublicationRowFilter rows_filter{f.scope, f.lane, f.gate, f.before, f.limit + 1};
  ASSIGN_OR_RETURN(std::vector<PublicationRow> rows,
                   PublicationRecords(*db).List(a.id, a.name, rows_filter));
  wire::PublicationPage page;
  int64_t last_seq = 0;
  for (PublicationRow& row : rows) {
    if (static_cast<int>(page.publications.size()) == f.limit) {
      page.next = std::to_string(last_seq);
      break;
    }
    last_seq = row.seq;
    page.publications.push_back(std::move(row.publication));
  }
  return page;
}

Result<wire::Publication> Publications::Get(const Caller& caller, std::string_view repo,
                                            std::string_view prefix) {
  // A malformed prefix is 400 before anything is looked up (or audited).
  RETURN_IF_ERROR(ValidateIdPrefix(prefix, "publication"));
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "publication.read", std::string(repo), std::string(prefix));
  ASSIGN_OR_RETURN(RepoAccess a, attempt.Done(Authorize(attempt, repo, Role::kRead)));
  return PublicationRecords(*db).Get(a.id, a.name, prefix);
}

}  // namespace converge
