#include "store/fsck.h"

#include <algorithm>

#include "base/text.h"
#include "store/object_refs.h"

namespace converge {

namespace {

constexpr uint64_t kMaxMetadataBytes = 256u << 20;

int KindIndex(ObjectKind kind) {
  return static_cast<int>(kind);
}

std::string Short(const ObjectId& id) {
  return id.hex().substr(0, 12);
}

std::string JoinFsckPath(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

}  // namespace

size_t FsckReport::errors() const {
  return static_cast<size_t>(std::count_if(problems.begin(), problems.end(),
                                           [](const FsckProblem& p) { return !p.warning; }));
}

ClosureCheck::Known* ClosureCheck::Find(const ObjectRef& ref) {
  auto& map = known_[KindIndex(ref.kind)];
  auto it = map.find(ref.id);
  return it == map.end() ? nullptr : &it->second;
}

const ClosureCheck::Known* ClosureCheck::Find(const ObjectRef& ref) const {
  const auto& map = known_[KindIndex(ref.kind)];
  auto it = map.find(ref.id);
  return it == map.end() ? nullptr : &it->second;
}

std::optional<bool> ClosureCheck::WasIntact(ObjectKind kind, const ObjectId& id) const {
  const Known* k = Find({kind, id});
  if (!k || !k->done) return std::nullopt;
  return k->intact;
}

const Snap* ClosureCheck::SnapOf(const ObjectId& id) const {
  auto it = snaps_.find(id);
  return it == snaps_.end() ? nullptr : &it->second;
}

std::string ClosureCheck::Where(const Visit& v) const {
  return v.path.empty() ? label_ : Quote(v.path) + " in " + root_name_;
}

void ClosureCheck::CheckSize(const Visit& v, const Known& k) {
  if (!k.size || KeepsSize(v.size, *k.size)) return;
  report_.Error(Describe(v.ref.kind, v.ref.id), "holds " + std::to_string(*k.size) +
                                                    " bytes, but " + Where(v) + " is " +
                                                    std::to_string(*v.size) + " bytes long");
}

Status ClosureCheck::Decode(const Visit& v, const std::string& bytes, Known& k,
                            std::vector<Visit>& kids) {
  if (v.ref.kind == ObjectKind::kBlob) return Internal("decode of a blob");
  ASSIGN_OR_RETURN(ObjectFacts f, RefsAndSizes(v.ref.kind, bytes));
  if (v.ref.kind == ObjectKind::kSnap) {
    ASSIGN_OR_RETURN(Snap s, DecodeSnap(bytes));
    snaps_[v.ref.id] = std::move(s);
  }
  if (v.ref.kind == ObjectKind::kChunkList) k.size = f.content_size;
  bool manifest = v.ref.kind == ObjectKind::kManifest;
  for (NamedRef& n : f.refs) {
    std::string path = n.name.empty() ? v.path : JoinFsckPath(v.path, n.name);
    uint64_t level = 0;  // a manifest's depth below its snap's root
    if (manifest && n.dir()) {
      if (v.level >= kMaxTreeDepth) {
        k.cut = true;  // the depth check of the root reports it
        continue;
      }
      level = v.level + 1;
    }
    k.refs.push_back(n.ref);
    kids.push_back({n.ref, std::move(path), n.size, false, level});
  }
  return Status::Ok();
}

ClosureCheck::Known ClosureCheck::Examine(const Visit& v, std::vector<Visit>& stack) {
  Known k;
  std::string subject = Describe(v.ref.kind, v.ref.id);
  if (v.ref.kind == ObjectKind::kBlob) {
    k.done = true;
    k.size = census_.SizeOf(store_, v.ref.id);
    k.intact = k.size.has_value();
    if (!k.intact && !census_.damaged.count(v.ref.id))
      report_.Error(subject, "missing; needed by " + Where(v));
    return k;
  }
  k.done = true;                                  // until its references are pushed
  if (census_.damaged.count(v.ref.id)) return k;  // the census reported it
  Result<std::string> bytes = store_.Read(v.ref.id, kMaxMetadataBytes);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound)
      report_.Error(subject, "missing; needed by " + Where(v));
    else
      report_.Error(subject, bytes.status().message() + " (needed by " + Where(v) + ")");
    return k;
  }
  std::vector<Visit> kids;
  Status st = Decode(v, *bytes, k, kids);
  if (!st.ok()) {
    report_.Error(subject, "is not a valid " + std::string(KindName(v.ref.kind)) + " (" +
                               st.message() + "); needed by " + Where(v));
    k.refs.clear();
    k.size.reset();
    return k;
  }
  k.done = false;
  k.intact = true;
  stack.push_back({v.ref, v.path, v.size, true, v.level});
  stack.insert(stack.end(), std::make_move_iterator(kids.begin()),
               std::make_move_iterator(kids.end()));
  return k;
}

bool ClosureCheck::Check(ObjectKind kind, const ObjectId& id, const std::string& label) {
  label_ = label;
  root_name_ = std::string(KindName(kind)) + " " + Short(id);
  std::vector<Visit> stack;
  stack.push_back({{kind, id}, "", std::nullopt, false, 0});
  while (!stack.empty()) {
    Visit v = std::move(stack.back());
    stack.pop_back();
    if (v.finish) {
      // Everything under it is done: it is intact when they all are.
      Known* k = Find(v.ref);
      for (const ObjectRef& r : k->refs) {
        const Known* child = Find(r);
        if (child && child->done && !child->intact) k->intact = false;
      }
      k->refs.clear();
      k->done = true;
      // Known only for this place in the tree: met again higher up, it is
      // walked again, below the limit.
      if (k->cut) known_[KindIndex(v.ref.kind)].erase(v.ref.id);
      continue;
    }
    if (const Known* k = Find(v.ref)) {
      CheckSize(v, *k);
      continue;
    }
    Known k = Examine(v, stack);
    CheckSize(v, k);
    known_[KindIndex(v.ref.kind)][v.ref.id] = std::move(k);
  }
  const Known* root = Find({kind, id});
  if (!root || !root->intact) return false;
  const Snap* snap = kind == ObjectKind::kSnap ? SnapOf(id) : nullptr;
  if (kind != ObjectKind::kManifest && !snap) return true;
  Status deep = depth_.Check(snap ? snap->root : id, "its tree");
  if (deep.ok()) return true;
  report_.Error(root_name_, deep.message() + "; it cannot be restored (needed by " + label + ")");
  return false;
}

}  // namespace converge
