#include "store/tree.h"

#include <algorithm>

#include "store/tree_depth.h"

namespace converge {

namespace {

std::string JoinTreePath(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

bool SameLeaf(const Entry& a, const Entry& b) {
  if (a.type != b.type) return false;
  if (a.type == EntryType::kSymlink) return a.target == b.target;
  return a.id == b.id && a.chunked == b.chunked && a.executable == b.executable;
}

// One step of a diff: compare two directories, or list what an added or
// deleted entry stands for. `level`: how deep the directory (or entry) is.
struct DiffTask {
  bool list = false;
  std::string path;
  uint64_t level = 0;
  ObjectId from, to;  // compare
  Entry entry;        // list
  char change = 'A';  // list
};

class TreeDiff {
 public:
  TreeDiff(const TreeReader& r, std::vector<Change>& out) : r_(r), out_(out) {}

  Status Run(const ObjectId& from, const ObjectId& to) {
    DiffTask root;
    root.from = from;
    root.to = to;
    todo_.push_back(std::move(root));
    while (!todo_.empty()) {
      DiffTask t = std::move(todo_.back());
      todo_.pop_back();
      RETURN_IF_ERROR(t.list ? List(t) : Compare(t));
    }
    return Status::Ok();
  }

 private:
  Status PushList(const std::string& path, const Entry& e, char change, uint64_t level) {
    if (e.type != EntryType::kDir) {
      out_.push_back({path, change});
      return Status::Ok();
    }
    RETURN_IF_ERROR(CheckLevel(level, path));
    DiffTask t;
    t.list = true;
    t.path = path;
    t.level = level;
    t.entry = e;
    t.change = change;
    todo_.push_back(std::move(t));
    return Status::Ok();
  }

  Status List(const DiffTask& t) {
    ASSIGN_OR_RETURN(Manifest m, r_.ReadManifest(t.entry.id));
    if (m.entries.empty()) out_.push_back({t.path + "/", t.change});
    for (const Entry& child : m.entries)
      RETURN_IF_ERROR(PushList(JoinTreePath(t.path, child.name), child, t.change, t.level + 1));
    return Status::Ok();
  }

  Status Compare(const DiffTask& t) {
    if (t.from == t.to) return Status::Ok();
    ASSIGN_OR_RETURN(Manifest a, r_.ReadManifest(t.from));
    ASSIGN_OR_RETURN(Manifest b, r_.ReadManifest(t.to));
    uint64_t below = t.level + 1;
    size_t i = 0, j = 0;
    while (i < a.entries.size() || j < b.entries.size()) {
      const Entry* ea = i < a.entries.size() ? &a.entries[i] : nullptr;
      const Entry* eb = j < b.entries.size() ? &b.entries[j] : nullptr;
      if (ea && (!eb || ea->name < eb->name)) {
        RETURN_IF_ERROR(PushList(JoinTreePath(t.path, ea->name), *ea, 'D', below));
        i++;
      } else if (eb && (!ea || eb->name < ea->name)) {
        RETURN_IF_ERROR(PushList(JoinTreePath(t.path, eb->name), *eb, 'A', below));
        j++;
      } else {
        std::string path = JoinTreePath(t.path, ea->name);
        bool dir_a = ea->type == EntryType::kDir, dir_b = eb->type == EntryType::kDir;
        if (dir_a && dir_b) {
          RETURN_IF_ERROR(CheckLevel(below, path));
          DiffTask sub;
          sub.path = path;
          sub.level = below;
          sub.from = ea->id;
          sub.to = eb->id;
          todo_.push_back(std::move(sub));
        } else if (dir_a || dir_b) {
          RETURN_IF_ERROR(PushList(path, *ea, 'D', below));
          RETURN_IF_ERROR(PushList(path, *eb, 'A', below));
        } else if (!SameLeaf(*ea, *eb)) {
          out_.push_back({path, 'M'});
        }
        i++, j++;
      }
    }
    // An emptied or newly filled directory: the bare directory entry changes too.
    if (!t.path.empty() && a.entries.empty() != b.entries.empty())
      out_.push_back({t.path + "/", a.entries.empty() ? 'D' : 'A'});
    return Status::Ok();
  }

  const TreeReader& r_;
  std::vector<Change>& out_;
  std::vector<DiffTask> todo_;
};

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
  // The recursion's order, with an explicit stack: a directory's entries
  // are visited right after the directory itself.
  struct Frame {
    Manifest m;
    size_t next = 0;
    std::string dir;
  };
  std::vector<Frame> stack;
  ASSIGN_OR_RETURN(Manifest top, reader.ReadManifest(root));
  stack.push_back({std::move(top), 0, ""});
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.next == f.m.entries.size()) {
      stack.pop_back();
      continue;
    }
    const Entry& e = f.m.entries[f.next++];
    std::string path = JoinTreePath(f.dir, e.name);
    RETURN_IF_ERROR(fn(path, e));
    if (e.type != EntryType::kDir) continue;
    // Every walk stops at the depth limit: its stack stays bounded whatever
    // a manifest names.
    RETURN_IF_ERROR(CheckLevel(stack.size(), path));
    ASSIGN_OR_RETURN(Manifest sub, reader.ReadManifest(e.id));  // `f` is not used after this
    stack.push_back({std::move(sub), 0, std::move(path)});
  }
  return Status::Ok();
}

Result<std::vector<Change>> DiffTrees(const TreeReader& reader, const ObjectId& from,
                                      const ObjectId& to) {
  std::vector<Change> out;
  RETURN_IF_ERROR(TreeDiff(reader, out).Run(from, to));
  std::sort(out.begin(), out.end(), [](const Change& a, const Change& b) {
    return a.path != b.path ? a.path < b.path : a.change < b.change;
  });
  return out;
}

}  // namespace converge
