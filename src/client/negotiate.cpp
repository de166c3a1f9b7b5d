#include "client/negotiate.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <unordered_set>

#include "base/parallel.h"
#include "store/closure.h"
#include "store/id_set.h"
#include "store/object_refs.h"
#include "store/tree.h"
#include "store/tree_depth.h"

namespace converge {

namespace {

constexpr size_t kIdsPerRequest = 10000;
// Changed directories whose manifests (and their bases') are read at once:
// enough to keep every core busy, few enough to hold (at most ~2 x 256
// decoded manifests).
constexpr size_t kDirsPerBatch = 256;
// Names are kept in blocks of 1 MiB: a position is the block (12 bits) and
// the offset in it (20 bits).
constexpr size_t kNameBlockBits = 20;
constexpr size_t kNameBlock = size_t{1} << kNameBlockBits;
constexpr size_t kMaxNameBlocks = (size_t{1} << (32 - kNameBlockBits)) - 1;  // kNoName is past them
constexpr size_t kMaxNameKept = 4096;  // longer names are cut for ordering

// What may need uploading when diffing against a base (as much as differs
// from it), and what each of those references.
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

// The plan as negotiation finds it: the missing blobs in a flat list with
// their names, the missing snaps, manifests and chunk lists with the ones of
// those they name (all the leaves-first order needs: blobs go first anyway).
// Each object is added once: the walks see to that.
class PlanBuilder {
 public:
  explicit PlanBuilder(const ObjectStore& store) : store_(store) {}

  uint32_t Intern(std::string_view name) {
    name = name.substr(0, std::min(name.size(), kMaxNameKept));
    std::vector<std::string>& blocks = plan_.name_blocks;
    if (blocks.empty() || blocks.back().size() + name.size() + 1 > kNameBlock) {
      if (blocks.size() == kMaxNameBlocks) return kNoName;  // 4 GiB of names: order unsorted
      blocks.emplace_back();
      blocks.back().reserve(kNameBlock);
    }
    std::string& block = blocks.back();
    uint32_t at = static_cast<uint32_t>(((blocks.size() - 1) << kNameBlockBits) | block.size());
    block.append(name);
    block.push_back('\0');
    return at;
  }
  uint32_t Intern(const std::unordered_map<ObjectId, std::string>& names, const ObjectId& id) {
    auto it = names.find(id);
    return it == names.end() ? kNoName : Intern(it->second);
  }

  // `r` is missing; `refs`: what it references (only the non-blobs are kept).
  Status Add(const ObjectRef& r, uint32_t name, const std::vector<ObjectRef>& refs,
             const std::optional<ObjectId>& base) {
    ASSIGN_OR_RETURN(ObjectStore::Location at, store_.Locate(r.id));
    PlannedSize size{at.size, at.compressed || !at.packed};
    plan_.bytes += at.size;
    if (base) plan_.bases.emplace(r.id, *base);
    if (r.kind == ObjectKind::kBlob) {
      plan_.order.push_back(r);
      plan_.size_of.push_back(size);
      plan_.name_of.push_back(name);
      return Status::Ok();
    }
    Meta& m = meta_[r.id];
    m.size = size;
    for (const ObjectRef& k : refs)
      if (k.kind != ObjectKind::kBlob) m.kids.push_back(k);
    return Status::Ok();
  }

  // The plan, `snap`'s missing objects in upload order: blobs first (they
  // name nothing), then the rest leaves first, so the server checks
  // consecutive manifests together, in one batched query. Nothing when the
  // repo holds the snap (with its whole tree).
  Result<UploadPlan> Finish(const ObjectId& snap, size_t requests) {
    plan_.requests = requests;
    if (!meta_.count(snap)) {
      plan_.order.clear();
      plan_.size_of.clear();
      plan_.name_of.clear();
      plan_.name_blocks.clear();
      return std::move(plan_);
    }
    RETURN_IF_ERROR(DropCopies());
    std::vector<ObjectRef> rest = LeavesFirst({{ObjectKind::kSnap, snap}}, [&](const ObjectRef& r) {
      std::vector<ObjectRef> kids;
      for (const ObjectRef& k : meta_[r.id].kids)
        if (meta_.count(k.id)) kids.push_back(k);
      return kids;
    });
    for (const ObjectRef& r : rest) {
      plan_.order.push_back(r);
      plan_.size_of.push_back(meta_[r.id].size);
    }
    meta_.clear();
    return std::move(plan_);
  }

 private:
  // The walk takes blobs under a missing directory as missing without
  // keeping their IDs in its set of those seen (they are most of a tree's
  // objects; the plan holds them anyway): a blob met twice is added twice,
  // and the later copies go here (positions sorted by ID, 4 bytes a blob).
  Status DropCopies() {
    size_t n = plan_.order.size();  // only blobs so far
    std::vector<uint32_t> pos(n);
    for (size_t i = 0; i < n; i++) pos[i] = static_cast<uint32_t>(i);
    std::stable_sort(pos.begin(), pos.end(), [&](uint32_t a, uint32_t b) {
      return plan_.order[a].id < plan_.order[b].id;
    });
    std::vector<bool> copy(n);
    for (size_t i = 1; i < n; i++)
      if (plan_.order[pos[i]].id == plan_.order[pos[i - 1]].id) copy[pos[i]] = true;
    std::vector<uint32_t>().swap(pos);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
      if (copy[i]) {
        plan_.bytes -= plan_.size_of[i].size;
        continue;
      }
      plan_.order[kept] = plan_.order[i];
      plan_.size_of[kept] = plan_.size_of[i];
      plan_.name_of[kept] = plan_.name_of[i];
      kept++;
    }
    plan_.order.resize(kept);
    plan_.size_of.resize(kept);
    plan_.name_of.resize(kept);
    return Status::Ok();
  }

  // A missing snap, manifest or chunk list: its size, and the ones of those
  // it names.
  struct Meta {
    PlannedSize size{0, 0};
    std::vector<ObjectRef> kids;
  };

  const ObjectStore& store_;
  UploadPlan plan_;
  std::unordered_map<ObjectId, Meta> meta_;
};

// Asks which of `ids` the repo lacks, in batches counted in `*requests`, and
// hands each one reported (once) to `missing`. Fails with kInvalid when the
// server reports an object it was not asked about in that batch.
Status AskMissing(ApiClient& api, const std::string& repo, const std::vector<ObjectRef>& ids,
                  size_t* requests, const std::function<Status(const ObjectRef&)>& missing) {
  for (size_t i = 0; i < ids.size(); i += kIdsPerRequest) {
    ++*requests;
    size_t end = std::min(ids.size(), i + kIdsPerRequest);
    wire::ObjectIdSet ask;
    std::vector<std::pair<ObjectId, size_t>> asked;  // sorted, to check the answer
    for (size_t j = i; j < end; j++) {
      ask.of(ids[j].kind).push_back(ids[j].id);
      asked.push_back({ids[j].id, j});
    }
    std::sort(asked.begin(), asked.end());
    ASSIGN_OR_RETURN(wire::ObjectIdSet got, api.Missing(repo, ask));
    std::vector<bool> reported(end - i);
    for (ObjectKind k :
         {ObjectKind::kSnap, ObjectKind::kManifest, ObjectKind::kChunkList, ObjectKind::kBlob}) {
      for (const ObjectId& id : got.of(k)) {
        auto it = std::lower_bound(asked.begin(), asked.end(), std::make_pair(id, size_t{0}));
        if (it == asked.end() || it->first != id)
          return Invalid("the server reported an object it was not asked about");
        if (reported[it->second - i]) continue;
        reported[it->second - i] = true;
        RETURN_IF_ERROR(missing(ids[it->second]));
      }
    }
  }
  return Status::Ok();
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

// A changed directory: its manifest and its base's (the base's directory
// at the same path, when it had one).
struct DirPair {
  ObjectId id;
  std::optional<ObjectId> base;
  Manifest now, was;
};

// Adds `d` and what its entries name that differs from the base's entry of
// the same name; its changed subdirectories go to `todo` (once each).
Status CompareDir(const TreeReader& reader, DirPair& d, std::vector<DirPair>& todo,
                  std::unordered_set<ObjectId>& queued, Candidates& out) {
  std::vector<ObjectRef> refs;
  size_t j = 0;
  for (const Entry& e : d.now.entries) {
    while (j < d.was.entries.size() && d.was.entries[j].name < e.name) j++;
    const Entry* old =
        j < d.was.entries.size() && d.was.entries[j].name == e.name ? &d.was.entries[j] : nullptr;
    std::optional<ObjectRef> ref = EntryRef(e);
    if (!ref) continue;  // a symlink
    ObjectRef r = *ref;
    refs.push_back(r);
    bool same_kind = old && old->type == e.type && old->chunked == e.chunked;
    if (same_kind && old->id == e.id) continue;
    std::optional<ObjectId> old_id = same_kind ? std::optional<ObjectId>(old->id) : std::nullopt;
    if (e.type == EntryType::kDir) {
      if (!out.refs.count(e.id) && queued.insert(e.id).second)
        todo.push_back({e.id, old_id, {}, {}});
    } else if (e.chunked) {
      RETURN_IF_ERROR(AddChunkList(reader, e.id, e.name, old_id, out));
    } else {
      out.Add(r, {});
      out.Base(e.id, old_id);
      out.Name(e.id, e.name);
    }
  }
  out.Add({ObjectKind::kManifest, d.id}, std::move(refs));
  out.Base(d.id, d.base);
  return Status::Ok();
}

// The objects of `root`'s tree that differ from `base_root`'s at the same
// path. Whatever is equal there is part of the base, so the repo holds it.
// The server waits meanwhile, so the manifests are read (decompressed,
// re-hashed, decoded) on every core, kDirsPerBatch directories at a time.
Status NewSinceBase(const TreeReader& reader, const ObjectId& root, const ObjectId& base_root,
                    Candidates& out) {
  if (root == base_root) return Status::Ok();
  std::vector<DirPair> todo;
  todo.push_back({root, base_root, {}, {}});
  std::unordered_set<ObjectId> queued = {root};
  while (!todo.empty()) {
    size_t n = std::min(todo.size(), kDirsPerBatch);
    std::vector<DirPair> batch(std::make_move_iterator(todo.end() - static_cast<ptrdiff_t>(n)),
                               std::make_move_iterator(todo.end()));
    todo.resize(todo.size() - n);
    RETURN_IF_ERROR(ParallelFor(n, WorkerCount(), [&](size_t i) -> Status {
      ASSIGN_OR_RETURN(batch[i].now, reader.ReadManifest(batch[i].id));
      if (batch[i].base) {
        ASSIGN_OR_RETURN(batch[i].was, reader.ReadManifest(*batch[i].base));
      }
      return Status::Ok();
    }));
    for (DirPair& d : batch) RETURN_IF_ERROR(CompareDir(reader, d, todo, queued, out));
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
  PlanBuilder plan(store);
  bool base_missing = false, snap_missing = false;
  auto add = [&](const ObjectRef& r) -> Status {
    auto base = c.bases.find(r.id);
    return plan.Add(r, plan.Intern(c.names, r.id), c.refs[r.id],
                    base == c.bases.end() ? std::nullopt : std::optional<ObjectId>(base->second));
  };
  RETURN_IF_ERROR(AskMissing(api, repo, ask, requests, [&](const ObjectRef& r) -> Status {
    if (r.kind == ObjectKind::kManifest && r.id == base_root) {
      base_missing = true;
      return Status::Ok();
    }
    if (r.kind == ObjectKind::kSnap) snap_missing = true;
    return add(r);
  }));
  if (base_missing) return std::optional<UploadPlan>();
  // A snap the repo holds comes with its whole tree: nothing to send then.
  if (snap_missing)
    for (const ObjectRef& d : dirs) RETURN_IF_ERROR(add(d));
  ASSIGN_OR_RETURN(UploadPlan done, plan.Finish(snap, *requests));
  return std::optional<UploadPlan>(std::move(done));
}

// Top-down walk: ask about one level of candidates at a time and descend only
// into what is missing; a small blob under a missing manifest or chunk list
// is taken as missing without asking (kAskBlobsFrom). Per object, only its
// ID in `seen` and, if missing, its entry in the plan are kept.
Result<UploadPlan> Walk(const ObjectStore& store, ApiClient& api, const std::string& repo,
                        const ObjectId& snap, size_t* requests) {
  PlanBuilder plan(store);
  IdSet seen;
  seen.Insert(snap);
  std::vector<ObjectRef> level = {{ObjectKind::kSnap, snap}};
  std::unordered_map<ObjectId, uint32_t> names;  // of the blobs and chunk lists in `level`
  for (uint64_t round = 0; !level.empty(); round++) {
    // A manifest first met in round r is at least r - 1 levels deep: past the
    // limit, the server would refuse it anyway, after all those round trips.
    if (round > kMaxTreeDepth + 1)
      for (const ObjectRef& r : level)
        if (r.kind == ObjectKind::kManifest)
          return Corrupt("snap " + snap.hex() + " nests directories more than " +
                         std::to_string(kMaxTreeDepth) + " levels deep, past converge's limit: " +
                         "servers refuse such a tree (capture no longer makes one)");
    std::vector<ObjectRef> next;
    std::unordered_map<ObjectId, uint32_t> next_names;
    RETURN_IF_ERROR(AskMissing(api, repo, level, requests, [&](const ObjectRef& r) -> Status {
      auto named = names.find(r.id);
      uint32_t name = named == names.end() ? kNoName : named->second;
      if (r.kind == ObjectKind::kBlob) return plan.Add(r, name, {}, std::nullopt);
      ASSIGN_OR_RETURN(std::string bytes, store.Read(r.id));
      ASSIGN_OR_RETURN(ObjectFacts facts, RefsAndSizes(r.kind, bytes));
      std::vector<ObjectRef> refs;
      for (const NamedRef& n : facts.refs) {
        refs.push_back(n.ref);
        // A small blob is not kept in `seen`: PlanBuilder drops its copies.
        bool small = n.ref.kind == ObjectKind::kBlob && n.size && *n.size < kAskBlobsFrom;
        if (!small && !seen.Insert(n.ref.id)) continue;
        bool leaf = n.ref.kind == ObjectKind::kBlob || n.ref.kind == ObjectKind::kChunkList;
        uint32_t kid_name = !leaf ? kNoName : n.name.empty() ? name : plan.Intern(n.name);
        if (small) {
          RETURN_IF_ERROR(plan.Add(n.ref, kid_name, {}, std::nullopt));
          continue;
        }
        next.push_back(n.ref);
        if (kid_name != kNoName) next_names.emplace(n.ref.id, kid_name);
      }
      return plan.Add(r, kNoName, refs, std::nullopt);
    }));
    level = std::move(next);
    names = std::move(next_names);
  }
  return plan.Finish(snap, *requests);
}

}  // namespace

std::string_view NameAt(const UploadPlan& plan, uint32_t at) {
  if (at == kNoName) return std::string_view();
  size_t block = at >> kNameBlockBits, offset = at & (kNameBlock - 1);
  if (block >= plan.name_blocks.size() || offset >= plan.name_blocks[block].size())
    return std::string_view();
  return std::string_view(plan.name_blocks[block].c_str() + offset);
}

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
  return std::move(*found);
}

}  // namespace converge
