// DownloadSnaps (client/download.h): the closure of some snaps, fetched top
// down one tree level per request, each object verified as it arrives.
#include <algorithm>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "api/pack.h"
#include "base/progress.h"
#include "client/download.h"
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
// A manifest, snap or chunk list is decoded in memory: anything bigger than
// the server's own default limit for one (docs/server.md) is refused unread.
constexpr uint64_t kMaxMetadataObject = 64u << 20;
constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

// A fetched snap, manifest or chunk list, verified and added to the write
// batch, which makes everything fetched visible at once, at the end. Only its
// references stay in memory here.
struct Held {
  ObjectKind kind;
  std::vector<ObjectRef> refs;
  std::vector<NamedRef> promises;  // references with a size; dropped once recorded
  uint64_t total = 0;              // a chunk list's: the file size it adds up to
};

// Decodes `bytes` once for both what it references and what it promises.
Result<Held> Decode(ObjectKind kind, std::string_view bytes) {
  ASSIGN_OR_RETURN(ObjectFacts f, RefsAndSizes(kind, bytes));
  Held h{kind, {}, {}, f.content_size};
  h.refs.reserve(f.refs.size());
  for (NamedRef& n : f.refs) {
    h.refs.push_back(n.ref);
    if (n.size) h.promises.push_back(std::move(n));
  }
  return h;
}

// What an object still to be fetched must be, as the object naming it says.
struct Promise {
  uint64_t size;     // a blob's bytes, or the file size a chunk list adds up to
  ObjectKind namer;  // the manifest or chunk list that said so
};

// Promises for blobs and chunk lists, by ID. Two objects naming one ID with
// different sizes cannot both be right (an ID fixes the content), so that
// refuses the whole transfer.
class Promises {
 public:
  Status Add(const ObjectId& id, ObjectKind kind, uint64_t size, ObjectKind namer) {
    auto [it, added] = Of(kind).emplace(id, Promise{size, namer});
    if (!added && it->second.size != size)
      return Corrupt("the server sent objects that disagree on the size of " + Describe(kind, id) +
                     " (" + std::to_string(it->second.size) + " and " + std::to_string(size) +
                     " bytes): refusing the transfer");
    return Status::Ok();
  }
  // Once `id` is received (or found in the store) and checked: a later
  // namer is checked against its real size instead (DownloadSnaps).
  void Forget(ObjectKind kind, const ObjectId& id) { Of(kind).erase(id); }
  const Promise* Find(ObjectKind kind, const ObjectId& id) const {
    const auto& of = kind == ObjectKind::kBlob ? blobs_ : lists_;
    auto it = of.find(id);
    return it == of.end() ? nullptr : &it->second;
  }

 private:
  std::unordered_map<ObjectId, Promise>& Of(ObjectKind kind) {
    return kind == ObjectKind::kBlob ? blobs_ : lists_;
  }
  std::unordered_map<ObjectId, Promise> blobs_, lists_;
};

// `snap`: which one, when it is known.
Status TooDeepFromServer(const std::optional<ObjectId>& snap, const std::string& depth) {
  std::string which = snap ? "snap " + snap->hex() : std::string("a snap");
  return Corrupt("the server sent " + which + ", whose tree nests directories " + depth +
                 " deep, past converge's limit of " + std::to_string(kMaxTreeDepth) +
                 ": refusing the transfer (nothing from it was stored; the server or its data " +
                 "is broken or hostile: tell its operator)");
}

std::string SizeMismatch(ObjectKind kind, const ObjectId& id, uint64_t size, const Promise& p) {
  std::string namer = p.namer == ObjectKind::kChunkList ? "chunk list" : KindName(p.namer);
  return "the server sent " + Describe(kind, id) + " of " + std::to_string(size) +
         " bytes where its " + namer + " says " + std::to_string(p.size) +
         ": refusing the transfer";
}

// The client's role in receiving one pack (store/object_receiver.h): only
// what was asked for, each blob of the size its namer promised; every object
// joins the batch `batch`; manifests, snaps and chunk lists are decoded too,
// and what they name and promise is kept until it is fetched.
class DownloadRole : public ObjectReceiver::Role {
 public:
  DownloadRole(WriteBatch& batch, const std::unordered_map<ObjectId, ObjectKind>& wanted,
               const Promises& promises, std::unordered_map<ObjectId, Held>& held,
               Progress& progress)
      : batch_(batch), wanted_(wanted), promises_(promises), held_(held), progress_(progress) {}

  std::unordered_set<ObjectId> received;

  Status Accept(ObjectKind kind, const ObjectId& id, uint64_t size) override {
    auto w = wanted_.find(id);
    if (w == wanted_.end() || w->second != kind || received.count(id))
      return Corrupt("the server sent " + Describe(kind, id) +
                     ", which was not asked for: refusing the transfer");
    // Sizes are checked here, before a byte is read: a blob against what
    // named it (every blob asked for was named with its size), the others
    // against the metadata limit (by the receiver).
    const Promise* promised = kind == ObjectKind::kBlob ? promises_.Find(kind, id) : nullptr;
    if (promised && !KeepsSize(promised->size, size))
      return Corrupt(SizeMismatch(kind, id, size, *promised));
    if (kind == ObjectKind::kBlob && !promised)
      return Internal("blob " + id.hex() + " was asked for without an expected size");
    return Status::Ok();
  }

  Status Refused(ObjectReceiver::Refusal refusal, ObjectKind kind, const ObjectId& id,
                 uint64_t size, const Status& why) override {
    if (refusal == ObjectReceiver::Refusal::kTooLarge)
      return TooLarge("the server sent a " + std::string(KindName(kind)) + " of " +
                      std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(kMaxMetadataObject) + " bytes for a snap, manifest or " +
                      "chunk list: refusing the transfer (the server or its data is broken; " +
                      "tell its operator)");
    if (refusal == ObjectReceiver::Refusal::kBadEncoding)
      return Corrupt("the server sent " + Describe(kind, id) + " badly encoded (" + why.message() +
                     "): refusing the transfer (nothing from it was stored)");
    if (kind == ObjectKind::kBlob)
      return Corrupt("the server sent a corrupt object: " + why.message());
    return Corrupt("the server sent a corrupt " + std::string(KindName(kind)) + ": " + id.hex() +
                   " does not match its content; nothing from it was stored");
  }

  void Received(size_t n) override { progress_.Add(0, n); }

  Status Take(ReceivedObject&& o) override {
    progress_.Add(1, 0);
    received.insert(o.id);
    // A frame that came compressed is stored as it came (store/object_receiver.h).
    if (o.kind == ObjectKind::kBlob) return AddReceived(batch_, std::move(o));
    Result<Held> h = Decode(o.kind, o.bytes);
    if (!h.ok())
      return Corrupt("the server sent an invalid " + std::string(KindName(o.kind)) + " " +
                     o.id.hex() + ": " + h.status().message());
    held_.emplace(o.id, std::move(*h));  // `received` refuses a second copy
    return AddReceived(batch_, std::move(o));
  }

 private:
  WriteBatch& batch_;
  const std::unordered_map<ObjectId, ObjectKind>& wanted_;
  const Promises& promises_;
  std::unordered_map<ObjectId, Held>& held_;
  Progress& progress_;
};

// Checks `h` (`id`) against what named it, and records what the objects it
// names must be: a chunk list must add up to the size of the file naming it,
// a blob must have the size its manifest entry or chunk list gives (checked
// at once for a blob already received, whose promise is forgotten).
Status KeepPromises(const ObjectId& id, Held& h, Promises& promises, const WriteBatch& batch) {
  if (h.kind == ObjectKind::kChunkList) {
    const Promise* file = promises.Find(ObjectKind::kChunkList, id);
    if (file && !KeepsSize(file->size, h.total))
      return Corrupt("the server sent chunklist " + id.hex() + " adding up to " +
                     std::to_string(h.total) + " bytes where its manifest says " +
                     std::to_string(file->size) + ": refusing the transfer");
  }
  for (const NamedRef& n : h.promises) {
    std::optional<uint64_t> got =
        n.ref.kind == ObjectKind::kBlob ? batch.SizeOf(n.ref.id) : std::nullopt;
    if (!got) {
      RETURN_IF_ERROR(promises.Add(n.ref.id, n.ref.kind, *n.size, h.kind));
    } else if (!KeepsSize(*n.size, *got)) {
      return Corrupt(SizeMismatch(ObjectKind::kBlob, n.ref.id, *got, Promise{*n.size, h.kind}));
    }
  }
  h.promises.clear();
  h.promises.shrink_to_fit();
  return Status::Ok();
}

// An object named by a fetched one that the store already holds: a blob
// must have the promised size (a chunk list is checked again on restore).
Status CheckStored(const ObjectStore& store, const ObjectRef& r, const Promises& promises) {
  const Promise* p = r.kind == ObjectKind::kBlob ? promises.Find(r.kind, r.id) : nullptr;
  if (!p) return Status::Ok();
  ASSIGN_OR_RETURN(uint64_t size, store.SizeOf(r.id));
  if (!KeepsSize(p->size, size))
    return Corrupt("the server sent a " + std::string(KindName(p->namer)) + " naming blob " +
                   r.id.hex() + " with " + std::to_string(p->size) + " bytes, but it has " +
                   std::to_string(size) + ": refusing the transfer");
  return Status::Ok();
}

// Refuses the transfer when a snap's tree is deeper than kMaxTreeDepth,
// measured over what was fetched (`held`) and what the store already had.
Status CheckDepths(const ObjectStore& store, const std::vector<ObjectId>& snaps,
                   const std::unordered_map<ObjectId, Held>& held) {
  TreeReader reader(store);
  TreeDepth depth([&](const ObjectId& id) -> Result<std::vector<std::pair<std::string, ObjectId>>> {
    std::vector<std::pair<std::string, ObjectId>> out;
    auto h = held.find(id);
    if (h == held.end()) {
      ASSIGN_OR_RETURN(Manifest m, reader.ReadManifest(id));
      for (const Entry& e : m.entries)
        if (e.type == EntryType::kDir) out.emplace_back(e.name, e.id);
      return out;
    }
    for (const ObjectRef& r : h->second.refs)
      if (r.kind == ObjectKind::kManifest) out.emplace_back("", r.id);
    return out;
  });
  for (const ObjectId& s : snaps) {
    auto h = held.find(s);
    if (h == held.end()) continue;  // already here before this fetch
    for (const ObjectRef& root : h->second.refs) {
      ASSIGN_OR_RETURN(uint64_t d, depth.Of(root.id));
      if (d > kMaxTreeDepth) return TooDeepFromServer(s, std::to_string(d) + " levels");
    }
  }
  return Status::Ok();
}

// One download: the closure walked top down, one tree level per round, with
// what each object names queued for the next. Blobs name nothing, so a full
// request's worth of them is fetched as soon as it is queued: what is held
// per object stays bounded however many files the snaps have. Received
// objects are known by the write batch (WriteBatch::Contains, a few bytes
// each); `queued_` holds only what is asked for and not yet received.
class Download {
 public:
  Download(ObjectStore& store, ApiClient& api, const std::string& repo, bool progress)
      : store_(store), api_(api), repo_(repo), batch_(store), progress_("Fetching", 0, 0, progress) {}

  Result<DownloadStats> Run(const std::vector<ObjectId>& snaps) {
    LoadLoose();
    std::vector<ObjectRef> level;
    for (const ObjectId& s : snaps)
      if (!store_.Has(s) && queued_.insert(s).second) level.push_back({ObjectKind::kSnap, s});
    // Round r asks for what is r references below a snap: a manifest first
    // met in round r is r - 1 levels deep at least. A server that keeps
    // sending deeper ones is refused here, before thousands of round trips.
    for (uint64_t round = 0; !level.empty(); round++) {
      if (round > kMaxTreeDepth + 1)
        for (const ObjectRef& r : level)
          if (r.kind == ObjectKind::kManifest)
            return TooDeepFromServer(
                snaps.size() == 1 ? std::optional<ObjectId>(snaps.front()) : std::nullopt,
                "more than " + std::to_string(kMaxTreeDepth) + " levels");
      for (size_t i = 0; i < level.size(); i += kIdsPerFetchRequest) {
        size_t end = std::min(level.size(), i + kIdsPerFetchRequest);
        RETURN_IF_ERROR(Request(level.data() + i, level.data() + end));
        while (blobs_.size() >= kIdsPerFetchRequest) RETURN_IF_ERROR(FetchBlobs());
      }
      // What is left of the blobs goes with the next level's requests.
      level = std::move(next_);
      next_.clear();
      level.insert(level.end(), blobs_.begin(), blobs_.end());
      blobs_.clear();
    }
    progress_.Done();
    RETURN_IF_ERROR(CheckDepths(store_, snaps, held_));
    // Everything at once (one pack index, store/cas.h): killed before this,
    // nothing fetched is visible; after, all of it, every reference whole.
    RETURN_IF_ERROR(batch_.Commit());
    // Each fetch adds an index; folding keeps lookups to a few. Not an
    // error for the fetch, whose objects are durable: more indexes to search.
    (void)FoldIndexes(store_);
    return stats_;
  }

 private:
  // One request, for the objects [begin, end): each checked as it arrives,
  // then what the snaps, manifests and chunk lists among them name queued.
  Status Request(const ObjectRef* begin, const ObjectRef* end) {
    std::unordered_map<ObjectId, ObjectKind> wanted;
    wire::ObjectIdSet ask;
    for (const ObjectRef* r = begin; r != end; r++) {
      wanted[r->id] = r->kind;
      ask.of(r->kind).push_back(r->id);
    }
    DownloadRole rx(batch_, wanted, promises_, held_, progress_);
    ObjectReceiver receiver(store_, rx, kMaxMetadataObject);
    // The receiver and its role check every size, before the object's
    // bytes, with a message naming the kind: the parser's own limit is lifted.
    PackParser parser(receiver, PackLimits{kNoLimit});
    RETURN_IF_ERROR(api_.FetchPack(repo_, ask, [&](std::string_view p) { return parser.Feed(p); }));
    RETURN_IF_ERROR(parser.Finish());
    for (const auto& [id, kind] : wanted)
      if (!rx.received.count(id))
        return Corrupt("the server did not send " + Describe(kind, id) + " that it was asked for");
    stats_.objects += rx.received.size();
    stats_.bytes += receiver.object_bytes();
    stats_.received += receiver.bytes();
    for (const auto& [id, kind] : wanted) {
      queued_.erase(id);  // the batch has it now
      if (kind == ObjectKind::kBlob) {
        promises_.Forget(kind, id);  // checked on arrival (DownloadRole::Accept)
        continue;
      }
      auto h = held_.find(id);
      if (h == held_.end()) continue;
      RETURN_IF_ERROR(KeepPromises(id, h->second, promises_, batch_));
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

  // `r`, named by an object just received: to fetch unless the batch, the
  // queue or the store has it (then a blob is checked against the promise).
  Status Queue(const ObjectRef& r) {
    if (batch_.Contains(r.id) || queued_.count(r.id)) return Status::Ok();
    if (Stored(r.id)) {
      RETURN_IF_ERROR(CheckStored(store_, r, promises_));
      if (r.kind == ObjectKind::kBlob) promises_.Forget(r.kind, r.id);
      return Status::Ok();
    }
    queued_.insert(r.id);
    (r.kind == ObjectKind::kBlob ? blobs_ : next_).push_back(r);
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

  // One request's worth of the queued blobs.
  Status FetchBlobs() {
    size_t n = std::min(blobs_.size(), kIdsPerFetchRequest);
    std::vector<ObjectRef> ask(blobs_.end() - static_cast<std::ptrdiff_t>(n), blobs_.end());
    blobs_.resize(blobs_.size() - n);
    return Request(ask.data(), ask.data() + ask.size());
  }

  ObjectStore& store_;
  ApiClient& api_;
  const std::string& repo_;
  WriteBatch batch_;
  Progress progress_;
  std::unordered_map<ObjectId, Held> held_;  // after its request: a manifest's sub-manifests
  Promises promises_;
  std::unordered_set<ObjectId> queued_;  // asked for, or to be, and not yet received
  std::unordered_set<ObjectId> loose_;   // the loose objects when the download began
  bool loose_listed_ = false;
  std::vector<ObjectRef> next_, blobs_;  // queued: the next level's, and blobs to fetch
  DownloadStats stats_;
};

}  // namespace

Result<DownloadStats> DownloadSnaps(ObjectStore& store, ApiClient& api, const std::string& repo,
                                    const std::vector<ObjectId>& snaps, bool progress_on) {
  return Download(store, api, repo, progress_on).Run(snaps);
}

}  // namespace converge
