// What a download checks of what a server sends (client/download_checks.h).
#include "client/download_checks.h"

#include "client/download.h"
#include "store/tree_depth.h"

namespace converge::download {

namespace {

std::string SizeMismatch(ObjectKind kind, const ObjectId& id, uint64_t size, const Promise& p) {
  std::string namer = p.namer == ObjectKind::kChunkList ? "chunk list" : KindName(p.namer);
  return "the server sent " + Describe(kind, id) + " of " + std::to_string(size) +
         " bytes where its " + namer + " says " + std::to_string(p.size) +
         ": refusing the transfer";
}

}  // namespace

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

Status Promises::Add(const ObjectId& id, ObjectKind kind, uint64_t size, ObjectKind namer) {
  auto [it, added] = Of(kind).emplace(id, Promise{size, namer});
  if (!added && it->second.size != size)
    return Corrupt("the server sent objects that disagree on the size of " + Describe(kind, id) +
                   " (" + std::to_string(it->second.size) + " and " + std::to_string(size) +
                   " bytes): refusing the transfer");
  return Status::Ok();
}

const Promise* Promises::Find(ObjectKind kind, const ObjectId& id) const {
  const auto& of = kind == ObjectKind::kBlob ? blobs_ : lists_;
  auto it = of.find(id);
  return it == of.end() ? nullptr : &it->second;
}

Status TooDeepFromServer(const std::optional<ObjectId>& snap, const std::string& depth) {
  std::string which = snap ? "snap " + snap->hex() : std::string("a snap");
  return Corrupt("the server sent " + which + ", whose tree nests directories " + depth +
                 " deep, past converge's limit of " + std::to_string(kMaxTreeDepth) +
                 ": refusing the transfer (nothing from it was stored; the server or its data " +
                 "is broken or hostile: tell its operator)");
}

Status DownloadRole::Accept(ObjectKind kind, const ObjectId& id, uint64_t size) {
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

Status DownloadRole::Refused(ObjectReceiver::Refusal refusal, ObjectKind kind, const ObjectId& id,
                             uint64_t size, const Status& why) {
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

Status DownloadRole::Take(ReceivedObject&& o) {
  progress_.Add(1, 0);
  received.insert(o.id);
  // A frame that came compressed is stored as it came (store/object_receiver.h).
  if (o.kind == ObjectKind::kBlob) {
    if (std::optional<std::string_view> bytes = o.file.Held(); bytes && observer_)
      observer_->Blob(o.id, *bytes);
    return AddReceived(batch_, std::move(o));
  }
  Result<Held> h = Decode(o.kind, o.bytes);
  if (!h.ok())
    return Corrupt("the server sent an invalid " + std::string(KindName(o.kind)) + " " +
                   o.id.hex() + ": " + h.status().message());
  held_.emplace(o.id, std::move(*h));  // `received` refuses a second copy
  if (observer_) observer_->Metadata(o.kind, o.id, o.bytes);
  return AddReceived(batch_, std::move(o));
}

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

}  // namespace converge::download
