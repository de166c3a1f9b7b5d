// DownloadSnaps (declared in fetch.h): the closure of some snaps, fetched top
// down one tree level per request, each object verified as it arrives.
#include <unordered_map>
#include <unordered_set>

#include "base/progress.h"
#include "client/fetch.h"
#include "net/pack.h"
#include "store/closure.h"

namespace converge {

namespace {

constexpr size_t kIdsPerRequest = 10000;
constexpr uint64_t kMaxMetadataObject = 64u << 20;

struct Held {
  ObjectKind kind;
  std::string bytes;
  std::vector<ObjectRef> refs;
};

// Receives one pack: blobs stream to temp files and join `blobs`; manifests,
// snaps and chunk lists are kept in memory, decoded, until everything under
// them is stored.
class Receiver : public PackParser::Handler {
 public:
  Receiver(ObjectStore& store, WriteBatch& blobs,
           const std::unordered_map<ObjectId, ObjectKind>& wanted,
           const std::unordered_map<ObjectId, uint64_t>& sizes,
           std::unordered_map<ObjectId, Held>& held, Progress& progress)
      : store_(store), blobs_(blobs), wanted_(wanted), sizes_(sizes), held_(held),
        progress_(progress) {}

  std::unordered_set<ObjectId> received;
  uint64_t bytes = 0;

  Status Begin(ObjectKind kind, const ObjectId& id, uint64_t size) override {
    auto w = wanted_.find(id);
    if (w == wanted_.end() || w->second != kind || received.count(id))
      return Corrupt("the server sent " + std::string(KindName(kind)) + " " + id.hex() +
                     ", which was not asked for: refusing the transfer");
    auto expected = sizes_.find(id);
    if (expected != sizes_.end() && expected->second != size)
      return Corrupt("the server sent " + id.hex() + " with " + std::to_string(size) +
                     " bytes where its manifest says " + std::to_string(expected->second));
    kind_ = kind;
    id_ = id;
    size_ = size;
    buf_.clear();
    if (kind == ObjectKind::kBlob) {
      ASSIGN_OR_RETURN(ObjectWriter w2, store_.NewWriter());
      writer_.emplace(std::move(w2));
    } else if (size > kMaxMetadataObject) {
      return TooLarge("the server sent a " + std::string(KindName(kind)) + " of " +
                      std::to_string(size) + " bytes");
    }
    return Status::Ok();
  }

  Status Data(std::string_view piece) override {
    bytes += piece.size();
    progress_.Add(0, piece.size());
    if (writer_) return writer_->Append(piece);
    buf_.append(piece);
    return Status::Ok();
  }

  Status End() override {
    progress_.Add(1, 0);
    received.insert(id_);
    if (writer_) {
      ObjectWriter w = std::move(*writer_);
      writer_.reset();
      Result<ObjectId> got = w.Finish(id_);
      if (!got.ok()) return Corrupt("the server sent a corrupt object: " + got.status().message());
      return blobs_.Add(std::move(w));
    }
    if (ObjectId::Of(buf_) != id_)
      return Corrupt("the server sent a corrupt " + std::string(KindName(kind_)) + ": " +
                     id_.hex() + " does not match its content; nothing from it was stored");
    Result<std::vector<ObjectRef>> refs = ReferencesOf(kind_, buf_);
    if (!refs.ok())
      return Corrupt("the server sent an invalid " + std::string(KindName(kind_)) + " " +
                     id_.hex() + ": " + refs.status().message());
    held_[id_] = Held{kind_, std::move(buf_), std::move(*refs)};
    buf_.clear();
    return Status::Ok();
  }

 private:
  ObjectStore& store_;
  WriteBatch& blobs_;
  const std::unordered_map<ObjectId, ObjectKind>& wanted_;
  const std::unordered_map<ObjectId, uint64_t>& sizes_;
  std::unordered_map<ObjectId, Held>& held_;
  Progress& progress_;
  ObjectKind kind_ = ObjectKind::kBlob;
  ObjectId id_;
  uint64_t size_ = 0;
  std::string buf_;
  std::optional<ObjectWriter> writer_;
};

// Sizes that the objects named by `h` must have, from the entries naming them.
void ExpectSizes(const Held& h, std::unordered_map<ObjectId, uint64_t>& sizes) {
  if (h.kind == ObjectKind::kChunkList) {
    Result<ChunkList> c = DecodeChunkList(h.bytes);
    if (c.ok())
      for (const auto& ch : c->chunks) sizes.emplace(ch.blob, ch.size);
  } else if (h.kind == ObjectKind::kManifest) {
    Result<Manifest> m = DecodeManifest(h.bytes);
    if (m.ok())
      for (const Entry& e : m->entries)
        if (e.type == EntryType::kFile && !e.chunked) sizes.emplace(e.id, e.size);
  }
}

}  // namespace

Result<DownloadStats> DownloadSnaps(ObjectStore& store, ApiClient& api, const std::string& repo,
                                    const std::vector<ObjectId>& snaps, bool progress_on) {
  DownloadStats stats;
  WriteBatch blobs(store);
  std::unordered_map<ObjectId, Held> held;
  std::unordered_map<ObjectId, uint64_t> sizes;
  std::unordered_set<ObjectId> queued;
  std::vector<ObjectRef> level;
  for (const ObjectId& s : snaps)
    if (!store.Has(s) && queued.insert(s).second) level.push_back({ObjectKind::kSnap, s});
  Progress progress("Fetching", 0, 0, progress_on);
  while (!level.empty()) {
    std::vector<ObjectRef> next;
    for (size_t i = 0; i < level.size(); i += kIdsPerRequest) {
      std::unordered_map<ObjectId, ObjectKind> wanted;
      wire::ObjectIdSet ask;
      for (size_t j = i; j < std::min(level.size(), i + kIdsPerRequest); j++) {
        wanted[level[j].id] = level[j].kind;
        ask.of(level[j].kind).push_back(level[j].id);
      }
      Receiver rx(store, blobs, wanted, sizes, held, progress);
      PackParser parser(rx);
      RETURN_IF_ERROR(api.FetchPack(repo, ask, [&](std::string_view p) { return parser.Feed(p); }));
      RETURN_IF_ERROR(parser.Finish());
      for (const auto& [id, kind] : wanted)
        if (!rx.received.count(id))
          return Corrupt("the server did not send " + std::string(KindName(kind)) + " " +
                         id.hex() + " that it was asked for");
      stats.objects += rx.received.size();
      stats.bytes += rx.bytes;
      for (const auto& [id, kind] : wanted) {
        auto h = held.find(id);
        if (h == held.end()) continue;
        ExpectSizes(h->second, sizes);
        for (const ObjectRef& r : h->second.refs)
          if (!store.Has(r.id) && !blobs.Contains(r.id) && queued.insert(r.id).second)
            next.push_back(r);
      }
    }
    level = std::move(next);
  }
  progress.Done();
  // Blobs first; then the rest leaves first, so every visible object's
  // references are visible too, even if this stops half way.
  RETURN_IF_ERROR(blobs.Commit());
  std::vector<ObjectRef> roots;
  for (const ObjectId& s : snaps)
    if (held.count(s)) roots.push_back({ObjectKind::kSnap, s});
  std::vector<ObjectRef> order = LeavesFirst(roots, [&](const ObjectRef& r) {
    std::vector<ObjectRef> kids;
    auto h = held.find(r.id);
    if (h != held.end())
      for (const ObjectRef& k : h->second.refs)
        if (held.count(k.id)) kids.push_back(k);
    return kids;
  });
  WriteBatch rest(store);
  for (const ObjectRef& r : order) RETURN_IF_ERROR(rest.Put(held[r.id].bytes).status());
  RETURN_IF_ERROR(rest.Commit());
  return stats;
}

}  // namespace converge
