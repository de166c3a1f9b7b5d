#include "store/tree_depth.h"

#include <algorithm>
#include <unordered_set>

#include "base/text.h"

namespace converge {

namespace {

constexpr size_t kPathShown = 120;  // characters kept at each end of a long path

}  // namespace

std::string QuoteLongPath(std::string_view path) {
  if (path.size() <= 2 * kPathShown + 5) return Quote(path);
  // Cut at '/' where there is one near the cut, so names stay whole.
  size_t head = path.rfind('/', kPathShown);
  if (head == std::string_view::npos || head < kPathShown / 2) head = kPathShown;
  size_t tail = path.find('/', path.size() - kPathShown);
  if (tail == std::string_view::npos || tail > path.size() - kPathShown / 2)
    tail = path.size() - kPathShown;
  return Quote(std::string(path.substr(0, head)) + "/.../" +
               std::string(path.substr(tail + (path[tail] == '/' ? 1 : 0))));
}

Status CheckLevel(uint64_t level, std::string_view path) {
  if (level <= kMaxTreeDepth) return Status::Ok();
  return Corrupt("the tree nests directories past converge's limit of " +
                 std::to_string(kMaxTreeDepth) + " levels (directory " + QuoteLongPath(path) +
                 " is level " + std::to_string(level) + "): converge refuses such a tree");
}

TreeDepth::TreeDepth(const TreeReader& reader)
    : subdirs_([&reader](const ObjectId& id)
                   -> Result<std::vector<std::pair<std::string, ObjectId>>> {
        ASSIGN_OR_RETURN(Manifest m, reader.ReadManifest(id));
        std::vector<std::pair<std::string, ObjectId>> out;
        for (const Entry& e : m.entries)
          if (e.type == EntryType::kDir) out.emplace_back(e.name, e.id);
        return out;
      }) {}

Result<uint64_t> TreeDepth::Of(const ObjectId& root) {
  if (auto it = known_.find(root); it != known_.end()) return it->second;
  struct Frame {
    ObjectId id;
    std::vector<ObjectId> kids;
    size_t next = 0;
    uint64_t depth = 0;
  };
  auto frame = [&](const ObjectId& id) -> Result<Frame> {
    ASSIGN_OR_RETURN(auto subdirs, subdirs_(id));
    Frame f{id, {}, 0, 0};
    f.kids.reserve(subdirs.size());
    for (auto& [name, kid] : subdirs) f.kids.push_back(kid);
    return f;
  };
  std::vector<Frame> stack;
  std::unordered_set<ObjectId> open;  // on the stack: a manifest naming one is a cycle
  ASSIGN_OR_RETURN(Frame first, frame(root));
  stack.push_back(std::move(first));
  open.insert(root);
  uint64_t done = 0;
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.next < top.kids.size()) {
      ObjectId kid = top.kids[top.next++];
      if (auto it = known_.find(kid); it != known_.end()) {
        top.depth = std::max(top.depth, it->second + 1);
        continue;
      }
      if (!open.insert(kid).second)
        return Corrupt("manifest " + kid.hex() + " contains itself: the tree is damaged");
      ASSIGN_OR_RETURN(Frame f, frame(kid));  // `top` is not used after this
      stack.push_back(std::move(f));
      continue;
    }
    done = top.depth;
    known_[top.id] = done;
    open.erase(top.id);
    stack.pop_back();
    if (!stack.empty()) stack.back().depth = std::max(stack.back().depth, done + 1);
  }
  return done;
}

Result<std::string> TreeDepth::DeepestPath(const ObjectId& root, uint64_t levels) {
  std::string path;
  ObjectId at = root;
  for (uint64_t i = 0; i < levels; i++) {
    ASSIGN_OR_RETURN(auto subdirs, subdirs_(at));
    const std::pair<std::string, ObjectId>* deepest = nullptr;
    uint64_t best = 0;
    for (const auto& sub : subdirs) {
      ASSIGN_OR_RETURN(uint64_t d, Of(sub.second));
      if (!deepest || d > best) deepest = &sub, best = d;
    }
    if (!deepest) break;
    path += (path.empty() ? "" : "/") + (deepest->first.empty() ? "?" : deepest->first);
    at = deepest->second;
  }
  return path;
}

Status TreeDepth::Check(const ObjectId& root, const std::string& what) {
  ASSIGN_OR_RETURN(uint64_t depth, Of(root));
  if (depth <= kMaxTreeDepth) return Status::Ok();
  ASSIGN_OR_RETURN(std::string path, DeepestPath(root, kMaxTreeDepth + 1));
  return Corrupt(what + " nests directories " + std::to_string(depth) +
                 " levels deep, past converge's limit of " + std::to_string(kMaxTreeDepth) +
                 " (directory " + QuoteLongPath(path) + " is level " +
                 std::to_string(kMaxTreeDepth + 1) + "): converge refuses such a tree");
}

}  // namespace converge
