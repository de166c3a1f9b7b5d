#include "server/pack_transfer.h"

#include <vector>

#include "api/pack.h"
#include "server/object_check.h"
#include "store/compress.h"
#include "store/object_receiver.h"
#include "store/object_records.h"

namespace converge {

namespace {

// The server's role: each verified object's references checked against the
// repo and the objects before it in the pack, then into a WriteBatch. A
// database connection is leased only for that check and for the commit, not
// while the pack's bytes arrive.
class IntakeRole : public ObjectReceiver::Role {
 public:
  IntakeRole(DbPool& dbs, ObjectStore& store, int64_t repo_id, uint64_t max_metadata)
      : dbs_(dbs), store_(store), batch_(store), repo_id_(repo_id), max_metadata_(max_metadata) {}

  Status Accept(ObjectKind kind, const ObjectId& id, uint64_t) override {
    kind_ = kind;
    id_ = id;
    return Status::Ok();
  }

  Status Refused(ObjectReceiver::Refusal refusal, ObjectKind kind, const ObjectId&, uint64_t size,
                 const Status& why) override {
    if (refusal == ObjectReceiver::Refusal::kTooLarge)
      return Context(TooLarge("it is " + std::to_string(size) + " bytes; the limit for a " +
                              KindName(kind) + " is " + std::to_string(max_metadata_)));
    return Context(why);
  }

  void Received(size_t n) override { result_.bytes += n; }

  // A base must be the repo's (a client may not learn, by sending frames
  // against them, what other repos hold); read verified, like any read.
  Result<std::string> Base(ObjectKind kind, const ObjectId& base) override {
    {
      ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
      ASSIGN_OR_RETURN(std::optional<HeldObject> held, RepoHolds(*db, repo_id_, kind, base));
      if (!held)
        return Corrupt("it was sent against " + Describe(kind, base) +
                       ", which is not in the repo (a base must be)");
      if (held->size > kMaxCompressedObject)
        return Corrupt("it was sent against " + Describe(kind, base) + ", of " +
                       std::to_string(held->size) + " bytes: a base is at most " +
                       std::to_string(kMaxCompressedObject));
    }
    Result<std::string> bytes = store_.Read(base, kMaxCompressedObject);
    if (!bytes.ok())
      return IoError(Describe(kind, base) +
                     " is missing or damaged on the server: " + bytes.status().message());
    return bytes;
  }

  Status Take(ReceivedObject&& o) override {
    HeldObject sizes{o.size, o.size};
    // The references not in the pack are read in one query per kind, outside
    // any transaction: a repo's set only grows while servers run (only a
    // stopped server's fsck --repair drops objects), so answers read at two
    // moments never contradict each other. The connection is leased for the
    // check only, not while the pack's bytes arrive.
    if (o.kind != ObjectKind::kBlob) {
      ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
      uint64_t depth = 0;
      Result<uint64_t> content =
          CheckObjectInRepo(*db, repo_id_, o.kind, o.id, o.bytes, &in_pack_, &depth);
      if (!content.ok()) return Context(content.status());
      sizes.content_size = *content;
      sizes.depth = depth;
    }
    result_.objects++;
    // Every verified object goes into the batch, whether this repo or another
    // holds it already: the same write, sync and rename either way (no timing
    // answer to "does another repo hold this?"), and a damaged copy is replaced.
    ObjectKind kind = o.kind;
    ObjectId id = o.id;
    // A frame that came compressed is kept as it came (the client's work).
    RETURN_IF_ERROR(AddReceived(batch_, std::move(o)));
    in_pack_[{kind, id}] = sizes;
    received_.push_back({kind, id, sizes});
    return Status::Ok();
  }

  // Makes every object received whole durable and the repo's, in one
  // transaction; safe to call after a failure.
  Status Commit() {
    if (received_.empty()) return Status::Ok();
    RETURN_IF_ERROR(batch_.Commit());
    ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    ASSIGN_OR_RETURN(uint64_t added, ObjectRecords(*db).Link(repo_id_, received_));
    RETURN_IF_ERROR(tx.Commit());
    result_.stored += added;
    received_.clear();
    return Status::Ok();
  }

  const wire::PackResult& result() const { return result_; }

 private:
  Status Context(const Status& s) const {
    return s.With("pack object #" + std::to_string(result_.objects + 1) + " (" + KindName(kind_) +
                  " " + id_.hex() + ")");
  }

  DbPool& dbs_;
  const ObjectStore& store_;
  WriteBatch batch_;
  int64_t repo_id_;
  uint64_t max_metadata_;
  ObjectKind kind_ = ObjectKind::kBlob;
  ObjectId id_;
  EarlierObjects in_pack_;
  std::vector<NewObject> received_;
  wire::PackResult result_;
};

}  // namespace

Result<wire::PackResult> ReceivePack(DbPool& dbs, ObjectStore& store, int64_t repo_id,
                                     const ServerConfig& config, const ObjectIntake::Body& body) {
  IntakeRole role(dbs, store, repo_id, config.max_metadata_bytes);
  ObjectReceiver receiver(store, role, config.max_metadata_bytes);
  PackParser parser(receiver, PackLimits{config.max_object_bytes, config.max_ids_per_request});
  Status st = body([&](std::string_view piece) { return parser.Feed(piece); });
  if (st.ok()) st = parser.Finish();
  Status committed = role.Commit();
  if (!st.ok()) {
    uint64_t kept = role.result().objects;
    if (kept > 0 && committed.ok())
      return Status(st.code(), st.message() + " (the " + std::to_string(kept) +
                                   " objects before it were verified and kept)");
    return st;
  }
  RETURN_IF_ERROR(committed);
  return role.result();
}

}  // namespace converge
