#include "server/object_intake.h"

#include "base/memory.h"
#include "base/text.h"
#include "net/http_log.h"
#include "server/audit.h"
#include "server/authz.h"
#include "server/object_check.h"
#include "server/pack_transfer.h"
#include "store/index_fold.h"
#include "store/object_records.h"
#include "store/pack_set.h"

namespace converge {

namespace {
constexpr uint64_t kTrimAfterObjects = 10000;  // ~1.7 MiB of bookkeeping
}  // namespace

Result<wire::ObjectIdSet> ObjectIntake::Missing(const Caller& caller, std::string_view repo,
                                                const wire::ObjectIdSet& ids) {
  RETURN_IF_ERROR(CheckIdCount(ids, config_.max_ids_per_request));
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "object.missing", std::string(repo));
  ASSIGN_OR_RETURN(RepoAccess a, attempt.Done(Authorize(attempt, repo, Role::kPublish)));
  wire::ObjectIdSet out;
  RETURN_IF_ERROR(
      ForEachHeld(*db, a.id, ids,
                  [&](ObjectKind kind, const ObjectId& id, const std::optional<HeldObject>& held) {
                    if (!held) out.of(kind).push_back(id);
                    return Status::Ok();
                  }));
  return out;
}

Result<int64_t> ObjectIntake::AuthorizeUpload(const Caller& caller, std::string_view repo,
                                              std::string target) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "object.upload", std::string(repo), std::move(target));
  ASSIGN_OR_RETURN(RepoAccess a, attempt.Done(Authorize(attempt, repo, Role::kPublish)));
  return a.id;
}

Result<wire::StoredObject> ObjectIntake::Put(const Caller& caller, std::string_view repo,
                                             ObjectKind kind, std::string_view id_text,
                                             const Body& body) {
  ASSIGN_OR_RETURN(ObjectId id, ParseObjectId(id_text));
  ASSIGN_OR_RETURN(int64_t repo_id, AuthorizeUpload(caller, repo, Describe(kind, id)));
  // The body streams in with no database connection held: a client sending
  // slowly must not hold one of the node's db_connections meanwhile.
  bool blob = kind == ObjectKind::kBlob;
  uint64_t limit = blob ? config_.max_object_bytes : config_.max_metadata_bytes;
  ASSIGN_OR_RETURN(ObjectWriter writer, store_.NewWriter());
  std::string bytes;  // manifests, snaps and chunk lists are decoded, so kept in memory
  RETURN_IF_ERROR(body([&](std::string_view piece) -> Status {
    if (writer.size() + piece.size() > limit)
      return TooLarge(Describe(kind, id) + " is larger than the limit of " +
                      std::to_string(limit) + " bytes");
    if (!blob) bytes.append(piece);
    return writer.Append(piece);
  }));
  ASSIGN_OR_RETURN(ObjectId got, writer.Finish(id));
  (void)got;
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  HeldObject sizes{writer.size(), writer.size()};
  if (!blob) {
    uint64_t depth = 0;
    ASSIGN_OR_RETURN(sizes.content_size,
                     CheckObjectInRepo(*db, repo_id, kind, id, bytes, nullptr, &depth));
    sizes.depth = depth;
  }
  wire::StoredObject out{id.hex(), KindName(kind), sizes.size, false};
  // Installed whether or not this repo or another holds it already: the
  // same work either way (no timing answer to "is this stored?"), and
  // verified bytes replace a damaged copy.
  RETURN_IF_ERROR(store_.Install(std::move(writer)));
  ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
  ASSIGN_OR_RETURN(uint64_t added, ObjectRecords(*db).Link(repo_id, {{kind, id, sizes}}));
  RETURN_IF_ERROR(tx.Commit());
  out.stored = added > 0;
  return out;
}

Result<wire::PackResult> ObjectIntake::PutPack(const Caller& caller, std::string_view repo,
                                               const Body& body) {
  ASSIGN_OR_RETURN(int64_t repo_id, AuthorizeUpload(caller, repo, "pack"));
  Result<wire::PackResult> out = ReceivePack(dbs_, store_, repo_id, config_, body);
  // Each pack request adds an index; folding keeps lookups to a few. What
  // was received is durable already: a failed fold only leaves more indexes.
  Result<FoldStats> folded = FoldIndexes(store_);
  if (!folded.ok())
    LogLine(LogLevel::kWarn, "folding pack indexes failed (" + folded.status().message() +
                                 "); lookups search more indexes until the next fold");
  // What the request touched and freed would stay resident while the worker
  // idles or serves small requests: the index pages its lookups mapped (at
  // a million objects, most of a 55 MiB index), and the pack's bookkeeping
  // (some 170 bytes an object), freed into this thread's malloc arena. Not
  // after a small pack: it freed little, and a trim makes the next requests
  // fault in fresh pages (a tenth of a 1 % publish's server time here).
  store_.packs().ReleasePages();
  if (!out.ok() || out->objects >= kTrimAfterObjects) ReturnFreedMemory();
  return out;
}

}  // namespace converge
