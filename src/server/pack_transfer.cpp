// ObjectIntake: packs in (one streamed body, many objects, one transaction)
// and out (a streamed pack of exactly the objects asked for).
#include <map>

#include "base/text.h"
#include "api/pack.h"
#include "server/audit.h"
#include "server/authz.h"
#include "server/object_check.h"
#include "server/object_intake.h"

namespace converge {

namespace {

// Receives a pack's objects into a WriteBatch: each verified as it ends, its
// references checked against the repo and the objects before it in the pack.
class PackReceiver : public PackParser::Handler {
 public:
  PackReceiver(Db& db, ObjectStore& store, int64_t repo_id, const ServerConfig& config)
      : db_(db), store_(store), batch_(store), repo_id_(repo_id), config_(config) {}

  Status Begin(ObjectKind kind, const ObjectId& id, uint64_t size) override {
    kind_ = kind;
    id_ = id;
    bytes_.clear();
    if (kind != ObjectKind::kBlob && size > config_.max_metadata_bytes)
      return Context(TooLarge("it is " + std::to_string(size) + " bytes; the limit for a " +
                              KindName(kind) + " is " +
                              std::to_string(config_.max_metadata_bytes)));
    ASSIGN_OR_RETURN(ObjectWriter w, store_.NewWriter());
    writer_.emplace(std::move(w));
    return Status::Ok();
  }

  Status Data(std::string_view piece) override {
    if (kind_ != ObjectKind::kBlob) bytes_.append(piece);
    result_.bytes += piece.size();
    return writer_->Append(piece);
  }

  Status End() override {
    ObjectWriter writer = std::move(*writer_);
    writer_.reset();
    Result<ObjectId> got = writer.Finish(id_);
    if (!got.ok()) return Context(got.status());
    HeldObject sizes{writer.size(), writer.size()};
    // A manifest's entries are looked up one by one: one read snapshot for
    // all of them, not a lock round trip each.
    ASSIGN_OR_RETURN(Db::Tx read, db_.BeginRead());
    if (kind_ != ObjectKind::kBlob) {
      HeldLookup held = [&](ObjectKind k, const ObjectId& ref) { return Holds(k, ref); };
      uint64_t depth = 0;
      Result<uint64_t> content = CheckObject(kind_, id_, bytes_, held, &depth);
      if (!content.ok()) return Context(content.status());
      sizes.content_size = *content;
      sizes.depth = depth;
    }
    result_.objects++;
    // Every verified object goes into the batch, whether this repo or another
    // holds it already: the same write, sync and rename either way (no timing
    // answer to "does another repo hold this?"), and a damaged copy is replaced.
    RETURN_IF_ERROR(batch_.Add(std::move(writer)));
    in_pack_[{kind_, id_}] = sizes;
    received_.push_back({kind_, id_, sizes});
    return Status::Ok();
  }

  // Makes every object received whole durable and the repo's, in one
  // transaction; safe to call after a failure.
  Status Commit() {
    if (received_.empty()) return Status::Ok();
    RETURN_IF_ERROR(batch_.Commit());
    ASSIGN_OR_RETURN(Db::Tx tx, db_.BeginWrite());
    ASSIGN_OR_RETURN(uint64_t added, LinkObjects(db_, repo_id_, received_));
    RETURN_IF_ERROR(tx.Commit());
    result_.stored += added;
    received_.clear();
    return Status::Ok();
  }

  const wire::PackResult& result() const { return result_; }

 private:
  Result<std::optional<HeldObject>> Holds(ObjectKind kind, const ObjectId& id) {
    auto it = in_pack_.find({kind, id});
    if (it != in_pack_.end()) return std::optional<HeldObject>(it->second);
    return RepoHolds(db_, repo_id_, kind, id);
  }

  Status Context(const Status& s) const {
    return s.With("pack object #" + std::to_string(result_.objects + 1) + " (" + KindName(kind_) +
                  " " + id_.hex() + ")");
  }

  Db& db_;
  ObjectStore& store_;
  WriteBatch batch_;
  int64_t repo_id_;
  const ServerConfig& config_;
  ObjectKind kind_ = ObjectKind::kBlob;
  ObjectId id_;
  std::string bytes_;
  std::optional<ObjectWriter> writer_;
  std::map<std::pair<ObjectKind, ObjectId>, HeldObject> in_pack_;
  std::vector<NewObject> received_;
  wire::PackResult result_;
};

}  // namespace

Result<wire::PackResult> ObjectIntake::PutPack(const Caller& caller, std::string_view repo,
                                               const Body& body) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "object.upload", std::string(repo), "pack");
  auto run = [&]() -> Result<wire::PackResult> {
    ASSIGN_OR_RETURN(RepoAccess a, Authorize(attempt, repo, Role::kPublish));
    PackReceiver receiver(*db, store_, a.id, config_);
    PackParser parser(receiver, PackLimits{config_.max_object_bytes, config_.max_ids_per_request});
    Status st = body([&](std::string_view piece) { return parser.Feed(piece); });
    if (st.ok()) st = parser.Finish();
    Status committed = receiver.Commit();
    if (!st.ok()) {
      uint64_t kept = receiver.result().objects;
      if (kept > 0 && committed.ok())
        return Status(st.code(), st.message() + " (the " + std::to_string(kept) +
                                     " objects before it were verified and kept)");
      return st;
    }
    RETURN_IF_ERROR(committed);
    return receiver.result();
  };
  return attempt.Done(run());
}

Result<std::vector<ObjectIntake::Located>> ObjectIntake::PlanFetch(const Caller& caller,
                                                                   std::string_view repo,
                                                                   const wire::ObjectIdSet& ids) {
  RETURN_IF_ERROR(CheckCount(ids));
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "object.fetch", std::string(repo));
  ASSIGN_OR_RETURN(RepoAccess a, attempt.Done(Authorize(attempt, repo, Role::kRead)));
  std::vector<Located> plan;
  RETURN_IF_ERROR(
      ForEachHeld(*db, a.id, ids,
                  [&](ObjectKind kind, const ObjectId& id, const std::optional<HeldObject>& held) {
                    if (!held)
                      return NotFound(Describe(kind, id) + " not found in repo " + Quote(a.name));
                    plan.push_back({kind, id, held->size});
                    return Status::Ok();
                  }));
  return plan;
}

Status ObjectIntake::WritePack(const std::vector<Located>& plan, const Sink& sink) const {
  RETURN_IF_ERROR(sink(kPackMagic));
  for (const Located& o : plan) {
    RETURN_IF_ERROR(sink(PackObjectHeader(o.kind, o.id, o.size)));
    uint64_t sent = 0;
    RETURN_IF_ERROR(store_.Stream(o.id, [&](std::string_view piece) -> Status {
      sent += piece.size();
      if (sent > o.size)
        return Corrupt("object " + o.id.hex() + " is larger on disk than recorded");
      return sink(piece);
    }));
    if (sent != o.size)
      return Corrupt("object " + o.id.hex() + " is shorter on disk than recorded");
  }
  return sink(kPackEnd);
}

}  // namespace converge
