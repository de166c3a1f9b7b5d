#include "server/pack_transfer.h"

#include <chrono>
#include <vector>

#include "api/pack.h"
#include "server/object_check.h"
#include "store/compress.h"
#include "store/object_receiver.h"
#include "store/object_records.h"

namespace converge {

namespace {

// The server's role: each verified object's references checked against the
// repo and the objects before it in the pack, then into a WriteBatch.
// Consecutive manifests, snaps and chunk lists are queued and checked
// together (Flush). A database connection is leased only for that check and
// for the commit, not while the pack's bytes arrive.
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
    // Kept for the object's check (QueuedCheck::base): it vouches for the
    // entries the object shares with it.
    if (kind == ObjectKind::kManifest) base_ = *bytes;
    return bytes;
  }

  Status Take(ReceivedObject&& o) override {
    std::string base = std::move(base_);
    base_.clear();
    if (o.kind != ObjectKind::kBlob) {
      if (o.kind != ObjectKind::kManifest) base.clear();
      auto now = std::chrono::steady_clock::now();
      if (queue_.empty()) queued_since_ = now;
      queued_bytes_ += o.bytes.size() + base.size();
      queue_.push_back(std::move(o));
      bases_.push_back(std::move(base));
      if (queue_.size() >= kMaxQueued || queued_bytes_ >= kMaxQueuedBytes ||
          now - queued_since_ >= kMaxQueuedWait)
        return Flush();
      return Status::Ok();
    }
    // A blob names nothing; the queue is checked first, so that no queued
    // object sees a blob that came after it.
    RETURN_IF_ERROR(Flush());
    HeldObject sizes{o.size, o.size};
    return Keep(std::move(o), sizes);
  }

  // Checks the queued objects' references against the repo and what came
  // before each in the pack, all in one batched query (one per 256): a
  // client sends a tree's manifests one after another, bottom up. The
  // answers are read outside any transaction: a repo's set only grows while
  // servers run (only a stopped server's fsck --repair drops objects), so
  // answers read at two moments never contradict each other. The connection
  // is leased for the check only, not while the pack's bytes arrive.
  Status Flush() {
    if (queue_.empty()) return Status::Ok();
    std::vector<QueuedCheck> checks;
    for (size_t i = 0; i < queue_.size(); i++)
      checks.push_back({queue_[i].kind, queue_[i].id, queue_[i].bytes, bases_[i]});
    Result<QueuedVerdict> verdict = [&]() -> Result<QueuedVerdict> {
      ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
      return CheckQueuedInRepo(*db, repo_id_, checks, &in_pack_);
    }();
    std::vector<ReceivedObject> queue = std::move(queue_);
    queue_.clear();
    bases_.clear();
    queued_bytes_ = 0;
    if (!verdict.ok()) return verdict.status();
    for (size_t i = 0; i < verdict->passed; i++)
      RETURN_IF_ERROR(Keep(std::move(queue[i]), verdict->sizes[i]));
    if (verdict->failure.ok()) return Status::Ok();
    kind_ = queue[verdict->passed].kind;
    id_ = queue[verdict->passed].id;
    return Context(verdict->failure);
  }

  // Makes every object received whole and checked durable and the repo's,
  // in one transaction; safe to call after a failure (Flush first).
  Status Commit() {
    if (received_.empty()) return Status::Ok();
    RETURN_IF_ERROR(batch_.Commit());
    std::unique_lock<std::mutex> turn = dbs_.BulkWriteTurn();
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
  static constexpr size_t kMaxQueued = 256;                // objects
  static constexpr uint64_t kMaxQueuedBytes = 8ull << 20;  // their bytes
  // Objects that trickle in (a 1 % publish: each manifest against its base,
  // as fast as the client makes the frames) are checked as they come, while
  // the next ones are made, instead of all after the last byte.
  static constexpr auto kMaxQueuedWait = std::chrono::milliseconds(5);

  // A checked object: into the batch, whether this repo or another holds it
  // already (the same write, sync and rename either way: no timing answer to
  // "does another repo hold this?"; a damaged copy is replaced). A frame that
  // came compressed is kept as it came (the client's work).
  Status Keep(ReceivedObject&& o, const HeldObject& sizes) {
    result_.objects++;
    ObjectKind kind = o.kind;
    ObjectId id = o.id;
    RETURN_IF_ERROR(AddReceived(batch_, std::move(o)));
    in_pack_[{kind, id}] = sizes;
    received_.push_back({kind, id, sizes});
    return Status::Ok();
  }

  Status Context(const Status& s) const {
    return s.With("pack object #" + std::to_string(result_.objects + queue_.size() + 1) + " (" +
                  KindName(kind_) + " " + id_.hex() + ")");
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
  std::vector<ReceivedObject> queue_;  // manifests, snaps, chunk lists not yet checked
  std::vector<std::string> bases_;     // each one's base manifest's bytes, or ""
  std::string base_;                   // the base of the object being received
  uint64_t queued_bytes_ = 0;
  std::chrono::steady_clock::time_point queued_since_;  // the queue's first object
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
  // The objects queued when the stream ended (well or not) are checked too:
  // what arrived whole and checks out is kept either way.
  Status flushed = role.Flush();
  if (st.ok()) st = flushed;
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
