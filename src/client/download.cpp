// DownloadSnaps (client/download.h): the closure of some snaps, fetched top
// down one tree level per request (full requests of blobs on a second
// connection beside), each object verified as it arrives.
#include <algorithm>
#include <atomic>
#include <limits>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "api/pack.h"
#include "base/progress.h"
#include "client/download.h"
#include "client/download_checks.h"
#include "store/index_fold.h"
#include "store/object_receiver.h"
#include "store/object_refs.h"
#include "store/pack_dir.h"
#include "store/pack_set.h"
#include "store/tree_depth.h"

namespace converge {

namespace {

constexpr size_t kIdsPerFetchRequest = 10000;
constexpr size_t kMaxLooseListed = 100000;
constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

// One download: the closure walked top down, one tree level per round, with
// what each object names queued for the next. Blobs name nothing, so a full
// request's worth of them is fetched as soon as it is queued: what is held
// per object stays bounded however many files the snaps have. Received
// objects are known by the write batch (WriteBatch::Contains, a few bytes
// each); `queued_` holds only what is asked for and not yet received.
//
// Healing, it also walks what the store holds under the snaps (the objects
// a plain download trusts to be whole below what it has), reading each
// snap, manifest and chunk list there (so re-hashing it) and fetching what
// is missing or does not read back intact, with everything below that.
class Download {
 public:
  Download(ObjectStore& store, ApiClient& api, const std::string& repo, bool progress, bool heal,
           DownloadObserver* observer)
      : store_(store),
        api_(api),
        repo_(repo),
        batch_(store),
        progress_("Fetching", 0, 0, progress),
        heal_(heal),
        observer_(observer) {}

  ~Download() {
    if (background_) background_->thread.join();
  }

  Result<DownloadStats> Run(const std::vector<ObjectId>& snaps) {
    LoadLoose();
    std::vector<ObjectRef> level;
    for (const ObjectId& s : snaps) {
      if (!store_.Has(s)) {
        if (queued_.insert(s).second) level.push_back({ObjectKind::kSnap, s});
      } else if (heal_ && walked_.insert(s).second) {
        local_.push_back({ObjectKind::kSnap, s});
      }
    }
    RETURN_IF_ERROR(WalkLocal(level));
    // Round r asks for what is r references below a snap: a manifest first
    // met in round r is r - 1 levels deep at least. A server that keeps
    // sending deeper ones is refused here, before thousands of round trips.
    for (uint64_t round = 0; !level.empty(); round++) {
      if (round > kMaxTreeDepth + 1)
        for (const ObjectRef& r : level)
          if (r.kind == ObjectKind::kManifest)
            return download::TooDeepFromServer(
                snaps.size() == 1 ? std::optional<ObjectId>(snaps.front()) : std::nullopt,
                "more than " + std::to_string(kMaxTreeDepth) + " levels");
      for (size_t i = 0; i < level.size();) {
        size_t end = std::min(level.size(), i + PerRequest());
        RETURN_IF_ERROR(Request(level.data() + i, level.data() + end));
        i = end;
        while (blobs_.size() >= PerRequest()) RETURN_IF_ERROR(FetchBlobs());
      }
      RETURN_IF_ERROR(WalkLocal(next_));
      // What is left of the blobs goes with the next level's requests.
      level = std::move(next_);
      next_.clear();
      level.insert(level.end(), blobs_.begin(), blobs_.end());
      blobs_.clear();
    }
    RETURN_IF_ERROR(JoinBackground());
    progress_.Done();
    RETURN_IF_ERROR(download::CheckDepths(store_, snaps, held_));
    // Everything at once (one pack index, store/cas.h): killed before this,
    // nothing fetched is visible; after, all of it, every reference whole.
    RETURN_IF_ERROR(batch_.Commit());
    // Each fetch adds an index; folding keeps lookups to a few. Not an
    // error for the fetch, whose objects are durable: more indexes to search.
    (void)FoldIndexes(store_);
    return stats_;
  }

 private:
  // What one request's answer brought.
  struct Answer {
    std::unordered_set<ObjectId> received;
    uint64_t object_bytes = 0, wire_bytes = 0;
  };
  // A request of blobs on the second connection, beside the walk's own
  // requests: verifying what arrives (decompressing and hashing it) is most
  // of a fetch's work, and one connection gave it one core.
  struct Background {
    std::vector<ObjectRef> ask;
    std::unordered_map<ObjectId, ObjectKind> wanted;
    download::Promises promises;  // the asked blobs', copied: the walk changes its own
    std::unordered_map<ObjectId, download::Held> held;  // stays empty: blobs name nothing
    Answer answer;
    Status status;
    std::atomic<bool> done{false};
    std::thread thread;
  };

  static std::unordered_map<ObjectId, ObjectKind> Wanted(const ObjectRef* begin,
                                                         const ObjectRef* end) {
    std::unordered_map<ObjectId, ObjectKind> wanted;
    for (const ObjectRef* r = begin; r != end; r++) wanted[r->id] = r->kind;
    return wanted;
  }

  // Asks `api` for the objects [begin, end) and receives the answer into the
  // batch, each object checked as it arrives. Touches nothing but its
  // arguments, the batch, the progress line and the store's writers, all
  // safe from any thread.
  Status Receive(ApiClient& api, const ObjectRef* begin, const ObjectRef* end,
                 const std::unordered_map<ObjectId, ObjectKind>& wanted,
                 const download::Promises& promises,
                 std::unordered_map<ObjectId, download::Held>& held, Answer* out) {
    wire::ObjectIdSet ask;
    for (const ObjectRef* r = begin; r != end; r++) ask.of(r->kind).push_back(r->id);
    download::DownloadRole rx(batch_, wanted, promises, held, progress_, observer_);
    ObjectReceiver receiver(store_, rx, download::kMaxMetadataObject);
    // The receiver and its role check every size, before the object's
    // bytes, with a message naming the kind: the parser's own limit is lifted.
    PackParser parser(receiver, PackLimits{kNoLimit});
    Status fetched = api.FetchPack(repo_, ask, [&](std::string_view p) { return parser.Feed(p); });
    if (fetched.ok()) fetched = parser.Finish();
    out->received = std::move(rx.received);
    out->object_bytes = receiver.object_bytes();
    out->wire_bytes = receiver.bytes();
    return fetched;
  }

  // A request refused for naming more objects than the server takes, which
  // the refusal said (the server's limit is learnt from its answers, and the
  // first request, the new snaps, comes before any): it goes again in pieces.
  bool TooMany(const Status& fetched, const Answer& a, size_t asked) const {
    return fetched.code() == Code::kTooLarge && a.received.empty() && PerRequest() < asked;
  }

  // One request on the walk's connection, for the objects [begin, end).
  Status Request(const ObjectRef* begin, const ObjectRef* end) {
    std::unordered_map<ObjectId, ObjectKind> wanted = Wanted(begin, end);
    Answer answer;
    Status fetched = Receive(api_, begin, end, wanted, promises_, held_, &answer);
    if (TooMany(fetched, answer, static_cast<size_t>(end - begin))) return InPieces(begin, end);
    RETURN_IF_ERROR(fetched);
    return Settle(wanted, answer);
  }

  Status InPieces(const ObjectRef* begin, const ObjectRef* end) {
    for (const ObjectRef* r = begin; r != end;) {
      const ObjectRef* to = r + std::min(static_cast<size_t>(end - r), PerRequest());
      RETURN_IF_ERROR(Request(r, to));
      r = to;
    }
    return Status::Ok();
  }

  // After a request's answer, on the walk's thread: everything asked for
  // came, and what the snaps, manifests and chunk lists among it name is queued.
  Status Settle(const std::unordered_map<ObjectId, ObjectKind>& wanted, const Answer& answer) {
    for (const auto& [id, kind] : wanted)
      if (!answer.received.count(id))
        return Corrupt("the server did not send " + Describe(kind, id) + " that it was asked for");
    stats_.objects += answer.received.size();
    stats_.bytes += answer.object_bytes;
    stats_.received += answer.wire_bytes;
    for (const auto& [id, kind] : wanted) {
      queued_.erase(id);  // the batch has it now
      if (kind == ObjectKind::kBlob) {
        promises_.Forget(kind, id);  // checked on arrival (DownloadRole::Accept)
        continue;
      }
      auto h = held_.find(id);
      if (h == held_.end()) continue;
      RETURN_IF_ERROR(download::KeepPromises(id, h->second, promises_, batch_));
      for (const ObjectRef& r : h->second.refs) RETURN_IF_ERROR(Queue(r));
      // Only the tree's shape stays, for CheckDepths.
      if (kind == ObjectKind::kChunkList) {
        held_.erase(h);
        continue;
      }
      std::vector<ObjectRef>& refs = h->second.refs;
      refs.erase(std::remove_if(refs.begin(), refs.end(),
                                [](const ObjectRef& r) { return r.kind != ObjectKind::kManifest; }),
                 refs.end());
      refs.shrink_to_fit();
    }
    return Status::Ok();
  }

  // Starts the blobs `ask` on the second connection; false when there is
  // none to be had (then the caller fetches them itself).
  Result<bool> StartBackground(std::vector<ObjectRef>& ask) {
    if (!second_ && !no_second_) {
      Result<ApiClient> other = api_.Another();
      if (other.ok()) second_ = std::make_unique<ApiClient>(std::move(*other));
      no_second_ = !other.ok();
    }
    if (!second_) return false;
    auto b = std::make_unique<Background>();
    b->wanted = Wanted(ask.data(), ask.data() + ask.size());
    for (const ObjectRef& r : ask)
      if (const download::Promise* p = promises_.Find(r.kind, r.id))
        RETURN_IF_ERROR(b->promises.Add(r.id, r.kind, p->size, p->namer));
    b->ask = std::move(ask);
    Background* raw = b.get();
    raw->thread = std::thread([this, raw] {
      const ObjectRef* begin = raw->ask.data();
      raw->status = Receive(*second_, begin, begin + raw->ask.size(), raw->wanted, raw->promises,
                            raw->held, &raw->answer);
      raw->done = true;
    });
    background_ = std::move(b);
    return true;
  }

  // Waits for the request on the second connection, if any, and settles it.
  Status JoinBackground() {
    if (!background_) return Status::Ok();
    background_->thread.join();
    std::unique_ptr<Background> b = std::move(background_);
    const ObjectRef* begin = b->ask.data();
    if (TooMany(b->status, b->answer, b->ask.size())) return InPieces(begin, begin + b->ask.size());
    RETURN_IF_ERROR(b->status);
    return Settle(b->wanted, b->answer);
  }

  // `r`, named by an object just received: to fetch unless the batch, the
  // queue or the store has it (then a blob is checked against the promise).
  Status Queue(const ObjectRef& r) {
    if (batch_.Contains(r.id) || queued_.count(r.id)) return Status::Ok();
    if (Stored(r.id)) {
      if (heal_ && r.kind != ObjectKind::kBlob && walked_.insert(r.id).second) local_.push_back(r);
      RETURN_IF_ERROR(download::CheckStored(store_, r, promises_));
      if (r.kind == ObjectKind::kBlob) promises_.Forget(r.kind, r.id);
      return Status::Ok();
    }
    queued_.insert(r.id);
    (r.kind == ObjectKind::kBlob ? blobs_ : next_).push_back(r);
    return Status::Ok();
  }

  // Healing: walks the held objects queued in `local_` (and all they name
  // that the store holds), depth first; what is missing is queued as usual,
  // and a held one that does not read back intact is queued in `level`.
  Status WalkLocal(std::vector<ObjectRef>& level) {
    while (!local_.empty()) {
      ObjectRef r = local_.back();
      local_.pop_back();
      Result<std::string> bytes = store_.Read(r.id, download::kMaxMetadataObject);
      if (!bytes.ok()) {
        Code c = bytes.status().code();
        if (c != Code::kCorrupt && c != Code::kNotFound) return bytes.status();
        queued_.insert(r.id);
        level.push_back(r);
        continue;
      }
      Result<download::Held> h = download::Decode(r.kind, *bytes);
      if (!h.ok()) return h.status().With(Describe(r.kind, r.id) + ", held in this store");
      RETURN_IF_ERROR(download::KeepPromises(r.id, *h, promises_, batch_));
      for (const ObjectRef& named : h->refs) RETURN_IF_ERROR(Queue(named));
      while (blobs_.size() >= PerRequest()) RETURN_IF_ERROR(FetchBlobs());
    }
    return Status::Ok();
  }

  // Whether the store has `id`, for deciding what to ask for: the indexes
  // loaded and the loose files listed at the start, not the stat of a loose
  // file and of packs/ that ObjectStore::Has makes on a miss (a million of
  // each, a third of a million-object fetch). An object another process
  // stored since is fetched again: a second copy, no harm.
  bool Stored(const ObjectId& id) const {
    if (!loose_listed_) return store_.Has(id);
    return store_.packs().Has(id) || loose_.count(id);
  }
  // Lists the loose files once, unless there are very many (a store from
  // before packs): then every miss looks for one.
  void LoadLoose() {
    std::vector<LooseFile> loose = ListLooseFiles(store_);
    if (loose.size() > kMaxLooseListed) return;
    for (const LooseFile& f : loose) loose_.insert(f.id);
    loose_listed_ = true;
  }

  // The most IDs one request names: fewer when the server takes fewer (its
  // every fetch answer says how many; until the first, the default).
  size_t PerRequest() const {
    return static_cast<size_t>(std::min<uint64_t>(kIdsPerFetchRequest, api_.pack_objects()));
  }

  // One request's worth of the queued blobs: on the second connection when
  // it is free, else on this one, beside the request in flight there.
  Status FetchBlobs() {
    size_t n = std::min(blobs_.size(), PerRequest());
    std::vector<ObjectRef> ask(blobs_.end() - static_cast<std::ptrdiff_t>(n), blobs_.end());
    blobs_.resize(blobs_.size() - n);
    if (background_ && background_->done) RETURN_IF_ERROR(JoinBackground());
    if (!background_) {
      ASSIGN_OR_RETURN(bool started, StartBackground(ask));
      if (started) return Status::Ok();
    }
    return Request(ask.data(), ask.data() + ask.size());
  }

  ObjectStore& store_;
  ApiClient& api_;
  const std::string& repo_;
  WriteBatch batch_;
  Progress progress_;
  std::unordered_map<ObjectId, download::Held>
      held_;  // after its request: a manifest's sub-manifests
  download::Promises promises_;
  std::unordered_set<ObjectId> queued_;  // asked for, or to be, and not yet received
  std::unordered_set<ObjectId> loose_;   // the loose objects when the download began
  bool loose_listed_ = false;
  std::vector<ObjectRef> next_, blobs_;  // queued: the next level's, and blobs to fetch
  bool heal_;
  DownloadObserver* observer_;
  std::vector<ObjectRef> local_;         // healing: held objects still to walk
  std::unordered_set<ObjectId> walked_;  // healing: held objects walked or to walk
  std::unique_ptr<ApiClient> second_;    // the second connection, once opened
  bool no_second_ = false;               // opening it failed: one connection, then
  std::unique_ptr<Background> background_;  // the request in flight on it
  DownloadStats stats_;
};

}  // namespace

Result<DownloadStats> DownloadSnaps(ObjectStore& store, ApiClient& api, const std::string& repo,
                                    const std::vector<ObjectId>& snaps, bool progress_on, bool heal,
                                    DownloadObserver* observer) {
  return Download(store, api, repo, progress_on, heal, observer).Run(snaps);
}

}  // namespace converge
