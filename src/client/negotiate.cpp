#include "client/negotiate.h"

#include <algorithm>

#include <unordered_set>

#include "store/closure.h"
#include "store/object_refs.h"
#include "store/tree.h"
#include "store/tree_depth.h"

namespace converge {

namespace {

constexpr size_t kIdsPerRequest = 10000;

// What may need uploading, and what each of those references.
struct Candidates {
  std::vector<ObjectRef> list;
  std::unordered_map<ObjectId, std::vector<ObjectRef>> refs;
  std::unordered_map<ObjectId, ObjectId> bases;  // the base's object at the same path
  std::unordered_map<ObjectId, std::string> names;

  void Base(const ObjectId& id, const std::optional<ObjectId>& base) {
    if (base) bases.emplace(id, *base);
  }
  void Name(const ObjectId& id, const std::string& name) { names.emplace(id, name); }

  void Add(const ObjectRef& r, std::vector<ObjectRef> refs_of_r) {
    if (refs.emplace(r.id, std::move(refs_of_r)).second) list.push_back(r);
  }
};

// The IDs of `ids` the repo lacks, asked in batches counted in `*requests`.
Result<wire::ObjectIdSet> AskMissing(ApiClient& api, const std::string& repo,
                                     const std::vector<ObjectRef>& ids, size_t* requests) {
  wire::ObjectIdSet all;
  for (size_t i = 0; i < ids.size(); i += kIdsPerRequest) {
    ++*requests;
    wire::ObjectIdSet ask;
    for (size_t j = i; j < std::min(ids.size(), i + kIdsPerRequest); j++)
      ask.of(ids[j].kind).push_back(ids[j].id);
    ASSIGN_OR_RETURN(wire::ObjectIdSet got, api.Missing(repo, ask));
    for (ObjectKind k :
         {ObjectKind::kBlob, ObjectKind::kManifest, ObjectKind::kSnap, ObjectKind::kChunkList})
      all.of(k).insert(all.of(k).end(), got.of(k).begin(), got.of(k).end());
  }
  return all;
}

// A chunk list and those of its chunks the base's version of the file lacks.
Status AddChunkList(const TreeReader& reader, const ObjectId& id, const std::string& name,
                    const std::optional<ObjectId>& base, Candidates& out) {
  ASSIGN_OR_RETURN(ChunkList now, reader.ReadChunkList(id));
  std::unordered_set<ObjectId> had;
  if (base) {
    ASSIGN_OR_RETURN(ChunkList was, reader.ReadChunkList(*base));
    for (const ChunkList::Chunk& ch : was.chunks) had.insert(ch.blob);
  }
  std::vector<ObjectRef> refs;
  for (const ChunkList::Chunk& ch : now.chunks) {
    refs.push_back({ObjectKind::kBlob, ch.blob});
    if (!had.count(ch.blob)) out.Add({ObjectKind::kBlob, ch.blob}, {});
    out.Name(ch.blob, name);
  }
  out.Add({ObjectKind::kChunkList, id}, std::move(refs));
  out.Base(id, base);
  out.Name(id, name);
  return Status::Ok();
}

// The objects of `root`'s tree that differ from `base_root`'s at the same
// path. Whatever is equal there is part of the base, so the repo holds it.
Status NewSinceBase(const TreeReader& reader, const ObjectId& root, const ObjectId& base_root,
                    Candidates& out) {
  std::vector<std::pair<ObjectId, std::optional<ObjectId>>> todo = {{root, base_root}};
  while (!todo.empty()) {
    auto [id, base] = todo.back();
    todo.pop_back();
    if ((base && *base == id) || out.refs.count(id)) continue;
    ASSIGN_OR_RETURN(Manifest now, reader.ReadManifest(id));
    Manifest was;
    if (base) {
      ASSIGN_OR_RETURN(was, reader.ReadManifest(*base));
    }
    std::vector<ObjectRef> refs;
    size_t j = 0;
    for (const Entry& e : now.entries) {
      while (j < was.entries.size() && was.entries[j].name < e.name) j++;
      const Entry* old =
          j < was.entries.size() && was.entries[j].name == e.name ? &was.entries[j] : nullptr;
      std::optional<ObjectRef> ref = EntryRef(e);
      if (!ref) continue;  // a symlink
      ObjectRef r = *ref;
      refs.push_back(r);
      bool same_kind = old && old->type == e.type && old->chunked == e.chunked;
      if (same_kind && old->id == e.id) continue;
      std::optional<ObjectId> old_id = same_kind ? std::optional<ObjectId>(old->id) : std::nullopt;
      if (e.type == EntryType::kDir) {
        todo.push_back({e.id, old_id});
      } else if (e.chunked) {
        RETURN_IF_ERROR(AddChunkList(reader, e.id, e.name, old_id, out));
      } else {
        out.Add(r, {});
        out.Base(e.id, old_id);
        out.Name(e.id, e.name);
      }
    }
    out.Add({ObjectKind::kManifest, id}, std::move(refs));
    out.Base(id, base);
  }
  return Status::Ok();
}

// Fills plan.refs and plan.bytes with the objects the server reported
// missing, each of which must have been asked about.
Status TakeMissing(const ObjectStore& store, const wire::ObjectIdSet& missing,
                   const Candidates& asked, UploadPlan& plan) {
  for (ObjectKind kind :
       {ObjectKind::kSnap, ObjectKind::kManifest, ObjectKind::kChunkList, ObjectKind::kBlob}) {
    for (const ObjectId& id : missing.of(kind)) {
      auto it = asked.refs.find(id);
      if (it == asked.refs.end())
        return Invalid("the server reported an object it was not asked about");
      ASSIGN_OR_RETURN(uint64_t size, store.SizeOf(id));
      if (plan.refs.emplace(id, it->second).second) plan.bytes += size;
      auto base = asked.bases.find(id);
      if (base != asked.bases.end()) plan.bases.emplace(id, base->second);
      auto name = asked.names.find(id);
      if (name != asked.names.end()) plan.names.emplace(id, name->second);
    }
  }
  return Status::Ok();
}

// One request: the snap's differences from the base, and the base's root.
// Nullopt when the repo turns out not to hold the base.
Result<std::optional<UploadPlan>> AgainstBase(const ObjectStore& store, ApiClient& api,
                                              const std::string& repo, const ObjectId& snap,
                                              const ObjectId& base, size_t* requests) {
  TreeReader reader(store);
  Candidates c;
  ObjectId base_root;
  Status diffed = [&]() -> Status {
    ASSIGN_OR_RETURN(Snap now, reader.ReadSnap(snap));
    ASSIGN_OR_RETURN(Snap was, reader.ReadSnap(base));
    base_root = was.root;
    c.Add({ObjectKind::kSnap, snap}, {{ObjectKind::kManifest, now.root}});
    return NewSinceBase(reader, now.root, was.root, c);
  }();
  if (!diffed.ok()) return std::optional<UploadPlan>();  // the walk reports what is wrong
  // The directories along the changed paths are not asked about: each is new
  // unless someone published that very directory before, and sending one
  // against its base's version (about 100 bytes) costs little more than
  // asking about it (a 67-byte line each way); the server drops one it holds.
  std::vector<ObjectRef> ask, dirs;
  for (const ObjectRef& r : c.list) (r.kind == ObjectKind::kManifest ? dirs : ask).push_back(r);
  ask.push_back({ObjectKind::kManifest, base_root});
  UploadPlan plan;
  ASSIGN_OR_RETURN(wire::ObjectIdSet missing, AskMissing(api, repo, ask, requests));
  for (const ObjectId& id : missing.of(ObjectKind::kManifest))
    if (id == base_root) return std::optional<UploadPlan>();
  // A snap the repo holds comes with its whole tree: nothing to send then.
  bool snap_missing = !missing.of(ObjectKind::kSnap).empty();
  for (const ObjectRef& d : dirs)
    if (snap_missing) missing.of(ObjectKind::kManifest).push_back(d.id);
  RETURN_IF_ERROR(TakeMissing(store, missing, c, plan));
  return std::optional<UploadPlan>(std::move(plan));
}

// Top-down walk: ask about one level of candidates at a time and descend only
// into what is missing; a small blob under a missing manifest or chunk list
// is taken as missing without asking (kAskBlobsFrom).
Result<UploadPlan> Walk(const ObjectStore& store, ApiClient& api, const std::string& repo,
                        const ObjectId& snap, size_t* requests) {
  UploadPlan plan;
  Candidates asked;
  std::vector<ObjectRef> level = {{ObjectKind::kSnap, snap}};
  for (uint64_t round = 0; !level.empty(); round++) {
    // A manifest first met in round r is at least r - 1 levels deep: past the
    // limit, the server would refuse it anyway, after all those round trips.
    if (round > kMaxTreeDepth + 1)
      for (const ObjectRef& r : level)
        if (r.kind == ObjectKind::kManifest)
          return Corrupt("snap " + snap.hex() + " nests directories more than " +
                         std::to_string(kMaxTreeDepth) + " levels deep, past converge's limit: " +
                         "servers refuse such a tree (capture no longer makes one)");
    for (const ObjectRef& r : level) asked.refs.emplace(r.id, std::vector<ObjectRef>());
    ASSIGN_OR_RETURN(wire::ObjectIdSet missing, AskMissing(api, repo, level, requests));
    std::vector<ObjectRef> next;
    wire::ObjectIdSet unasked;  // small blobs under what is missing
    for (ObjectKind kind : {ObjectKind::kSnap, ObjectKind::kManifest, ObjectKind::kChunkList}) {
      for (const ObjectId& id : missing.of(kind)) {
        auto it = asked.refs.find(id);
        if (it == asked.refs.end())
          return Invalid("the server reported an object it was not asked about");
        ASSIGN_OR_RETURN(std::string bytes, store.Read(id));
        ASSIGN_OR_RETURN(ObjectFacts facts, RefsAndSizes(kind, bytes));
        // References into the maps stay valid as they grow; iterators do not.
        std::vector<ObjectRef>& kids = it->second;
        auto parent_name = asked.names.find(id);
        std::string parent = parent_name == asked.names.end() ? "" : parent_name->second;
        for (const NamedRef& n : facts.refs) {
          kids.push_back(n.ref);
          if (asked.refs.count(n.ref.id)) continue;
          asked.refs.emplace(n.ref.id, std::vector<ObjectRef>());
          asked.Name(n.ref.id, n.name.empty() ? parent : n.name);  // a chunk: its file's
          if (n.ref.kind == ObjectKind::kBlob && n.size && *n.size < kAskBlobsFrom)
            unasked.of(ObjectKind::kBlob).push_back(n.ref.id);
          else
            next.push_back(n.ref);
        }
      }
    }
    RETURN_IF_ERROR(TakeMissing(store, missing, asked, plan));
    RETURN_IF_ERROR(TakeMissing(store, unasked, asked, plan));
    level = std::move(next);
  }
  return plan;
}

}  // namespace

Result<UploadPlan> Negotiate(const ObjectStore& store, ApiClient& api, const std::string& repo,
                             const ObjectId& snap, const std::optional<ObjectId>& base) {
  size_t requests = 0;
  std::optional<UploadPlan> found;
  if (base) {
    ASSIGN_OR_RETURN(found, AgainstBase(store, api, repo, snap, *base, &requests));
  }
  if (!found) {
    ASSIGN_OR_RETURN(found, Walk(store, api, repo, snap, &requests));
  }
  UploadPlan plan = std::move(*found);
  plan.requests = requests;
  if (!plan.refs.count(snap)) return plan;
  plan.order = LeavesFirst({{ObjectKind::kSnap, snap}}, [&](const ObjectRef& r) {
    std::vector<ObjectRef> kids;
    for (const ObjectRef& k : plan.refs[r.id])
      if (plan.refs.count(k.id)) kids.push_back(k);
    return kids;
  });
  // Blobs first (they name nothing), then the rest still leaves first: the
  // server checks consecutive manifests together, in one batched query.
  std::stable_partition(plan.order.begin(), plan.order.end(),
                        [](const ObjectRef& r) { return r.kind == ObjectKind::kBlob; });
  return plan;
}

}  // namespace converge
