#include "store/tree.h"

#include <algorithm>

namespace converge {

namespace {

std::string JoinTreePath(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

// Lists what an added or deleted entry stands for.
Status ListAll(const TreeReader& r, const std::string& path, const Entry& e, char change,
               std::vector<Change>& out) {
  if (e.type != EntryType::kDir) {
    out.push_back({path, change});
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(Manifest m, r.ReadManifest(e.id));
  if (m.entries.empty()) out.push_back({path + "/", change});
  for (const Entry& child : m.entries)
    RETURN_IF_ERROR(ListAll(r, JoinTreePath(path, child.name), child, change, out));
  return Status::Ok();
}

bool SameLeaf(const Entry& a, const Entry& b) {
  if (a.type != b.type) return false;
  if (a.type == EntryType::kSymlink) return a.target == b.target;
  return a.id == b.id && a.chunked == b.chunked && a.executable == b.executable;
}

Status DiffManifests(const TreeReader& r, const std::string& dir, const ObjectId& from,
                     const ObjectId& to, std::vector<Change>& out) {
  if (from == to) return Status::Ok();
  ASSIGN_OR_RETURN(Manifest a, r.ReadManifest(from));
  ASSIGN_OR_RETURN(Manifest b, r.ReadManifest(to));
  size_t i = 0, j = 0;
  while (i < a.entries.size() || j < b.entries.size()) {
    const Entry* ea = i < a.entries.size() ? &a.entries[i] : nullptr;
    const Entry* eb = j < b.entries.size() ? &b.entries[j] : nullptr;
    if (ea && (!eb || ea->name < eb->name)) {
      RETURN_IF_ERROR(ListAll(r, JoinTreePath(dir, ea->name), *ea, 'D', out));
      i++;
    } else if (eb && (!ea || eb->name < ea->name)) {
      RETURN_IF_ERROR(ListAll(r, JoinTreePath(dir, eb->name), *eb, 'A', out));
      j++;
    } else {
      std::string path = JoinTreePath(dir, ea->name);
      bool dir_a = ea->type == EntryType::kDir, dir_b = eb->type == EntryType::kDir;
      if (dir_a && dir_b) {
        RETURN_IF_ERROR(DiffManifests(r, path, ea->id, eb->id, out));
      } else if (dir_a || dir_b) {
        RETURN_IF_ERROR(ListAll(r, path, *ea, 'D', out));
        RETURN_IF_ERROR(ListAll(r, path, *eb, 'A', out));
      } else if (!SameLeaf(*ea, *eb)) {
        out.push_back({path, 'M'});
      }
      i++, j++;
    }
  }
  // An emptied or newly filled directory: the bare directory entry changes too.
  if (!dir.empty() && a.entries.empty() != b.entries.empty())
    out.push_back({dir + "/", a.entries.empty() ? 'D' : 'A'});
  return Status::Ok();
}

Status Walk(const TreeReader& r, const std::string& dir, const ObjectId& id,
            const std::function<Status(const std::string&, const Entry&)>& fn) {
  ASSIGN_OR_RETURN(Manifest m, r.ReadManifest(id));
  for (const Entry& e : m.entries) {
    std::string path = JoinTreePath(dir, e.name);
    RETURN_IF_ERROR(fn(path, e));
    if (e.type == EntryType::kDir) RETURN_IF_ERROR(Walk(r, path, e.id, fn));
  }
  return Status::Ok();
}

}  // namespace

Result<Manifest> TreeReader::ReadManifest(const ObjectId& id) const {
  if (extra_) {
    auto it = extra_->find(id);
    if (it != extra_->end()) return DecodeManifest(it->second);
  }
  ASSIGN_OR_RETURN(std::string bytes, store_.Read(id));
  Result<Manifest> m = DecodeManifest(bytes);
  if (!m.ok()) return m.status().With("manifest " + id.hex());
  return m;
}

Result<Snap> TreeReader::ReadSnap(const ObjectId& id) const {
  ASSIGN_OR_RETURN(std::string bytes, store_.Read(id));
  Result<Snap> s = DecodeSnap(bytes);
  if (!s.ok()) return s.status().With("snap " + id.hex());
  return s;
}

Result<ChunkList> TreeReader::ReadChunkList(const ObjectId& id) const {
  ASSIGN_OR_RETURN(std::string bytes, store_.Read(id));
  Result<ChunkList> c = DecodeChunkList(bytes);
  if (!c.ok()) return c.status().With("chunk list " + id.hex());
  return c;
}

Status WalkTree(const TreeReader& reader, const ObjectId& root,
                const std::function<Status(const std::string& path, const Entry& e)>& fn) {
  return Walk(reader, "", root, fn);
}

Result<std::vector<Change>> DiffTrees(const TreeReader& reader, const ObjectId& from,
                                      const ObjectId& to) {
  std::vector<Change> out;
  RETURN_IF_ERROR(DiffManifests(reader, "", from, to, out));
  std::sort(out.begin(), out.end(), [](const Change& a, const Change& b) {
    return a.path != b.path ? a.path < b.path : a.change < b.change;
  });
  return out;
}

}  // namespace converge
