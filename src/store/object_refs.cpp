#include "store/object_refs.h"

#include <algorithm>

namespace converge {

Result<ObjectFacts> RefsAndSizes(ObjectKind kind, std::string_view bytes) {
  ObjectFacts f;
  switch (kind) {
    case ObjectKind::kBlob:
      f.content_size = bytes.size();
      break;
    case ObjectKind::kManifest: {
      ASSIGN_OR_RETURN(Manifest m, DecodeManifest(bytes));
      f.refs.reserve(m.entries.size());
      for (Entry& e : m.entries) {
        std::optional<ObjectRef> r = EntryRef(e);
        if (!r) continue;  // a symlink names nothing
        std::optional<uint64_t> size;
        if (e.type == EntryType::kFile) size = e.size;
        f.refs.push_back({*r, std::move(e.name), size});
      }
      break;
    }
    case ObjectKind::kSnap: {
      ASSIGN_OR_RETURN(Snap s, DecodeSnap(bytes));
      f.refs.push_back({{ObjectKind::kManifest, s.root}, "", std::nullopt});
      break;
    }
    case ObjectKind::kChunkList: {
      ASSIGN_OR_RETURN(ChunkList c, DecodeChunkList(bytes));
      f.content_size = c.size;
      f.refs.reserve(c.chunks.size());
      for (const ChunkList::Chunk& ch : c.chunks)
        f.refs.push_back({{ObjectKind::kBlob, ch.blob}, "", ch.size});
      break;
    }
  }
  return f;
}

Result<std::vector<ObjectRef>> ReferencesOf(ObjectKind kind, std::string_view bytes) {
  ASSIGN_OR_RETURN(ObjectFacts f, RefsAndSizes(kind, bytes));
  std::vector<ObjectRef> refs;
  refs.reserve(f.refs.size());
  for (const NamedRef& n : f.refs) refs.push_back(n.ref);
  return refs;
}

bool KeepsSize(const std::optional<uint64_t>& promised, uint64_t content_size) {
  return !promised || *promised == content_size;
}

Result<RefReport> CheckRefs(ObjectKind kind, const ObjectFacts& facts, const HeldLookup& held) {
  RefReport r;
  for (const NamedRef& n : facts.refs) {
    ASSIGN_OR_RETURN(std::optional<HeldObject> h, held(n.ref.kind, n.ref.id));
    if (!h) {
      if (r.missing.size() < RefReport::kMaxNamed) r.missing.push_back(n.ref);
      r.missing_total++;
      continue;
    }
    if (!KeepsSize(n.size, h->content_size) && !r.mismatch) {
      r.mismatch = n;
      r.mismatch_holds = h->content_size;
    }
    if (!n.dir()) continue;
    if (!h->depth) {
      if (!r.unmeasured) r.unmeasured = n.ref.id;
      continue;
    }
    // A snap is as deep as its root; a manifest one deeper than its subdirectories.
    r.depth = std::max(r.depth, *h->depth + (kind == ObjectKind::kSnap ? 0 : 1));
  }
  return r;
}

}  // namespace converge
